"""The TikTok Shop sandbox's own state: apps, shops, grants and shop data.

Times are Unix seconds, as TikTok sends them. Orders and returns keep the
full TikTok object in ``payload``; the columns beside it hold what searches
filter on and what the sandbox changes.
"""

from django.db import models


class SandboxApp(models.Model):
    """A TikTok Shop app as registered in Partner Center."""

    name = models.CharField(max_length=100, blank=True)
    app_key = models.CharField(max_length=100, unique=True)
    app_secret = models.CharField(max_length=200)
    service_id = models.CharField(max_length=100, unique=True)
    redirect_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="Where the authorization page sends the seller.",
    )
    webhook_url = models.URLField(
        max_length=500, blank=True, help_text="Where webhooks are posted."
    )
    access_token_lifetime = models.PositiveIntegerField(
        default=604800, help_text="Seconds an access token is valid (TikTok: 7 days)."
    )
    refresh_token_lifetime = models.PositiveIntegerField(
        default=31536000, help_text="Seconds a refresh token is valid."
    )
    send_status_webhooks = models.BooleanField(
        default=False,
        help_text="Post an order status webhook (type 1) whenever the sandbox "
        "moves an order, from a background thread.",
    )
    throttle_remaining = models.IntegerField(
        default=0,
        help_text="Signed calls still to answer with HTTP 429: 0 is off, -1 is "
        "every call.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name or self.app_key


class SandboxShop(models.Model):
    """A seller's shop in one region."""

    shop_id = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=8)
    seller_type = models.CharField(max_length=20, default="LOCAL")
    cipher = models.CharField(max_length=200, unique=True)
    code = models.CharField(max_length=40, blank=True)
    seller_name = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"{self.name} ({self.region})"


class SandboxWarehouse(models.Model):
    shop = models.ForeignKey(
        SandboxShop, on_delete=models.CASCADE, related_name="warehouses"
    )
    warehouse_id = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    effect_status = models.CharField(max_length=20, default="ENABLED")
    type = models.CharField(max_length=30, default="SALES_WAREHOUSE")
    sub_type = models.CharField(max_length=40, default="DOMESTIC_WAREHOUSE")
    is_default = models.BooleanField(default=False)
    address = models.JSONField(default=dict)

    def __str__(self):
        return f"{self.name} ({self.warehouse_id})"


class SandboxDeliveryOption(models.Model):
    shop = models.ForeignKey(
        SandboxShop, on_delete=models.CASCADE, related_name="delivery_options"
    )
    option_id = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=20, default="STANDARD")
    #: ``[{"id": ..., "name": ...}]``, the carriers a seller may ship with.
    shipping_providers = models.JSONField(default=list)

    def __str__(self):
        return f"{self.name} ({self.option_id})"


class SandboxProduct(models.Model):
    shop = models.ForeignKey(
        SandboxShop, on_delete=models.CASCADE, related_name="products"
    )
    product_id = models.CharField(max_length=40, unique=True)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=30, default="ACTIVATE")
    create_time = models.BigIntegerField()
    update_time = models.BigIntegerField()

    def __str__(self):
        return self.title


class SandboxSku(models.Model):
    product = models.ForeignKey(
        SandboxProduct, on_delete=models.CASCADE, related_name="skus"
    )
    sku_id = models.CharField(max_length=40, unique=True)
    seller_sku = models.CharField(max_length=100)
    sale_price = models.CharField(max_length=20, default="10.00")
    currency = models.CharField(max_length=3, default="GBP")

    def __str__(self):
        return self.seller_sku


class SandboxInventory(models.Model):
    sku = models.ForeignKey(
        SandboxSku, on_delete=models.CASCADE, related_name="inventory"
    )
    warehouse = models.ForeignKey(
        SandboxWarehouse, on_delete=models.CASCADE, related_name="+"
    )
    quantity = models.IntegerField(default=0)

    class Meta:
        verbose_name_plural = "sandbox inventory"
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "warehouse"], name="unique_sandbox_inventory"
            )
        ]

    def __str__(self):
        return f"{self.sku} at {self.warehouse}: {self.quantity}"


class SandboxOrder(models.Model):
    shop = models.ForeignKey(
        SandboxShop, on_delete=models.CASCADE, related_name="orders"
    )
    order_id = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=30)
    fulfillment_type = models.CharField(max_length=30, default="FULFILLMENT_BY_SELLER")
    shipping_type = models.CharField(max_length=10, default="SELLER")
    warehouse_id = models.CharField(max_length=40, blank=True)
    delivery_option_id = models.CharField(max_length=40, blank=True)
    buyer_user_id = models.CharField(max_length=40, blank=True)
    create_time = models.BigIntegerField()
    update_time = models.BigIntegerField()
    #: The TikTok order object, line items and address included.
    payload = models.JSONField(default=dict)

    class Meta:
        indexes = [
            models.Index(fields=["shop", "update_time"]),
            models.Index(fields=["shop", "create_time"]),
        ]

    def __str__(self):
        return f"{self.order_id} ({self.status})"


class SandboxPackage(models.Model):
    order = models.ForeignKey(
        SandboxOrder, on_delete=models.CASCADE, related_name="packages"
    )
    package_id = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=20, default="PROCESSING")
    tracking_number = models.CharField(max_length=100, blank=True)
    shipping_provider_id = models.CharField(max_length=40, blank=True)
    shipping_provider_name = models.CharField(max_length=100, blank=True)
    order_line_item_ids = models.JSONField(default=list)
    create_time = models.BigIntegerField()
    update_time = models.BigIntegerField()

    def __str__(self):
        return self.package_id


class SandboxReturn(models.Model):
    shop = models.ForeignKey(
        SandboxShop, on_delete=models.CASCADE, related_name="returns"
    )
    order = models.ForeignKey(
        SandboxOrder, on_delete=models.CASCADE, related_name="returns"
    )
    return_id = models.CharField(max_length=40, unique=True)
    return_type = models.CharField(max_length=30, default="RETURN_AND_REFUND")
    return_status = models.CharField(max_length=50)
    create_time = models.BigIntegerField()
    update_time = models.BigIntegerField()
    payload = models.JSONField(default=dict)

    def __str__(self):
        return f"{self.return_id} ({self.return_status})"


class SandboxAuthCode(models.Model):
    """A single-use code from the authorization page, valid 30 minutes."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=100, unique=True)
    shops = models.ManyToManyField(SandboxShop, related_name="+")
    expires_at = models.BigIntegerField()
    used_at = models.BigIntegerField(null=True, blank=True)

    def __str__(self):
        return self.code


class SandboxToken(models.Model):
    """One access and refresh token pair; a refresh makes the next pair."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="tokens")
    shops = models.ManyToManyField(SandboxShop, related_name="+")
    open_id = models.CharField(max_length=40)
    access_token = models.CharField(max_length=200, unique=True)
    access_expires_at = models.BigIntegerField()
    refresh_token = models.CharField(max_length=200, unique=True)
    refresh_expires_at = models.BigIntegerField()
    refreshed_at = models.BigIntegerField(
        null=True, blank=True, help_text="When the refresh token was used up."
    )
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.app} token {self.pk}"


class SandboxWebhookDelivery(models.Model):
    """One webhook the sandbox posted, with the hub's response."""

    app = models.ForeignKey(SandboxApp, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    body = models.TextField()
    signature = models.CharField(max_length=64)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "sandbox webhook deliveries"
        ordering = ["-sent_at"]

    def __str__(self):
        return f"webhook {self.pk} → {self.status_code}"
