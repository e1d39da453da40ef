"""The master catalog and each product's options per channel."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from connectors.models import Connector

from . import gtin

#: Connector kinds whose products carry a Channel SKU. TikTok Shop has none:
#: its seller SKU must equal the master SKU.
CHANNEL_SKU_KINDS = frozenset({Connector.Kind.THG})


def supports_channel_sku(kind: str) -> bool:
    """Return whether connectors of ``kind`` carry a Channel SKU per product."""
    return kind in CHANNEL_SKU_KINDS


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
    history = HistoricalRecords(excluded_fields=["updated_at"])

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


def is_parent(product_id: int) -> bool:
    """Return whether the product has variants."""
    return Product.objects.filter(parent_id=product_id).exists()


class ChannelListing(models.Model):
    """A product's "Channel Options" on one connector.

    ``channel_sku`` is the identifier the channel uses for the product when
    that differs from the master SKU: for THG under strategy B, the THG UPC,
    stored as a 14-digit GTIN. TikTok Shop has no such identifier, and a
    parent product has none (its variants do).
    """

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="listings"
    )
    connector = models.ForeignKey(
        "connectors.Connector", on_delete=models.CASCADE, related_name="listings"
    )
    channel_sku = models.CharField(
        "Channel SKU",
        max_length=100,
        null=True,
        blank=True,
        help_text="The identifier the channel uses for this product; under "
        "strategy B, the THG UPC. Set it on each child or variant product: a "
        "parent product has none. Unique per connector.",
    )
    channel_product_id = models.CharField(max_length=64, blank=True)
    channel_sku_id = models.CharField("channel SKU id", max_length=64, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    # NOTE: the bulk writes of a mapping import record no history rows; the
    # import job records who imported which file.
    history = HistoricalRecords(excluded_fields=["updated_at"])

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
                violation_error_message="Another product already has this "
                "Channel SKU on this connector; a Channel SKU is unique per "
                "connector. Remove it from the other product first.",
            ),
        ]

    def __str__(self):
        return f"{self.product.sku} on {self.connector}"

    def clean(self):
        if self.channel_sku is not None:
            self.channel_sku = self.channel_sku.strip() or None
        if self.channel_sku is None or not self.connector_id:
            return
        connector = self.connector
        if not supports_channel_sku(connector.kind):
            raise ValidationError(
                {
                    "channel_sku": f"{connector.get_kind_display()} has no "
                    "Channel SKU: its seller SKU must equal the master SKU. "
                    "Leave this empty."
                }
            )
        if self.product_id and is_parent(self.product_id):
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
    """Strategy C: a channel identifier mapped to a hub product.

    For THG the channel identifier is the UPC, stored as a 14-digit GTIN;
    an identifier with letters in it is stored as given, trimmed.
    """

    connector = models.ForeignKey(
        "connectors.Connector", on_delete=models.CASCADE, related_name="mappings"
    )
    channel_identifier = models.CharField(
        max_length=100,
        help_text="The UPC (or other identifier) the channel sends on order "
        "lines. A UPC or EAN is stored as 14 digits.",
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="mappings"
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = "identifier mapping"
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "channel_identifier"], name="unique_mapping"
            )
        ]

    def __str__(self):
        return f"{self.channel_identifier} → {self.product.sku}"

    def clean(self):
        self.channel_identifier = normalize_channel_identifier(self.channel_identifier)
        if self.channel_identifier.isdigit():
            try:
                self.channel_identifier = gtin.normalize(self.channel_identifier)
            except gtin.InvalidGTIN as exc:
                raise ValidationError({"channel_identifier": str(exc)}) from exc
        if self.connector_id and not self.connector.is_thg:
            raise ValidationError(
                {
                    "connector": f"{self.connector} is a "
                    f"{self.connector.get_kind_display()} connector, which "
                    "matches seller SKUs against master SKUs and uses no "
                    "mapping table."
                }
            )
        if self.product_id and is_parent(self.product_id):
            raise ValidationError(
                {
                    "product": "A parent product is not sold itself; map the "
                    "identifier to one of its variants."
                }
            )


def normalize_channel_identifier(value) -> str:
    """Return a channel identifier in the form the mapping table stores.

    A value of digits is a GTIN and comes back as 14 digits when it is valid;
    anything else comes back trimmed, and compares case-sensitively.
    """
    text = str(value).strip()
    if text.isdigit() and gtin.is_valid(text):
        return gtin.normalize(text)
    return text


class ImportJob(models.Model):
    """One import of a UPC-to-SKU mapping file into one connector.

    A large file is checked and written by a django-q2 task. The job keeps
    the file until it is written, and it records the progress, the counts
    and the rejected rows, so the admin can show the outcome.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be checked"
        CHECKING = "checking", "Checking"
        CHECKED = "checked", "Checked: ready to import"
        INVALID = "invalid", "Rejected: nothing written"
        QUEUED = "queued", "Waiting to be imported"
        RUNNING = "running", "Importing"
        SUCCEEDED = "succeeded", "Imported"
        FAILED = "failed", "Failed"

    #: Statuses in which a task is about to work on the job, or is working.
    ACTIVE_STATUSES = (Status.PENDING, Status.CHECKING, Status.QUEUED, Status.RUNNING)

    connector = models.ForeignKey(
        "connectors.Connector", on_delete=models.CASCADE, related_name="import_jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    file_name = models.CharField(max_length=255)
    content = models.BinaryField(
        editable=False, help_text="The uploaded file, kept until it is written."
    )
    skip_bad_rows = models.BooleanField(
        default=False,
        help_text="Write the good rows even when some rows are rejected.",
    )
    dry_run = models.BooleanField(
        default=False, help_text="Check the file only; write nothing."
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(
        default=0, help_text="Rows checked or written so far in the current step."
    )
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(
        default=0, help_text="Rows that repeated an earlier row and were merged."
    )
    rejected = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    row_errors = models.JSONField(
        default=list,
        blank=True,
        help_text="The first rejected rows: line, column, value and message.",
    )
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(
        blank=True, help_text="Why the whole file was rejected or the job failed."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "mapping import"

    def __str__(self):
        return f"{self.file_name} into {self.connector}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def written(self) -> int:
        return self.created + self.updated

    @property
    def percent_done(self) -> int:
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)
