"""Junction's admin site, with a dashboard as its index, and the history
admin the apps share."""

from django.contrib import admin
from django.http import HttpResponseNotAllowed
from simple_history.admin import SimpleHistoryAdmin

from .dashboard import build_dashboard


class JunctionAdminSite(admin.AdminSite):
    site_header = "Junction"
    site_title = "Junction admin"
    index_title = "Dashboard"
    index_template = "admin/junction_index.html"

    def index(self, request, extra_context=None):
        """Show the dashboard above the list of apps."""
        extra_context = dict(extra_context or {})
        if request.user.has_perm("connectors.view_connector"):
            extra_context["dashboard"] = build_dashboard()
        return super().index(request, extra_context)


class HistoryAdmin(SimpleHistoryAdmin):
    """django-simple-history's admin with its history pages read-only.

    SimpleHistoryAdmin saves a POST to a historical version's page after
    checking only the view permission (django-simple-history 3.13), and the
    versions of a connector hold no secrets, so saving one would change
    settings without the change permission. Only GET is allowed there.
    """

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return super().history_form_view(request, object_id, version_id, extra_context)


class RelatedHistoryMixin:
    """Add the history of an object's inline rows to its History page.

    ``related_history`` lists (model, foreign key name, title), for example
    ``(ExternalLocation, "location", "Connector links")``: the historical rows
    of that model whose foreign key points to the object, newest first, up to
    ``related_history_limit``.
    """

    object_history_template = "admin/object_history_with_related.html"
    related_history: list[tuple[type, str, str]] = []
    related_history_limit = 200

    def history_view(self, request, object_id, extra_context=None):
        sections = []
        for model, foreign_key, title in self.related_history:
            recorded = {field.name for field in model.history.model._meta.fields}
            fields = [
                field
                for field in model._meta.concrete_fields
                if field.name in recorded and field.name not in ("id", foreign_key)
            ]
            related = [field.name for field in fields if field.is_relation]
            records = (
                model.history.filter(**{f"{foreign_key}_id": object_id})
                .select_related("history_user", *related)
                .order_by("-history_date")[: self.related_history_limit]
            )
            sections.append(
                {
                    "title": title,
                    "fields": [field.verbose_name for field in fields],
                    "rows": [
                        {
                            "record": record,
                            "values": [getattr(record, field.name) for field in fields],
                        }
                        for record in records
                    ],
                }
            )
        extra_context = {**(extra_context or {}), "related_history": sections}
        return super().history_view(request, object_id, extra_context)
