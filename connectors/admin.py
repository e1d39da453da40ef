from datetime import UTC, datetime, time, timedelta

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_post_parameters

from config.admin import HistoryAdmin

from .forms import BackfillForm, ConnectorConnectionForm, ConnectorSettingsForm
from .models import (
    Connector,
    InboundEvent,
    OutboxMessage,
    Stream,
    SyncRun,
    SyncState,
)
from .onboarding import next_steps, switched_off
from .schedules import sync_schedules
from .sync import enabled_streams


class RecentSyncRunInline(admin.TabularInline):
    model = SyncRun
    verbose_name_plural = "recent sync runs"
    fields = [
        "started_at",
        "stream",
        "trigger",
        "status",
        "fetched",
        "created",
        "updated",
        "failed",
        "error",
    ]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ["-started_at"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # The inline shows the 20 newest runs; the full list is one link away.
        newest = list(
            queryset.order_by("-started_at").values_list("pk", flat=True)[:20]
        )
        return queryset.filter(pk__in=newest)


@admin.register(Connector)
class ConnectorAdmin(HistoryAdmin):
    """Connectors are set up in two screens: settings here, then Connection."""

    form = ConnectorSettingsForm
    change_form_template = "admin/connectors/connector/change_form.html"
    list_display = ["name", "kind", "status", "status_changed_at", "runs_link"]
    list_filter = ["kind", "status"]
    search_fields = ["name"]
    readonly_fields = ["status", "status_detail", "status_changed_at", "events_url"]
    inlines = [RecentSyncRunInline]
    actions = [
        "test_connection",
        "run_sync_now",
        "pull_locations",
        "backfill_orders",
        "force_inventory_resync",
    ]
    add_fieldsets = [
        (None, {"fields": ["name", "kind", "identifier_strategy"]}),
        (
            "Streams and directions",
            {
                "fields": [
                    "orders_enabled",
                    "returns_direction",
                    "inventory_enabled",
                    "fulfillments_enabled",
                    "locations_enabled",
                ]
            },
        ),
        ("Orders", {"fields": ["orders_start_date"]}),
        ("Inventory", {"fields": ["inventory_sku_allowlist"]}),
    ]
    fieldsets = [
        (None, {"fields": ["name", "kind", "status", "status_detail", "events_url"]}),
        (
            "Streams, directions and intervals (minutes)",
            {
                "fields": [
                    ("orders_enabled", "orders_interval_minutes"),
                    ("returns_direction", "returns_interval_minutes"),
                    ("inventory_enabled", "inventory_interval_minutes"),
                    ("fulfillments_enabled", "fulfillments_interval_minutes"),
                    ("locations_enabled", "locations_interval_minutes"),
                ]
            },
        ),
        (
            "Orders",
            {
                "fields": [
                    "orders_start_date",
                    "identifier_strategy",
                    "tiktok_hold_minutes",
                ]
            },
        ),
        ("Catalog", {"fields": ["tiktok_catalog_mode"]}),
        ("Inventory", {"fields": ["inventory_sku_allowlist"]}),
        ("THG locations", {"fields": ["thg_locations"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = list(self.readonly_fields)
        if obj is not None:
            readonly.append("kind")
        return readonly

    @admin.display(description="events URL for THG")
    def events_url(self, connector):
        if connector.kind != Connector.Kind.THG or not connector.pk:
            return "–"
        return reverse("thg:events", args=[connector.key])

    @admin.display(description="sync runs")
    def runs_link(self, connector):
        url = reverse("admin:connectors_syncrun_changelist")
        return format_html(
            '<a href="{}?connector__id__exact={}">runs</a>', url, connector.pk
        )

    def get_urls(self):
        from .doctor.admin import doctor_urls

        return [
            path(
                "<int:connector_id>/connection/",
                self.admin_site.admin_view(
                    sensitive_post_parameters()(self.connection_view)
                ),
                name="connectors_connector_connection",
            ),
            *doctor_urls(self),
            *super().get_urls(),
        ]

    def has_credentials_permission(self, request) -> bool:
        return request.user.has_perm("connectors.view_credentials")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        connector = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if connector is not None:
            extra_context.update(
                next_steps=next_steps(connector),
                switched_off=switched_off(connector),
                can_see_credentials=self.has_credentials_permission(request),
                events_absolute_url=request.build_absolute_uri(
                    reverse("thg:events", args=[connector.key])
                )
                if connector.kind == Connector.Kind.THG
                else "",
                tiktok_urls={
                    "callback": request.build_absolute_uri(reverse("tiktok:callback")),
                    "webhooks": request.build_absolute_uri(
                        reverse("tiktok:webhooks", args=[connector.key])
                    ),
                }
                if connector.kind == Connector.Kind.TIKTOK_SHOP
                else None,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        from inventory.availability import mark_all_changed

        super().save_model(request, obj, form, change)
        if change and "inventory_sku_allowlist" in form.changed_data:
            # Products leaving or joining the allowlist change what is sent.
            mark_all_changed(obj)
        if obj.kind == Connector.Kind.THG and "thg_locations" in form.changed_data:
            self._apply_location_pairs(request, obj)
        transaction.on_commit(lambda: sync_schedules(obj))

    def _apply_location_pairs(self, request, connector):
        """Create or update the pairs' locations now; check the ids with THG in
        the background (the locations run reports ids THG does not list)."""
        from .thg.locations import apply_pairs
        from .thg.mapping import parse_location_pairs

        outcome = apply_pairs(
            connector, parse_location_pairs(connector.thg_locations), None
        )
        self.message_user(
            request,
            f"THG locations: {outcome.created} created, {outcome.updated} updated. "
            "Their ids are checked against THG's warehouse list in the background; "
            "the locations run lists any id THG does not have.",
        )
        if connector.status != Connector.Status.DRAFT:
            from django_q.tasks import async_task

            transaction.on_commit(
                lambda: async_task(
                    "connectors.tasks.run_stream_task",
                    connector.pk,
                    Stream.LOCATIONS,
                    SyncRun.Trigger.ADMIN,
                )
            )

    def response_add(self, request, obj, post_url_continue=None):
        if self.has_credentials_permission(request):
            self.message_user(
                request,
                f"{obj} saved. Now enter its connection details.",
                messages.SUCCESS,
            )
            return redirect(
                reverse("admin:connectors_connector_connection", args=[obj.pk])
            )
        return super().response_add(request, obj, post_url_continue)

    def connection_view(self, request, connector_id):
        if not (
            self.has_credentials_permission(request)
            and self.has_change_permission(request)
        ):
            raise PermissionDenied
        connector = get_object_or_404(Connector, pk=connector_id)
        form = ConnectorConnectionForm(request.POST or None, instance=connector)
        if request.method == "POST" and form.is_valid():
            connector = form.save()
            transaction.on_commit(lambda: sync_schedules(connector))
            if form.generated_password:
                self.message_user(
                    request,
                    f"The hub password for THG is {form.generated_password} . It is "
                    "shown only this once: send it with the username "
                    f"{connector.inbound_username!r} to THG support now.",
                    messages.WARNING,
                )
            else:
                self.message_user(request, f"{connector}: connection saved.")
            return redirect(
                reverse("admin:connectors_connector_change", args=[connector.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": connector,
            "form": form,
            "title": f"Connection of {connector}",
            "next_steps": next_steps(connector),
        }
        return TemplateResponse(
            request, "admin/connectors/connector/connection.html", context
        )

    @admin.action(description="Test connection", permissions=["run_sync"])
    def test_connection(self, request, queryset):
        from .thg.connection import check_connection

        for connector in queryset:
            if connector.kind != Connector.Kind.THG:
                self.message_user(
                    request,
                    f"{connector}: the connection test is for THG connectors.",
                    messages.WARNING,
                )
                continue
            result = check_connection(connector)
            self.message_user(
                request,
                f"{connector}: {result.message}",
                messages.SUCCESS if result.ok else messages.ERROR,
            )

    def has_run_sync_permission(self, request):
        return request.user.has_perm("connectors.run_sync")

    def _queue_streams(self, request, queryset, streams_of, description, **options):
        from django_q.tasks import async_task

        count = 0
        for connector in queryset:
            for stream in streams_of(connector):
                async_task(
                    "connectors.tasks.run_stream_task",
                    connector.pk,
                    stream,
                    SyncRun.Trigger.ADMIN,
                    task_name=f"{stream}-{connector.pk}",
                    **options,
                )
                count += 1
        url = reverse("admin:connectors_syncrun_changelist")
        self.message_user(
            request,
            format_html(
                "Queued {} {} on {} connectors. <a href='{}'>Follow the runs</a>.",
                count,
                description,
                len(queryset),
                url,
            ),
            messages.SUCCESS,
        )

    @admin.action(
        description="Run sync now (every enabled stream)", permissions=["run_sync"]
    )
    def run_sync_now(self, request, queryset):
        self._queue_streams(request, queryset, enabled_streams, "stream runs")

    @admin.action(description="Pull locations from THG", permissions=["run_sync"])
    def pull_locations(self, request, queryset):
        thg = [c for c in queryset if c.kind == Connector.Kind.THG]
        self._queue_streams(
            request, thg, lambda c: [Stream.LOCATIONS], "location pulls"
        )

    @admin.action(description="Force inventory resync", permissions=["run_sync"])
    def force_inventory_resync(self, request, queryset):
        self._queue_streams(
            request,
            list(queryset),
            lambda c: [Stream.INVENTORY],
            "forced inventory resyncs",
            force=True,
        )

    @admin.action(description="Backfill orders…", permissions=["run_sync"])
    def backfill_orders(self, request, queryset):
        connectors = [c for c in queryset if c.kind == Connector.Kind.THG]
        form = BackfillForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            since = _start_of(form.cleaned_data["since"])
            until = form.cleaned_data["until"]
            options = {"since": since}
            if until:
                options["until"] = _start_of(until) + timedelta(days=1)
            self._queue_streams(
                request, connectors, lambda c: [Stream.BACKFILL], "backfills", **options
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "connectors": connectors,
            "title": "Backfill orders",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across") == "1",
        }
        return TemplateResponse(
            request, "admin/connectors/connector/backfill.html", context
        )


def _start_of(day):
    return datetime.combine(day, time.min, tzinfo=UTC)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "connector",
        "stream",
        "trigger",
        "status",
        "fetched",
        "created",
        "updated",
        "unchanged",
        "failed",
        "seconds",
        "short_error",
    ]
    list_filter = ["connector", "stream", "status", "trigger"]
    list_select_related = ["connector"]
    date_hierarchy = "started_at"
    search_fields = ["error"]
    readonly_fields = [field.name for field in SyncRun._meta.fields]
    actions = ["run_again"]

    def has_add_permission(self, request):
        return False

    def has_run_sync_permission(self, request):
        return request.user.has_perm("connectors.run_sync")

    @admin.action(description="Run again", permissions=["run_sync"])
    def run_again(self, request, queryset):
        from django_q.tasks import async_task

        failed = queryset.filter(status=SyncRun.Status.FAILED)
        pairs = sorted(set(failed.values_list("connector_id", "stream")))
        for connector_id, stream in pairs:
            async_task(
                "connectors.tasks.run_stream_task",
                connector_id,
                stream,
                SyncRun.Trigger.ADMIN,
            )
        skipped = queryset.count() - failed.count()
        note = (
            f" {skipped} selected runs had not failed and were left alone."
            if skipped
            else ""
        )
        message = format_html(
            "Queued {} stream runs again.{} <a href='{}'>Follow the runs</a>.",
            len(pairs),
            note,
            reverse("admin:connectors_syncrun_changelist"),
        )
        self.message_user(
            request, message, messages.WARNING if skipped else messages.SUCCESS
        )

    @admin.display(description="seconds")
    def seconds(self, run):
        if run.duration is None:
            return "–"
        return f"{run.duration.total_seconds():.1f}"

    @admin.display(description="error")
    def short_error(self, run):
        return (run.error[:100] + "…") if len(run.error) > 100 else run.error


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    list_display = [
        "connector",
        "stream",
        "cursor_time",
        "lease_owner",
        "lease_expires_at",
        "last_success_at",
        "last_failure_at",
        "consecutive_failures",
    ]
    list_filter = ["connector", "stream"]
    list_select_related = ["connector"]
    readonly_fields = ["connector", "stream", "lease_owner", "lease_expires_at"]


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "connector",
        "event_type",
        "external_id",
        "status",
        "attempts",
    ]
    list_filter = ["connector", "status", "event_type"]
    list_select_related = ["connector"]
    search_fields = ["external_id"]
    date_hierarchy = "received_at"
    readonly_fields = [field.name for field in InboundEvent._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay failed events", permissions=["change"])
    def replay(self, request, queryset):
        from .events import replay

        count = replay(queryset)
        self.message_user(request, f"{count} failed events queued for processing.")


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "connector",
        "kind",
        "reference",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["connector", "kind", "status"]
    list_select_related = ["connector"]
    search_fields = ["reference"]
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]
    actions = ["retry_now"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry now", permissions=["change"])
    def retry_now(self, request, queryset):
        count = queryset.exclude(status=OutboxMessage.Status.DELIVERED).update(
            status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now()
        )
        self.message_user(request, f"{count} messages will be sent on the next run.")
