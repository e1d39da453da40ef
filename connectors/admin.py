from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .forms import ConnectorForm
from .models import Connector, InboundEvent, OutboxMessage, SyncRun, SyncState
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
class ConnectorAdmin(admin.ModelAdmin):
    form = ConnectorForm
    list_display = ["name", "kind", "status", "status_changed_at", "runs_link"]
    list_filter = ["kind", "status"]
    search_fields = ["name"]
    readonly_fields = ["key", "status", "status_detail", "status_changed_at"]
    inlines = [RecentSyncRunInline]
    actions = ["test_connection", "run_sync_now"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "status", "status_detail", "key"]}),
        (
            "Streams",
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
        ("Orders", {"fields": ["orders_start_date", "identifier_strategy"]}),
        ("Inventory", {"fields": ["inventory_sku_allowlist"]}),
        (
            "THG connection",
            {
                "fields": [
                    "thg_realm",
                    "thg_client_id",
                    "new_thg_client_secret",
                    "thg_locations",
                    "inbound_username",
                    "new_inbound_password",
                    "generate_inbound_password",
                ]
            },
        ),
        (
            "TikTok Shop connection",
            {
                "classes": ["collapse"],
                "fields": [
                    "tiktok_app_key",
                    "new_tiktok_app_secret",
                    "tiktok_service_id",
                    "tiktok_shop_id",
                    "tiktok_shop_cipher",
                    "tiktok_shop_region",
                    "tiktok_hold_minutes",
                ],
            },
        ),
        ("Endpoints", {"classes": ["collapse"], "fields": ["api_url", "auth_url"]}),
    ]

    @admin.display(description="sync runs")
    def runs_link(self, connector):
        url = reverse("admin:connectors_syncrun_changelist")
        return format_html(
            '<a href="{}?connector__id__exact={}">runs</a>', url, connector.pk
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        transaction.on_commit(lambda: sync_schedules(obj))
        if form.generated_password:
            self.message_user(
                request,
                f"The hub password for THG is {form.generated_password} . It is "
                "shown only this once: send it with the username "
                f"{obj.inbound_username!r} to THG support now.",
                messages.WARNING,
            )

    @admin.action(description="Test connection")
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

    @admin.action(description="Run sync now (every enabled stream)")
    def run_sync_now(self, request, queryset):
        from django_q.tasks import async_task

        count = 0
        for connector in queryset:
            for stream in enabled_streams(connector):
                async_task(
                    "connectors.tasks.run_stream_task",
                    connector.pk,
                    stream,
                    SyncRun.Trigger.ADMIN,
                    task_name=f"sync-{connector.pk}-{stream}",
                )
                count += 1
        url = reverse("admin:connectors_syncrun_changelist")
        self.message_user(
            request,
            format_html(
                "Queued {} stream runs on {} connectors. <a href='{}'>Follow the "
                "runs</a>.",
                count,
                queryset.count(),
                url,
            ),
            messages.SUCCESS,
        )


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

    def has_add_permission(self, request):
        return False

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

    def has_add_permission(self, request):
        return False


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

    @admin.action(description="Retry now")
    def retry_now(self, request, queryset):
        count = queryset.exclude(status=OutboxMessage.Status.DELIVERED).update(
            status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now()
        )
        self.message_user(request, f"{count} messages will be sent on the next run.")
