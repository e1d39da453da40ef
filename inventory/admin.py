"""Admin for locations, stock, its ledger, push snapshots and integrations.

Stock counters are read-only here: they change through the "Adjust stock"
action (with a reason), the stock import page, or the services behind them.
"""

import logging

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from config.admin import HistoryAdmin, RelatedHistoryMixin

from . import availability, stock
from .importing import ImportRejected, import_stock
from .models import (
    ExternalLocation,
    InventorySnapshot,
    Location,
    StockLevel,
    StockMovement,
    WarehouseIntegration,
)
from .tabular import TableError

logger = logging.getLogger(__name__)

#: Stock levels listed on the "Adjust stock" page; the rest are counted.
ADJUST_PAGE_ROWS = 50


class ExternalLocationInline(admin.TabularInline):
    model = ExternalLocation
    extra = 0
    fields = [
        "connector",
        "external_id",
        "external_name",
        "counts_in_totals",
        "listed_by_channel",
    ]
    readonly_fields = ["listed_by_channel"]
    autocomplete_fields = ["connector"]
    verbose_name = "connector link"
    verbose_name_plural = "connector links (and whether each counts in totals)"


@admin.register(Location)
class LocationAdmin(RelatedHistoryMixin, HistoryAdmin):
    list_display = [
        "name",
        "code",
        "priority",
        "city",
        "postal_code",
        "country_code",
        "coordinates_source",
        "fulfillment_integration",
        "active",
        "paused",
    ]
    list_filter = ["active", "paused", "country_code", "coordinates_source"]
    search_fields = ["name", "code", "city", "postal_code"]
    prepopulated_fields = {"code": ["name"]}
    readonly_fields = ["latitude", "longitude", "coordinates_source"]
    inlines = [ExternalLocationInline]
    related_history = [(ExternalLocation, "location", "Connector links")]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "code",
                    "priority",
                    "active",
                    "paused",
                    "safety_stock",
                    "fulfillment_integration",
                ]
            },
        ),
        (
            "Address",
            {
                "fields": [
                    "address_line1",
                    "address_line2",
                    "city",
                    "region",
                    "postal_code",
                    "country_code",
                ]
            },
        ),
        (
            "Coordinates",
            {
                "description": "Found offline from the postal code (or the "
                "postal district, or the city). The typed coordinates are used "
                "only when the address cannot be found.",
                "fields": [
                    "latitude",
                    "longitude",
                    "coordinates_source",
                    "manual_latitude",
                    "manual_longitude",
                ],
            },
        ),
    ]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Flags, safety stock and connector links change every total here.
        availability.mark_location_changed(form.instance)


class AdjustForm(forms.Form):
    on_hand_change = forms.IntegerField(
        label="Change in on hand",
        help_text="Units to add; negative to remove (for example -3).",
    )
    note = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the stock changes: recorded in the stock ledger.",
    )

    def clean_on_hand_change(self):
        value = self.cleaned_data["on_hand_change"]
        if value == 0:
            raise forms.ValidationError("Enter a change other than 0.")
        return value


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV (UTF-8) or XLSX with the columns SKU, Location code, On hand."
    )
    skip_bad_rows = forms.BooleanField(
        required=False,
        help_text="Import the good rows and list the bad ones. Off: one bad "
        "row rejects the whole file.",
    )


