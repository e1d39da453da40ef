"""TikTok Shop settings and bookkeeping that belong to this connector kind only.

TikTok warehouses map to hub locations through
:class:`inventory.models.ExternalLocation`, like every channel's locations.
"""

from django.db import models


class CarrierMapping(models.Model):
    """The TikTok shipping provider a hub carrier name stands for.

    Fulfillments carry a free-text carrier; without a mapping the hub looks
    for a provider of the order's delivery option with the same name.
    """

    connector = models.ForeignKey(
        "connectors.Connector",
        on_delete=models.CASCADE,
        related_name="tiktok_carriers",
        limit_choices_to={"kind": "tiktok_shop"},
    )
    carrier = models.CharField(
        max_length=100, help_text="The carrier as typed on fulfillments (any case)."
    )
    shipping_provider_id = models.CharField("shipping provider id", max_length=40)
    shipping_provider_name = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = "TikTok carrier mapping"
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "carrier"], name="unique_tiktok_carrier"
            )
        ]

    def __str__(self):
        return f"{self.carrier} → {self.shipping_provider_id}"

    def save(self, *args, **kwargs):
        self.carrier = self.carrier.strip()
        super().save(*args, **kwargs)


class ShippedPackage(models.Model):
    """The TikTok package that one hub fulfillment became."""

    fulfillment = models.OneToOneField(
        "orders.Fulfillment", on_delete=models.CASCADE, related_name="tiktok_package"
    )
    order_id = models.CharField(max_length=40)
    package_id = models.CharField(max_length=40)
    shipping_provider_id = models.CharField(max_length=40)
    order_line_item_ids = models.JSONField(default=list)
    warning = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "TikTok shipped package"

    def __str__(self):
        return f"package {self.package_id} of order {self.order_id}"
