"""Locations, stock per location, its ledger, and push snapshots."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Location(models.Model):
    """A place that holds stock and ships orders."""

    class CoordinatesSource(models.TextChoices):
        NONE = "", "None"
        POSTCODE = "postcode", "Postal code"
        CITY = "city", "City"
        MANUAL = "manual", "Typed on the location"

    name = models.CharField(max_length=100, unique=True)
    code = models.SlugField(max_length=50, unique=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("county or state", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country_code = models.CharField(max_length=2, default="GB")
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True
    )
    coordinates_source = models.CharField(
        max_length=10, choices=CoordinatesSource.choices, blank=True
    )
    fulfillment_integration = models.CharField(
        "3PL integration",
        max_length=100,
        blank=True,
        help_text="Leave blank for THG locations: THG is a marketplace, not a 3PL.",
    )
    safety_stock = models.PositiveIntegerField(
        default=0, help_text="Units held back per product at this location."
    )
    active = models.BooleanField(default=True)
    paused = models.BooleanField(
        default=False, help_text="A paused location takes no new orders."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ExternalLocation(models.Model):
    """A location's id in one connector (a THG or TikTok warehouse id)."""

    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="external_ids"
    )
    connector = models.ForeignKey(
        "connectors.Connector",
        on_delete=models.CASCADE,
        related_name="external_locations",
    )
    external_id = models.CharField(max_length=100)
    external_name = models.CharField(max_length=200, blank=True)
    counts_in_totals = models.BooleanField(
        default=True,
        help_text="Whether this location counts in the connector's totals.",
    )
    listed_by_channel = models.BooleanField(
        null=True,
        help_text="Whether the channel's warehouse list had this id at the last check.",
    )

    class Meta:
        verbose_name = "external location"
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "external_id"], name="unique_external_location"
            ),
            models.UniqueConstraint(
                fields=["connector", "location"], name="unique_location_per_connector"
            ),
        ]

    def __str__(self):
        return f"{self.location} = {self.external_id} on {self.connector}"


class StockLevel(models.Model):
    """Units of one product at one location.

    ``committed`` units belong to routed orders not yet shipped. Both counters
    change only through the services in :mod:`inventory.stock`, which use
    locked rows or conditional updates.
    """

    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="stock_levels"
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="stock_levels"
    )
    on_hand = models.IntegerField(default=0)
    committed = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "location"], name="unique_stock_level"
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(committed__gte=0), name="stock_committed_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(committed__lte=F("on_hand")),
                name="stock_committed_within_on_hand",
            ),
        ]

    def __str__(self):
        return f"{self.product.sku} at {self.location}"


class StockMovement(models.Model):
    """One change to a stock level, with its reason and reference."""

    class Reason(models.TextChoices):
        ADJUSTMENT = "adjustment", "Adjustment"
        IMPORT = "import", "Stock import"
        SNAPSHOT = "snapshot", "Warehouse snapshot"
        RETURN_RECEIPT = "return_receipt", "Return receipt"
        FULFILLMENT = "fulfillment", "Fulfillment"
        COMMIT = "commit", "Commit"
        RELEASE = "release", "Release"
        REPAIR = "repair", "Repair"

    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="stock_movements"
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, related_name="stock_movements"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    on_hand_change = models.IntegerField(default=0)
    committed_change = models.IntegerField(default=0)
    reference = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["product", "location", "-created_at"])]

    def __str__(self):
        return f"{self.get_reason_display()} {self.product_id}@{self.location_id}"


class InventorySnapshot(models.Model):
    """The last quantity a connector accepted for one product.

    A normal push sends only the products whose current total differs from
    ``accepted_quantity``; a rejected item keeps its old accepted value, so it
    is sent again on the next push.
    """

    connector = models.ForeignKey(
        "connectors.Connector",
        on_delete=models.CASCADE,
        related_name="inventory_snapshots",
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="+"
    )
    identifier = models.CharField(max_length=100)
    accepted_quantity = models.IntegerField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    last_sent_quantity = models.IntegerField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=20, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "product"], name="unique_inventory_snapshot"
            )
        ]

    def __str__(self):
        return f"{self.identifier} on {self.connector}: {self.accepted_quantity}"
