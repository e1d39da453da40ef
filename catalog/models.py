"""The master catalog and each product's options per channel."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from . import gtin


class Product(models.Model):
    """A product of the master catalog, keyed by its SKU."""

    sku = models.CharField(
        "SKU",
        max_length=100,
        unique=True,
        help_text="The master SKU. Compared case-sensitively after trimming.",
    )
    name = models.CharField(max_length=255)
    upc = models.CharField(
        "UPC",
        max_length=14,
        blank=True,
        db_index=True,
        help_text="A GTIN (UPC or EAN), stored as 14 digits.",
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="variants",
        help_text="The parent product, for a variant.",
    )
    safety_stock = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Units held back from every channel. Empty: the location's.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self):
        return f"{self.sku} ({self.name})"

    def clean(self):
        self.sku = self.sku.strip()
        if self.upc:
            try:
                self.upc = gtin.normalize(self.upc)
            except gtin.InvalidGTIN as exc:
                raise ValidationError({"upc": str(exc)}) from exc
        if self.parent_id and self.parent_id == self.pk:
            raise ValidationError({"parent": "A product cannot be its own parent."})


class ChannelListing(models.Model):
    """A product's "Channel Options" on one connector.

    ``channel_sku`` holds the identifier the channel uses for the product,
    when that differs from the master SKU: for THG under strategy B, the UPC.
    TikTok Shop has no such identifier, and a parent product holds none
    (its variants do).
    """

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="listings"
    )
    connector = models.ForeignKey(
        "connectors.Connector", on_delete=models.CASCADE, related_name="listings"
    )
    channel_sku = models.CharField("Channel SKU", max_length=100, null=True, blank=True)
    channel_product_id = models.CharField(max_length=64, blank=True)
    channel_sku_id = models.CharField("channel SKU id", max_length=64, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "channel option"
        verbose_name_plural = "channel options"
        constraints = [
            models.UniqueConstraint(
                fields=["product", "connector"], name="unique_listing_per_connector"
            ),
            models.UniqueConstraint(
                fields=["connector", "channel_sku"],
                condition=Q(channel_sku__isnull=False),
                name="unique_channel_sku_per_connector",
            ),
        ]

    def __str__(self):
        return f"{self.product.sku} on {self.connector}"

    def clean(self):
        if self.channel_sku is not None:
            self.channel_sku = self.channel_sku.strip() or None
        if self.channel_sku is None:
            return
        connector = self.connector
        if connector.kind == connector.Kind.TIKTOK_SHOP:
            raise ValidationError(
                {
                    "channel_sku": "TikTok Shop has no Channel SKU: its seller SKU "
                    "must equal the master SKU. Leave this empty."
                }
            )
        if self.product.variants.exists():
            raise ValidationError(
                {
                    "channel_sku": "A parent product holds no Channel SKU; set it "
                    "on each of its variants."
                }
            )
        if connector.identifier_strategy == connector.IdentifierStrategy.CHANNEL_SKU:
            try:
                self.channel_sku = gtin.normalize(self.channel_sku)
            except gtin.InvalidGTIN as exc:
                raise ValidationError({"channel_sku": str(exc)}) from exc


class IdentifierMapping(models.Model):
    """Strategy C: a channel identifier mapped to a hub product."""

    connector = models.ForeignKey(
        "connectors.Connector", on_delete=models.CASCADE, related_name="mappings"
    )
    channel_identifier = models.CharField(max_length=100)
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="mappings"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "channel_identifier"], name="unique_mapping"
            )
        ]

    def __str__(self):
        return f"{self.channel_identifier} → {self.product.sku}"
