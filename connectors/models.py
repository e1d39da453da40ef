"""Channel accounts and the bookkeeping of their sync."""

import secrets

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .crypto import EncryptedTextField, mask

#: The fields that contain secrets: encrypted values and the inbound password
#: hash.
SECRET_FIELDS = (
    "thg_client_secret",
    "inbound_password_hash",
    "tiktok_app_secret",
    "tiktok_access_token",
    "tiktok_refresh_token",
)


def _new_connector_key() -> str:
    return secrets.token_urlsafe(16)


class Connector(models.Model):
    """One configured account on one sales channel."""

    class Kind(models.TextChoices):
        THG = "thg", "THG marketplace"
        TIKTOK_SHOP = "tiktok_shop", "TikTok Shop"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        AWAITING_ACTIVATION = "awaiting_activation", "Awaiting activation"
        CONNECTED = "connected", "Connected"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        NEEDS_REAUTHORIZATION = "needs_reauthorization", "Needs re-authorization"
        PAUSED = "paused", "Paused"

    class IdentifierStrategy(models.TextChoices):
        MASTER_SKU = "A", "A: THG's SKU field holds the master SKU"
        CHANNEL_SKU = "B", "B: the THG Channel SKU holds the THG UPC"
        CUSTOM_MAPPING = "C", "C: a custom mapping table"

    class ReturnsDirection(models.TextChoices):
        OFF = "off", "Off"
        INBOUND = "in", "In (channel to hub)"
        OUTBOUND = "out", "Out (hub to channel)"
        BOTH = "both", "Both"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=100, unique=True)
    key = models.CharField(
        max_length=40,
        unique=True,
        default=_new_connector_key,
        editable=False,
        help_text="Identifies the connector in the URLs the channel calls.",
    )
    status = models.CharField(
        max_length=30, choices=Status.choices, default=Status.DRAFT
    )
    status_detail = models.TextField(
        blank=True, help_text="The cause of the current status, when there is one."
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Streams and their directions.
    orders_enabled = models.BooleanField("orders in", default=True)
    returns_direction = models.CharField(
        "returns", max_length=4, choices=ReturnsDirection.choices, default="both"
    )
    inventory_enabled = models.BooleanField("inventory out", default=True)
    fulfillments_enabled = models.BooleanField("fulfillments out", default=True)
    locations_enabled = models.BooleanField("locations", default=True)
    orders_interval_minutes = models.PositiveIntegerField(default=5)
    returns_interval_minutes = models.PositiveIntegerField(default=15)
    inventory_interval_minutes = models.PositiveIntegerField(default=15)
    fulfillments_interval_minutes = models.PositiveIntegerField(default=5)
    locations_interval_minutes = models.PositiveIntegerField(default=1440)

    orders_start_date = models.DateField(
        null=True,
        blank=True,
        help_text="How far back the first pull goes. Empty: the last 7 days.",
    )
    identifier_strategy = models.CharField(
        max_length=1,
        choices=IdentifierStrategy.choices,
        default=IdentifierStrategy.CHANNEL_SKU,
        help_text="How order lines are matched to products (THG only).",
    )
    inventory_sku_allowlist = models.TextField(
        "process inventory only for these SKUs",
        blank=True,
        help_text="One SKU per line or comma-separated. Empty: every product.",
    )

    # Channel endpoints; empty means the channel's production hosts.
    api_url = models.URLField("API base URL", blank=True)
    auth_url = models.URLField("auth base URL", blank=True)

    # THG.
    thg_realm = models.CharField("THG realm", max_length=100, blank=True)
    thg_client_id = models.CharField("THG client ID", max_length=200, blank=True)
    thg_client_secret = EncryptedTextField("THG client secret", blank=True)
    thg_locations = models.TextField(
        "THG locations",
        blank=True,
        help_text="name:id pairs, one per line or comma-separated.",
    )
    inbound_username = models.CharField(
        max_length=150,
        blank=True,
        help_text="The username THG uses to call the hub.",
    )
    inbound_password_hash = models.CharField(max_length=200, blank=True)

    # TikTok Shop.
    tiktok_app_key = models.CharField("app key", max_length=100, blank=True)
    tiktok_app_secret = EncryptedTextField("app secret", blank=True)
    tiktok_service_id = models.CharField("service id", max_length=100, blank=True)
    tiktok_access_token = EncryptedTextField(blank=True)
    tiktok_access_token_expires_at = models.DateTimeField(null=True, blank=True)
    tiktok_refresh_token = EncryptedTextField(blank=True)
    tiktok_refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    tiktok_shop_id = models.CharField("shop id", max_length=40, blank=True)
    tiktok_shop_cipher = models.CharField("shop cipher", max_length=200, blank=True)
    tiktok_shop_region = models.CharField("shop region", max_length=8, blank=True)
    tiktok_hold_minutes = models.PositiveIntegerField(
        "hold window (minutes)",
        default=60,
        help_text="Buyers can edit a new order for about an hour; routing waits.",
    )

    class CatalogMode(models.TextChoices):
        PULL = "pull", "Pull products from TikTok"
        PUSH = "push", "Push products from the hub to TikTok (US and GB shops)"
        DISABLED = "disabled", "Disabled: keep the catalogs apart"

    tiktok_catalog_mode = models.CharField(
        "process product catalog updates",
        max_length=10,
        choices=CatalogMode.choices,
        default=CatalogMode.DISABLED,
        help_text="TikTok Shop only. Pull creates and updates hub products from "
        "TikTok's; push creates hub products that TikTok lacks; disabled makes "
        "no catalog calls.",
    )

    #: Every change of the settings, by whom and when. The secrets and the
    #: password hash are left out, so the history never holds them.
    history = HistoricalRecords(excluded_fields=[*SECRET_FIELDS, "updated_at"])

    class Meta:
        ordering = ["name"]
        permissions = [
            ("view_credentials", "Can view connector credentials"),
            ("run_sync", "Can run sync, backfills and resyncs"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_thg(self) -> bool:
        return self.kind == self.Kind.THG

    @property
    def returns_inbound(self) -> bool:
        return self.returns_direction in ("in", "both")

    @property
    def returns_outbound(self) -> bool:
        return self.returns_direction in ("out", "both")

    @property
    def masked_client_secret(self) -> str:
        return mask(self.thg_client_secret)

    def set_inbound_password(self, raw_password: str) -> None:
        self.inbound_password_hash = make_password(raw_password)

    def check_inbound_password(self, raw_password: str) -> bool:
        if not self.inbound_password_hash:
            return False
        return check_password(raw_password, self.inbound_password_hash)

    def sku_allowlist(self) -> set[str]:
        text = self.inventory_sku_allowlist.replace(",", "\n")
        return {sku.strip() for sku in text.splitlines() if sku.strip()}

    def set_status(self, status: str, detail: str = "") -> None:
        """Store a new status and its cause, if either changed."""
        if self.status == status and self.status_detail == detail:
            return
        self.status = status
        self.status_detail = detail
        self.status_changed_at = timezone.now()
        Connector.objects.filter(pk=self.pk).update(
            status=status,
            status_detail=detail,
            status_changed_at=self.status_changed_at,
        )


class Stream(models.TextChoices):
    LOCATIONS = "locations", "Locations"
    ORDERS = "orders", "Orders"
    BACKFILL = "backfill", "Orders backfill"
    ROUTING = "routing", "Routing"
    FULFILLMENTS = "fulfillments", "Fulfillments"
    RETURNS = "returns", "Returns"
    INVENTORY = "inventory", "Inventory"
    CATALOG = "catalog", "Catalog"
    EVENTS = "events", "Events"


class SyncState(models.Model):
    """The cursor and the lease of one stream of one connector."""

    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="sync_states"
    )
    stream = models.CharField(max_length=20, choices=Stream.choices)
    cursor = models.CharField(max_length=500, blank=True)
    cursor_time = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "stream"], name="unique_sync_state"
            )
        ]

    def __str__(self):
        return f"{self.connector} / {self.stream}"


