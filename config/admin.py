"""The admin site of Junction: Django's admin with a dashboard as its index."""

from django.contrib import admin

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
