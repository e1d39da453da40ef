from uuid import uuid4

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .forms import FulfilForm
from .fulfillment import FulfillmentError, ShipmentDetails, create_fulfillment
from .models import (
    Fulfillment,
    FulfillmentLine,
    Order,
    OrderException,
    OrderLine,
    Return,
    ReturnLine,
)


def queue_task(func: str, *args, prefix: str) -> str:
    """Queue a django-q2 task under a unique name; return the name."""
    from django_q.tasks import async_task

    name = f"{prefix}-{uuid4().hex[:12]}"
    async_task(func, *args, task_name=name)
    return name


def task_link(name: str) -> str:
    """Return a link to the task list, searched for one task's name.

    A task shows there once a worker has run it; a failed one is under
    "Failed tasks".
    """
    url = reverse("admin:django_q_success_changelist")
    return format_html("<a href='{}?q={}'>task {}</a>", url, name, name)


@admin.action(description="Check exceptions again", permissions=["change"])
def check_again_queued(modeladmin, request, queryset):
    """Queue a check of the selected orders (or exceptions' orders) again.

    Works on the queryset, so "select all" over thousands of rows sends no
    list of ids through the form.
    """
    if queryset.model is OrderException:
        order_ids = sorted(set(queryset.values_list("order_id", flat=True)))
    else:
        order_ids = sorted(queryset.values_list("pk", flat=True))
    name = queue_task("orders.recheck.check_again", order_ids, prefix="check-again")
    modeladmin.message_user(
        request,
        format_html(
            "Queued a check of {} orders again ({}). Lines that now match are "
            "matched and their exceptions resolved.",
            len(order_ids),
            task_link(name),
        ),
        messages.SUCCESS,
    )


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = [
        "external_id",
        "title",
        "upc",
        "channel_sku",
        "seller_sku",
        "match_state",
        "product",
        "quantity",
        "quantity_fulfilled",
        "unit_price",
        "status",
    ]
    readonly_fields = [f for f in fields if f != "product"]
    autocomplete_fields = ["product"]
    extra = 0
    can_delete = False
    max_num = 0

    @admin.display(description="match")
    def match_state(self, line):
        if line.product_id:
            return "matched"
        return format_html('<strong style="color:#ba2121">{}</strong>', "unmatched")


class FulfillmentInline(admin.TabularInline):
    model = Fulfillment
    fields = [
        "shipped_at",
        "location",
        "carrier",
        "tracking_number",
        "delivery",
        "external_id",
        "channel_error",
    ]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


