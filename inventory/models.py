"""Locations, stock per location, its ledger, and push snapshots."""

import contextlib
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords


class Location(models.Model):
    """A place that holds stock and ships orders."""

    class CoordinatesSource(models.TextChoices):
        NONE = "", "None"
        POSTCODE = "postcode", "Postal code"
        DISTRICT = "district", "Postal district (centre)"
        CITY = "city", "City"
        MANUAL = "manual", "Typed on the location"

    name = models.CharField(max_length=100, unique=True)
    code = models.SlugField(max_length=50, unique=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("county or state", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country_code = models.CharField(
        max_length=2, default="GB", help_text="ISO 3166 code: GB, US, DE, ..."
    )
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, editable=False
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, editable=False
    )
    coordinates_source = models.CharField(
        max_length=10, choices=CoordinatesSource.choices, blank=True, editable=False
    )
    manual_latitude = models.DecimalField(
        "typed latitude",
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Used only when the address cannot be geocoded.",
    )
    manual_longitude = models.DecimalField(
        "typed longitude",
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Used only when the address cannot be geocoded.",
    )
    priority = models.PositiveIntegerField(
        default=100,
        help_text="Routing tries locations with a lower number first.",
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
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        from . import geocoding

        self.country_code = geocoding.normalize_country(self.country_code)
        # An invalid code is kept as typed: clean() reports it in forms.
        with contextlib.suppress(geocoding.InvalidPostalCode):
            self.postal_code = geocoding.normalize_postal_code(
                self.country_code, self.postal_code
            )
        update_fields = kwargs.get("update_fields")
        if update_fields is None or set(update_fields) & _ADDRESS_FIELDS:
            self.refresh_coordinates()
            if update_fields is not None:
                kwargs["update_fields"] = set(update_fields) | _COORDINATE_FIELDS
        super().save(*args, **kwargs)

    def clean(self):
        from . import geocoding

        self.country_code = geocoding.normalize_country(self.country_code)
        try:
            self.postal_code = geocoding.normalize_postal_code(
                self.country_code, self.postal_code
            )
        except geocoding.InvalidPostalCode as exc:
            raise ValidationError({"postal_code": str(exc)}) from exc
        if (self.manual_latitude is None) != (self.manual_longitude is None):
            raise ValidationError(
                "Type both a latitude and a longitude, or neither of them."
            )

    def refresh_coordinates(self) -> None:
        """Set the coordinates from the address, else from the typed ones.

        The address is geocoded offline (postal code, then postal district,
        then city); when none of them is known, the typed coordinates are
        used, and with none of those the coordinates are cleared.
        """
        from . import geocoding

        found = geocoding.geocode(self.country_code, self.postal_code, self.city)
        if found is not None:
            self.latitude = found.latitude
            self.longitude = found.longitude
            self.coordinates_source = found.source
        elif self.manual_latitude is not None and self.manual_longitude is not None:
            self.latitude = self.manual_latitude
            self.longitude = self.manual_longitude
            self.coordinates_source = self.CoordinatesSource.MANUAL
        else:
            self.latitude = None
            self.longitude = None
            self.coordinates_source = self.CoordinatesSource.NONE

    @property
    def is_available_for_routing(self) -> bool:
        return self.active and not self.paused


_ADDRESS_FIELDS = {
    "postal_code",
    "city",
    "country_code",
    "manual_latitude",
    "manual_longitude",
}
_COORDINATE_FIELDS = {"latitude", "longitude", "coordinates_source"}


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
    history = HistoricalRecords()

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


class InventoryChange(models.Model):
    """A product whose total for one connector may differ from its snapshot.

    Every stock service marks the products it touches, in the transaction
    that touches them, so finding what to push reads these rows instead of
    the whole catalog. A mark is removed only once the product's total equals
    the quantity the connector accepted, and only if ``token`` is still the
    one read, so a change made meanwhile keeps its mark.
    """

    connector = models.ForeignKey(
        "connectors.Connector", on_delete=models.CASCADE, related_name="+"
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="+"
    )
    token = models.BigIntegerField()
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "product"], name="unique_inventory_change"
            )
        ]

    def __str__(self):
        return f"{self.product_id} on {self.connector_id}"


def hash_token(raw_token: str) -> str:
    """Return the SHA-256 hex digest stored for a warehouse API token.

    The tokens are 256-bit random strings, so a fast hash is enough and lets
    the API find the integration by its hash.
    """
    return hashlib.sha256(raw_token.encode()).hexdigest()


class WarehouseIntegration(models.Model):
    """A warehouse system (3PL or WMS) that calls the warehouse API."""

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    token_prefix = models.CharField(
        max_length=8,
        editable=False,
        help_text="The first characters of the token, to tell tokens apart.",
    )
    locations = models.ManyToManyField(
        Location,
        blank=True,
        related_name="warehouse_integrations",
        help_text="The locations this integration may read and write.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    token_issued_at = models.DateTimeField(null=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def issue_token(self) -> str:
        """Store the hash of a new random token and return the token itself.

        The token is shown once; only its hash and first characters are kept.
        The caller saves the integration.
        """
        from django.utils import timezone

        raw_token = "jwh_" + secrets.token_urlsafe(32)
        self.token_hash = hash_token(raw_token)
        self.token_prefix = raw_token[:8]
        self.token_issued_at = timezone.now()
        return raw_token