class StockLevelAddForm(forms.ModelForm):
    on_hand = forms.IntegerField(min_value=0, initial=0, label="On hand")
    note = forms.CharField(label="Reason", max_length=500)

    class Meta:
        model = StockLevel
        fields = ["product", "location"]

    def clean(self):
        cleaned = super().clean()
        product, location = cleaned.get("product"), cleaned.get("location")
        if (
            product
            and location
            and StockLevel.objects.filter(product=product, location=location).exists()
        ):
            raise forms.ValidationError(
                "This product already has stock at this location; use the "
                "Adjust stock action on it."
            )
        return cleaned


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    list_display = [
        "product",
        "location",
        "on_hand",
        "committed",
        "available_units",
        "ledger_link",
    ]
    list_filter = ["location"]
    search_fields = ["product__sku", "product__name"]
    autocomplete_fields = ["product", "location"]
    list_select_related = ["product", "location"]
    readonly_fields = [
        "on_hand",
        "committed",
        "available_units",
        "updated_at",
        "ledger_link",
    ]
    actions = ["adjust_stock"]
    change_list_template = "admin/inventory/stocklevel/change_list.html"

    @admin.display(description="available")
    def available_units(self, level):
        return availability.available(level)

    @admin.display(description="stock ledger")
    def ledger_link(self, level):
        """Link to the stock movements of this product at this location:
        the history of every adjustment, import, sale and shipment."""
        if level.pk is None:
            return "–"
        url = reverse("admin:inventory_stockmovement_changelist")
        return format_html(
            '<a class="ledger-link" href="{}?product__id__exact={}&amp;'
            'location__id__exact={}">movements</a>',
            url,
            level.product_id,
            level.location_id,
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = StockLevelAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["product", "location", "on_hand", "note"]
        return ["product", "location", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["product", "location", *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        if change:
            return
        saved = stock.adjust(
            form.cleaned_data["product"],
            form.cleaned_data["location"],
            on_hand_change=form.cleaned_data["on_hand"],
            reason=StockMovement.Reason.ADJUSTMENT,
            note=form.cleaned_data["note"],
            user=request.user,
        )
        obj.pk = saved.pk

    @admin.action(
        description="Adjust stock of the selected levels", permissions=["change"]
    )
    def adjust_stock(self, request, queryset):
        form = AdjustForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._apply_adjustment(request, queryset, form.cleaned_data)
            return None
        return TemplateResponse(
            request,
            "admin/inventory/stocklevel/adjust.html",
            {
                **self.admin_site.each_context(request),
                "title": "Adjust stock",
                "form": form,
                "count": queryset.count(),
                "levels": queryset.select_related("product", "location")[
                    :ADJUST_PAGE_ROWS
                ],
                # Without "select all", each selected id goes back in the form.
                "select_across": request.POST.get("select_across") == "1",
                "selected_ids": request.POST.getlist(
                    admin.helpers.ACTION_CHECKBOX_NAME
                ),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )

    def _apply_adjustment(self, request, queryset, data):
        done = 0
        failures = []
        for level in queryset.select_related("product", "location"):
            try:
                stock.adjust(
                    level.product,
                    level.location,
                    on_hand_change=data["on_hand_change"],
                    reason=StockMovement.Reason.ADJUSTMENT,
                    note=data["note"],
                    user=request.user,
                )
                done += 1
            except stock.InvalidStockChange as exc:
                failures.append(str(exc))
        if done:
            self.message_user(
                request, f"Adjusted {done} stock levels.", messages.SUCCESS
            )
        if failures:
            self.message_user(
                request,
                f"{len(failures)} stock levels were not adjusted: "
                + " ".join(failures),
                messages.WARNING,
            )

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="inventory_stocklevel_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        result = None
        errors = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = import_stock(
                    upload.read(),
                    skip_bad_rows=form.cleaned_data["skip_bad_rows"],
                    reference=upload.name,
                    user=request.user,
                )
            except TableError as exc:
                form.add_error("file", str(exc))
            except ImportRejected as exc:
                errors = exc.errors
                self.message_user(
                    request,
                    f"Nothing was imported: {len(errors)} rows need fixing.",
                    messages.ERROR,
                )
            else:
                errors = result.errors
                self._report_import(request, result)
        return TemplateResponse(
            request,
            "admin/inventory/stocklevel/import.html",
            {
                **self.admin_site.each_context(request),
                "title": "Import stock",
                "form": form,
                "result": result,
                "errors": errors,
                "opts": self.model._meta,
            },
        )

    def _report_import(self, request, result):
        self.message_user(
            request,
            f"Imported {result.rows - result.skipped} rows: {result.changed} changed, "
            f"{result.unchanged} unchanged.",
            messages.SUCCESS,
        )
        if result.skipped:
            self.message_user(
                request,
                f"{result.skipped} bad rows were skipped; they are listed below.",
                messages.WARNING,
            )


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "product",
        "location",
        "reason",
        "on_hand_change",
        "committed_change",
        "reference",
        "user",
    ]
    list_filter = ["reason", "location"]
    search_fields = ["product__sku", "reference", "note"]
    list_select_related = ["product", "location", "user"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InventorySnapshot)
class InventorySnapshotAdmin(admin.ModelAdmin):
    list_display = [
        "identifier",
        "product",
        "connector",
        "accepted_quantity",
        "last_sent_quantity",
        "last_status",
        "accepted_at",
    ]
    list_filter = ["connector", "last_status"]
    search_fields = ["identifier", "product__sku"]
    list_select_related = ["product", "connector"]
    change_list_template = "admin/inventory/inventorysnapshot/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        from connectors.models import Connector

        extra_context = {**(extra_context or {}), "connectors": Connector.objects.all()}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "preview/<int:connector_id>/",
                self.admin_site.admin_view(self.preview_view),
                name="inventory_inventorysnapshot_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, connector_id):
        """Show what a push would send now, per SKU, with its locations."""
        from catalog.models import Product
        from connectors.models import Connector

        if not self.has_view_permission(request):
            raise PermissionDenied
        connector = get_object_or_404(Connector, pk=connector_id)
        products = Product.objects.order_by("sku")
        allowlist = connector.sku_allowlist()
        if allowlist:
            products = products.filter(sku__in=allowlist)
        query = request.GET.get("q", "").strip()
        if query:
            products = products.filter(sku__icontains=query)
        page = Paginator(products.only("pk", "sku", "name"), 100).get_page(
            request.GET.get("page")
        )
        ids = [product.pk for product in page]
        totals = availability.totals_for(connector, ids)
        parts = availability.breakdown_for(connector, ids)
        accepted = dict(
            InventorySnapshot.objects.filter(
                connector=connector, product_id__in=ids
            ).values_list("product_id", "accepted_quantity")
        )
        rows = [
            {
                "product": product,
                "total": totals.get(product.pk, 0),
                "accepted": accepted.get(product.pk),
                "changed": accepted.get(product.pk) != totals.get(product.pk, 0),
                "parts": parts.get(product.pk, []),
            }
            for product in page
        ]
        return TemplateResponse(
            request,
            "admin/inventory/inventorysnapshot/preview.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Inventory preview: {connector}",
                "connector": connector,
                "rows": rows,
                "page": page,
                "query": query,
                "allowlist": allowlist,
                "counting": Location.objects.filter(
                    pk__in=availability.counting_location_ids(connector)
                ),
                "opts": self.model._meta,
            },
        )


@admin.register(WarehouseIntegration)
class WarehouseIntegrationAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "token_prefix", "token_issued_at", "last_used_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    filter_horizontal = ["locations"]
    readonly_fields = ["token_prefix", "token_issued_at", "last_used_at", "created_at"]
    actions = ["issue_new_token"]

    def save_model(self, request, obj, form, change):
        token = obj.issue_token() if not obj.token_hash else None
        super().save_model(request, obj, form, change)
        if token:
            self._show_token(request, obj, token)

    @admin.action(
        description="Issue a new token (the old one stops working)",
        permissions=["change"],
    )
    def issue_new_token(self, request, queryset):
        for integration in queryset:
            with transaction.atomic():
                token = integration.issue_token()
                integration.save(
                    update_fields=["token_hash", "token_prefix", "token_issued_at"]
                )
            self._show_token(request, integration, token)
            logger.info("Warehouse integration %s: new token issued", integration.pk)

    def _show_token(self, request, integration, token):
        self.message_user(
            request,
            f"Token for {integration}: {token}. Copy it now: it is not shown again.",
            messages.WARNING,
        )