class OrderExceptionInline(admin.TabularInline):
    model = OrderException
    fields = ["kind", "identifier", "message", "created_at", "resolved_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


class OpenExceptionFilter(admin.SimpleListFilter):
    title = "open exception"
    parameter_name = "exception"

    def lookups(self, request, model_admin):
        return [("any", "Any"), *OrderException.Kind.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        open_exceptions = OrderException.objects.filter(resolved_at__isnull=True)
        if value != "any":
            open_exceptions = open_exceptions.filter(kind=value)
        return queryset.filter(pk__in=open_exceptions.values("order_id"))


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "connector",
        "status",
        "channel_status",
        "placed_at",
        "ship_city",
        "location",
        "total",
        "open_exceptions",
    ]
    list_filter = ["connector", "status", OpenExceptionFilter, "location"]
    list_select_related = ["connector", "location"]
    search_fields = [
        "reference",
        "external_id",
        "customer_name",
        "customer_email",
        "ship_postal_code",
    ]
    date_hierarchy = "placed_at"
    autocomplete_fields = ["location"]
    inlines = [OrderLineInline, FulfillmentInline, OrderExceptionInline]
    actions = ["route_again", check_again_queued]
    readonly_fields = [
        "connector",
        "external_id",
        "reference",
        "channel_status",
        "status",
        "placed_at",
        "channel_updated_at",
        "currency",
        "subtotal",
        "shipping_total",
        "total",
        "fulfilled_by_channel",
        "hold_until",
        "location",
        "routing_explained",
        "routed_at",
        "acknowledged_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("connector", "external_id", "reference"),
                    ("status", "channel_status"),
                    ("placed_at", "channel_updated_at", "acknowledged_at"),
                    ("currency", "subtotal", "shipping_total", "total"),
                    ("fulfilled_by_channel", "hold_until"),
                    "tags",
                ]
            },
        ),
        (
            "Customer and ship-to",
            {
                "fields": [
                    ("customer_name", "customer_email"),
                    "ship_name",
                    "ship_line1",
                    "ship_line2",
                    ("ship_city", "ship_region"),
                    ("ship_postal_code", "ship_country_code"),
                ]
            },
        ),
        ("Routing", {"fields": ["location", "routed_at", "routing_explained"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_exception_count=Count(
                    "exceptions", filter=Q(exceptions__resolved_at__isnull=True)
                )
            )
        )

    @admin.action(description="Route again", permissions=["route"])
    def route_again(self, request, queryset):
        order_ids = sorted(queryset.values_list("pk", flat=True))
        name = queue_task("orders.tasks.route_again", order_ids, prefix="route-again")
        self.message_user(
            request,
            format_html(
                "Queued routing again for {} orders ({}). Orders on hold wait "
                "for their hold to end; orders fulfilled by the channel are "
                "skipped.",
                len(order_ids),
                task_link(name),
            ),
            messages.SUCCESS,
        )

    def has_route_permission(self, request):
        return request.user.has_perm("orders.route_order")

    @admin.display(description="exceptions", ordering="open_exception_count")
    def open_exceptions(self, order):
        return order.open_exception_count or ""

    @admin.display(description="routing decision")
    def routing_explained(self, order):
        decision = order.routing_decision or {}
        if not decision:
            return "–"
        rule = decision.get("rule") or {}
        name = rule.get("name") if isinstance(rule, dict) else rule
        reason = decision.get("reason") or decision.get("explanation") or ""
        return f"Rule: {name or 'default'}. {reason}"

    def get_urls(self):
        return [
            path(
                "<int:order_id>/fulfil/",
                self.admin_site.admin_view(self.fulfil_view),
                name="orders_order_fulfil",
            ),
            *super().get_urls(),
        ]

    def has_fulfil_permission(self, request):
        return request.user.has_perm("orders.add_fulfillment")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_fulfil": self.has_fulfil_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def fulfil_view(self, request, order_id):
        if not self.has_fulfil_permission(request):
            raise PermissionDenied
        order = get_object_or_404(
            Order.objects.select_related("connector"), pk=order_id
        )
        form = FulfilForm(request.POST or None, order=order)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            details = ShipmentDetails(
                carrier=data["carrier"],
                tracking_number=data["tracking_number"],
                service=data["service"],
                tracking_url=data["tracking_url"],
                shipped_at=data["shipped_at"],
            )
            try:
                fulfillment = create_fulfillment(
                    order,
                    data["location"],
                    details,
                    form.quantities(),
                    user=request.user,
                )
            except FulfillmentError as exc:
                form.add_error(None, str(exc))
            else:
                units = sum(form.quantities().values())
                self.message_user(
                    request,
                    f"Fulfillment {fulfillment.reference} recorded: {units} units "
                    f"from {fulfillment.location}. It is sent to "
                    f"{order.connector} in the background.",
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "order": order,
            "form": form,
            "title": f"Fulfil order {order}",
        }
        return TemplateResponse(request, "admin/orders/order/fulfil.html", context)


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = [
        "order",
        "external_id",
        "title",
        "upc",
        "channel_sku",
        "seller_sku",
        "product",
        "quantity",
        "quantity_fulfilled",
        "status",
    ]
    list_filter = [
        "status",
        "order__connector",
        ("product", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["order", "product"]
    search_fields = ["upc", "channel_sku", "seller_sku", "order__reference", "title"]
    autocomplete_fields = ["order", "product"]
    readonly_fields = ["order", "external_id", "quantity", "quantity_fulfilled"]


class FulfillmentLineInline(admin.TabularInline):
    model = FulfillmentLine
    fields = ["line", "quantity"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Fulfillment)
class FulfillmentAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "order",
        "location",
        "carrier",
        "tracking_number",
        "shipped_at",
        "delivery",
    ]
    list_filter = ["delivery", "location", "order__connector", "carrier"]
    list_select_related = ["order", "location"]
    search_fields = ["tracking_number", "order__reference", "order__external_id"]
    date_hierarchy = "shipped_at"
    inlines = [FulfillmentLineInline]
    readonly_fields = [field.name for field in Fulfillment._meta.fields]

    def has_add_permission(self, request):
        # Fulfillments are recorded from the order's "Fulfil" page, which
        # checks quantities and takes the units out of stock.
        return False


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    fields = ["line", "quantity", "reason", "condition", "quantity_received"]
    extra = 0


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "order",
        "direction",
        "channel_status",
        "delivery",
        "received_at",
    ]
    list_filter = ["direction", "channel_status", "order__connector"]
    list_select_related = ["order"]
    search_fields = ["external_id", "order__reference"]
    autocomplete_fields = ["order", "location"]
    inlines = [ReturnLineInline]


@admin.register(OrderException)
class OrderExceptionAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "order",
        "kind",
        "identifier",
        "message",
        "resolved_at",
    ]
    list_filter = [
        ("resolved_at", admin.EmptyFieldListFilter),
        "kind",
        "order__connector",
    ]
    list_select_related = ["order"]
    search_fields = ["identifier", "order__reference", "message"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in OrderException._meta.fields]
    actions = [check_again_queued]

    def has_add_permission(self, request):
        return False


# The routing rules have their own admin module; importing it registers them.
from . import admin_routing  # noqa: E402, F401
