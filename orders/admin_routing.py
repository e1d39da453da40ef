"""Admin for routing rules, and the "Route again" action for orders.

``orders/admin.py`` imports this module so that the rules are registered;
OrderAdmin lists :func:`route_again` in its actions.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from config.admin import HistoryAdmin, RelatedHistoryMixin

from . import routing
from .models import RoutingRule, RoutingRuleLocation


class RoutingRuleLocationInline(admin.TabularInline):
    model = RoutingRuleLocation
    extra = 0
    autocomplete_fields = ["location"]
    fields = ["location", "priority"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(RelatedHistoryMixin, HistoryAdmin):
    list_display = [
        "position",
        "name",
        "active",
        "connector",
        "countries",
        "tags",
        "check_stock",
        "allow_split",
        "closest_wins",
    ]
    list_display_links = ["name"]
    list_editable = ["position", "active"]
    list_filter = ["active", "connector", "check_stock", "allow_split", "closest_wins"]
    search_fields = ["name", "skus", "tags"]
    ordering = ["position", "pk"]
    autocomplete_fields = ["connector"]
    inlines = [RoutingRuleLocationInline]
    related_history = [(RoutingRuleLocation, "rule", "Candidate locations")]
    fieldsets = [
        (None, {"fields": ["name", "position", "active"]}),
        (
            "Which orders",
            {
                "description": "Every filter set must match; an empty filter "
                "matches every order.",
                "fields": ["connector", "countries", "tags", "skus"],
            },
        ),
        (
            "How to choose",
            {
                "description": "Candidate locations are listed below; with none "
                "listed, every active location (for TikTok Shop, the "
                "connector's locations) is a candidate, by location priority.",
                "fields": ["check_stock", "allow_split", "closest_wins"],
            },
        ),
    ]


@admin.action(description="Route again")
def route_again(modeladmin, request, queryset):
    """Release the selected orders' stock and route them again."""
    if not request.user.has_perm("orders.route_order"):
        raise PermissionDenied
    summary = routing.reroute_orders(queryset)
    modeladmin.message_user(
        request,
        f"Routed {summary.routed} orders; {summary.no_stock} need stock, "
        f"{summary.skipped} skipped.",
        messages.WARNING if summary.no_stock else messages.SUCCESS,
    )