class SyncRun(models.Model):
    """One run of one stream: what triggered it, what it did, how it ended."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        ADMIN = "admin", "Admin action"
        COMMAND = "command", "Command"
        EVENT = "event", "Event"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="sync_runs"
    )
    stream = models.CharField(max_length=20, choices=Stream.choices)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.RUNNING
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    progress = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["connector", "stream", "-started_at"])]

    def __str__(self):
        return f"{self.connector} / {self.stream} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        if self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class InboundEvent(models.Model):
    """A webhook or event from a channel, stored raw before it is processed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="inbound_events"
    )
    external_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100)
    body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "external_id"], name="unique_inbound_event"
            )
        ]

    def __str__(self):
        return f"{self.event_type} {self.external_id}"


class OutboxMessage(models.Model):
    """A push the hub owes a channel, written with the change that causes it.

    ``reference`` is the idempotency key sent to the channel, so delivering a
    message twice never creates two records there.
    """

    class Kind(models.TextChoices):
        DISPATCH = "dispatch", "Dispatch"
        RETURN = "return", "Return"
        RETURN_RECEIPT = "return_receipt", "Return receipt"
        ACKNOWLEDGEMENT = "acknowledgement", "Order acknowledgement"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="outbox"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reference = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "kind", "reference"], name="unique_outbox_message"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.reference}"


class DoctorReport(models.Model):
    """The last run of the connector doctor on one connector.

    ``findings`` contains one object per finding, as written by
    :meth:`connectors.doctor.findings.Finding.as_dict`: the check and code,
    the severity, the symptom, the message, the evidence and the next step.
    Each run replaces the previous report of the connector.
    """

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        ADMIN = "admin", "Diagnose page"
        COMMAND = "command", "Command"

    connector = models.OneToOneField(
        Connector, on_delete=models.CASCADE, related_name="doctor_report"
    )
    ran_at = models.DateTimeField()
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    seconds = models.FloatField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    info_count = models.PositiveIntegerField(default=0)
    checks = models.JSONField(default=list, help_text="The ids of the checks run.")
    findings = models.JSONField(default=list)

    class Meta:
        ordering = ["connector__name"]

    def __str__(self):
        return f"{self.connector} at {self.ran_at:%Y-%m-%d %H:%M}"

    @property
    def status(self) -> str:
        """The worst severity found: "error", "warning", or "ok"."""
        if self.error_count:
            return "error"
        if self.warning_count:
            return "warning"
        return "ok"

    @property
    def headline(self) -> str:
        """The symptom of the first error, else of the first warning."""
        for severity in ("error", "warning"):
            for finding in self.findings:
                if finding.get("severity") == severity:
                    return finding.get("title", "")
        return ""

    def findings_of(self, severity: str) -> list[dict]:
        return [f for f in self.findings if f.get("severity") == severity]

    @property
    def errors(self) -> list[dict]:
        return self.findings_of("error")

    @property
    def warnings(self) -> list[dict]:
        return self.findings_of("warning")
