"""Admin pages for the THG sandbox: mostly read-only views of what it holds."""

from django import forms
from django.contrib import admin

from connectors.crypto import mask

from . import models
from .faults import fault_counts


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lets staff see and delete rows, but never add or change them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SandboxAccountForm(forms.ModelForm):
    """The account's settings; the client secret can be replaced, never read."""

    new_client_secret = forms.CharField(
        label="new client secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the current secret.",
    )

    class Meta:
        model = models.SandboxAccount
        fields = [
            "realm",
            "client_id",
            "active",
            "hub_events_url",
            "hub_username",
            "fault_rate",
            "fault_seed",
            "fault_kinds",
            "fault_slow_seconds",
            "fault_token_endpoint",
            "token_lifetime_calls",
            "rate_limit_per_second",
        ]

    def save(self, commit=True):
        account = super().save(commit=False)
        if self.cleaned_data.get("new_client_secret"):
            account.client_secret = self.cleaned_data["new_client_secret"]
        if commit:
            account.save()
        return account


@admin.register(models.SandboxAccount)
class SandboxAccountAdmin(admin.ModelAdmin):
    form = SandboxAccountForm
    list_display = ["realm", "client_id", "active", "hub_username", "fault_rate"]
    list_filter = ["active"]
    search_fields = ["realm", "client_id"]
    readonly_fields = [
        "client_secret_masked",
        "hub_password_masked",
        "request_count",
        "faults_injected",
        "created_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "realm",
                    "client_id",
                    "client_secret_masked",
                    "new_client_secret",
                    "active",
                ]
            },
        ),
        (
            "Hub credentials received by THG support",
            {"fields": ["hub_events_url", "hub_username", "hub_password_masked"]},
        ),
        (
            "Fault mode",
            {
                "fields": [
                    "fault_rate",
                    "fault_seed",
                    "fault_kinds",
                    "fault_slow_seconds",
                    "fault_token_endpoint",
                    "token_lifetime_calls",
                    "rate_limit_per_second",
                    "request_count",
                    "faults_injected",
                ]
            },
        ),
        (None, {"fields": ["created_at"]}),
    ]

    def has_add_permission(self, request):
        return False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "hub_events_url":
            # The hub listens on plain HTTP in the demo and in tests.
            kwargs["assume_scheme"] = "http"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="client secret")
    def client_secret_masked(self, obj):
        return mask(obj.client_secret)

    @admin.display(description="hub password")
    def hub_password_masked(self, obj):
        return mask(obj.hub_password)

    @admin.display(description="faults injected")
    def faults_injected(self, obj):
        counts = fault_counts(obj)
        return ", ".join(f"{kind} {count}" for kind, count in counts.items() if count)


@admin.register(models.SandboxWarehouse)
class SandboxWarehouseAdmin(ReadOnlyAdmin):
    list_display = ["warehouse_id", "name", "account"]
    list_filter = ["account"]


@admin.register(models.SandboxListing)
class SandboxListingAdmin(ReadOnlyAdmin):
    list_display = ["upc", "title", "sku", "unit_price", "last_quantity", "pushed_at"]
    list_filter = ["account"]
    search_fields = ["upc", "gtin14", "title", "sku"]


@admin.register(models.SandboxOrder)
class SandboxOrderAdmin(ReadOnlyAdmin):
    list_display = ["order_id", "status", "created_at", "updated_at", "account"]
    list_filter = ["status", "account"]
    search_fields = ["order_id"]


@admin.register(models.SandboxDispatch)
class SandboxDispatchAdmin(ReadOnlyAdmin):
    list_display = ["dispatch_reference", "dispatch_id", "order", "created_at"]
    list_filter = ["account"]
    search_fields = ["dispatch_reference", "order__order_id"]


@admin.register(models.SandboxReturn)
class SandboxReturnAdmin(ReadOnlyAdmin):
    list_display = [
        "return_id",
        "status",
        "order",
        "return_reference",
        "receipt_reference",
        "updated_at",
    ]
    list_filter = ["status", "account"]
    search_fields = ["return_id", "return_reference", "order__order_id"]


@admin.register(models.SandboxStockUpdate)
class SandboxStockUpdateAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at",
        "status_code",
        "accepted_count",
        "rejected_count",
        "account",
    ]
    list_filter = ["status_code", "account"]


class SandboxEventDeliveryInline(admin.TabularInline):
    model = models.SandboxEventDelivery
    extra = 0
    can_delete = False
    readonly_fields = ["sent_at", "status_code", "error", "response_body"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.SandboxEvent)
class SandboxEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "event_type", "created_at", "delivered_at", "account"]
    list_filter = ["event_type", "account"]
    search_fields = ["event_id"]
    inlines = [SandboxEventDeliveryInline]


@admin.register(models.SandboxFaultCount)
class SandboxFaultCountAdmin(ReadOnlyAdmin):
    list_display = ["kind", "count", "account"]
    list_filter = ["account"]
