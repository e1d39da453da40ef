from django.contrib import admin

from connectors.crypto import mask

from . import models


@admin.register(models.SandboxApp)
class SandboxAppAdmin(admin.ModelAdmin):
    list_display = [
        "app_key",
        "name",
        "service_id",
        "redirect_url",
        "throttle_remaining",
    ]
    # The app secret is the merchant's secret too: shown masked, never edited
    # here (the demo and the tests set it through the sandbox API).
    exclude = ["app_secret"]
    readonly_fields = ["masked_app_secret"]

    @admin.display(description="app secret")
    def masked_app_secret(self, app):
        return mask(app.app_secret)


@admin.register(models.SandboxShop)
class SandboxShopAdmin(admin.ModelAdmin):
    list_display = ["shop_id", "name", "region", "seller_type"]


@admin.register(models.SandboxWarehouse)
class SandboxWarehouseAdmin(admin.ModelAdmin):
    list_display = ["warehouse_id", "name", "shop", "type", "is_default"]
    list_filter = ["shop"]


@admin.register(models.SandboxDeliveryOption)
class SandboxDeliveryOptionAdmin(admin.ModelAdmin):
    list_display = ["option_id", "name", "shop"]


class SandboxSkuInline(admin.TabularInline):
    model = models.SandboxSku
    extra = 0


@admin.register(models.SandboxProduct)
class SandboxProductAdmin(admin.ModelAdmin):
    list_display = ["product_id", "title", "shop", "status"]
    list_filter = ["shop", "status"]
    inlines = [SandboxSkuInline]


@admin.register(models.SandboxInventory)
class SandboxInventoryAdmin(admin.ModelAdmin):
    list_display = ["sku", "warehouse", "quantity"]


@admin.register(models.SandboxOrder)
class SandboxOrderAdmin(admin.ModelAdmin):
    list_display = ["order_id", "shop", "status", "fulfillment_type", "update_time"]
    list_filter = ["shop", "status", "fulfillment_type"]
    search_fields = ["order_id"]


@admin.register(models.SandboxPackage)
class SandboxPackageAdmin(admin.ModelAdmin):
    list_display = ["package_id", "order", "status", "tracking_number"]


@admin.register(models.SandboxReturn)
class SandboxReturnAdmin(admin.ModelAdmin):
    list_display = ["return_id", "order", "return_status", "update_time"]


@admin.register(models.SandboxAuthCode)
class SandboxAuthCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "app", "expires_at", "used_at"]


@admin.register(models.SandboxToken)
class SandboxTokenAdmin(admin.ModelAdmin):
    list_display = ["pk", "app", "access_expires_at", "refreshed_at", "revoked"]
    exclude = ["access_token", "refresh_token"]
    readonly_fields = ["masked_access_token", "masked_refresh_token"]

    @admin.display(description="access token")
    def masked_access_token(self, token):
        return mask(token.access_token)

    @admin.display(description="refresh token")
    def masked_refresh_token(self, token):
        return mask(token.refresh_token)


@admin.register(models.SandboxWebhookDelivery)
class SandboxWebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["pk", "app", "url", "status_code", "sent_at"]
