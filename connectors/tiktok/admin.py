from django.contrib import admin

from .models import CarrierMapping, ShippedPackage


@admin.register(CarrierMapping)
class CarrierMappingAdmin(admin.ModelAdmin):
    list_display = [
        "carrier",
        "shipping_provider_id",
        "shipping_provider_name",
        "connector",
    ]
    list_filter = ["connector"]


@admin.register(ShippedPackage)
class ShippedPackageAdmin(admin.ModelAdmin):
    list_display = ["package_id", "order_id", "fulfillment", "created_at"]
    readonly_fields = [
        "fulfillment",
        "order_id",
        "package_id",
        "shipping_provider_id",
        "order_line_item_ids",
        "warning",
        "created_at",
    ]
