"""The THG sandbox's own state: what a fake THG marketplace stores.

These tables belong to the fake marketplace, never to the hub. The hub reads
them only over HTTP, through the endpoints in ``views.py``.
"""

from django.db import models

from connectors.crypto import EncryptedTextField

#: Fault kinds that a sandbox account can inject into API calls.
FAULT_RETRY_AFTER = "too_many_requests_retry_after"
FAULT_TOO_MANY_REQUESTS = "too_many_requests"
FAULT_INTERNAL_ERROR = "internal_error"
FAULT_SLOW_RESPONSE = "slow_response"
FAULT_TRUNCATED_BODY = "truncated_body"
RANDOM_FAULT_KINDS = (
    FAULT_RETRY_AFTER,
    FAULT_TOO_MANY_REQUESTS,
    FAULT_INTERNAL_ERROR,
    FAULT_SLOW_RESPONSE,
    FAULT_TRUNCATED_BODY,
)
#: Faults that follow from a setting rather than from the random draw.
FAULT_TOKEN_EXPIRED = "token_expired"
FAULT_RATE_LIMITED = "rate_limited"
FAULT_KINDS = (*RANDOM_FAULT_KINDS, FAULT_TOKEN_EXPIRED, FAULT_RATE_LIMITED)


def _all_random_fault_kinds() -> list[str]:
    return list(RANDOM_FAULT_KINDS)


class SandboxAccount(models.Model):
    """One merchant's seller account on the fake THG marketplace."""

    realm = models.CharField(max_length=100)
    client_id = models.CharField("client ID", max_length=200)
    client_secret = EncryptedTextField()
    active = models.BooleanField(
        default=False,
        help_text="THG support has activated the connection. Until then data "
        "calls return 403 ConnectionNotActive and no events are sent.",
    )

    # The hub's events URL and credentials, as the merchant sent them to THG
    # support, so that THG can call the hub.
    hub_events_url = models.URLField("hub events URL", max_length=500, blank=True)
    hub_username = models.CharField(max_length=150, blank=True)
    hub_password = EncryptedTextField(blank=True)

    # Fault mode: off while fault_rate is 0, token_lifetime_calls is 0 and
    # rate_limit_per_second is 0.
    fault_rate = models.FloatField(
        default=0.0,
        help_text="Share of API calls, from 0 to 1, that get a random fault.",
    )
    fault_seed = models.IntegerField(
        default=0, help_text="Seed of the random draw that picks faulty calls."
    )
    fault_kinds = models.JSONField(
        default=_all_random_fault_kinds,
        blank=True,
        help_text="Random fault kinds to split the fault rate across: "
        + ", ".join(RANDOM_FAULT_KINDS)
        + ".",
    )
    fault_slow_seconds = models.FloatField(
        default=3.0,
        help_text="Seconds a slow response waits before it is sent.",
    )
    fault_token_endpoint = models.BooleanField(
        default=False,
        help_text="Inject random faults into the token call as well.",
    )
    token_lifetime_calls = models.PositiveIntegerField(
        default=0,
        help_text="A token expires after this many API calls. 0: only "
        "expires_in counts.",
    )
    rate_limit_per_second = models.PositiveIntegerField(
        default=0,
        help_text="API calls allowed per second; more get 429 TooManyRequests. "
        "0: no limit.",
    )
    request_count = models.PositiveBigIntegerField(
        default=0,
        editable=False,
        help_text="Calls that took part in the fault draw, since the fault "
        "settings were last configured.",
    )
    rate_window_second = models.BigIntegerField(default=0, editable=False)
    rate_window_count = models.PositiveIntegerField(default=0, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["realm", "client_id"], name="thg_sandbox_account_unique"
            )
        ]

    def __str__(self):
        return f"{self.realm}/{self.client_id}"

    @property
    def hub_registered(self) -> bool:
        return bool(self.hub_events_url and self.hub_username)


class SandboxToken(models.Model):
    """An access token issued by the token endpoint."""

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="tokens"
    )
    value = models.CharField(max_length=100, unique=True)
    expires_at = models.DateTimeField()
    api_calls = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"token for {self.account} until {self.expires_at:%H:%M:%S}"


class SandboxWarehouse(models.Model):
    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="warehouses"
    )
    warehouse_id = models.CharField("warehouse ID", max_length=100)
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "warehouse_id"],
                name="thg_sandbox_warehouse_unique",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.warehouse_id})"


class SandboxListing(models.Model):
    """A product that THG lists for the merchant, keyed by UPC."""

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="listings"
    )
    upc = models.CharField("UPC", max_length=14, help_text="As the merchant gave it.")
    gtin14 = models.CharField(
        "GTIN-14",
        max_length=14,
        editable=False,
        help_text="The UPC left-padded to 14 digits, used for comparison.",
    )
    title = models.CharField(max_length=300)
    sku = models.CharField(
        "THG SKU", max_length=100, blank=True, help_text="THG's own SKU field."
    )
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    last_quantity = models.PositiveIntegerField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "gtin14"], name="thg_sandbox_listing_unique"
            )
        ]

    def __str__(self):
        return f"{self.upc} {self.title}"


class SandboxOrder(models.Model):
    """An order, with its payload exactly as the API returns it."""

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="orders"
    )
    order_id = models.CharField("order ID", max_length=40)
    status = models.CharField(max_length=30)
    payload = models.JSONField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "order_id"], name="thg_sandbox_order_unique"
            )
        ]
        indexes = [models.Index(fields=["account", "updated_at", "order_id"])]

    def __str__(self):
        return f"order {self.order_id} ({self.status})"


class SandboxOrderLine(models.Model):
    """The quantities of one order line that dispatches and returns check."""

    order = models.ForeignKey(
        SandboxOrder, on_delete=models.CASCADE, related_name="lines"
    )
    line_id = models.CharField("line ID", max_length=20)
    upc = models.CharField("UPC", max_length=14)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    dispatched_quantity = models.PositiveIntegerField(default=0)
    returned_quantity = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, default="OPEN")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "line_id"], name="thg_sandbox_order_line_unique"
            )
        ]

    def __str__(self):
        return f"line {self.line_id} of order {self.order.order_id}"

    @property
    def open_quantity(self) -> int:
        if self.status != "OPEN":
            return 0
        return self.quantity - self.dispatched_quantity


class SandboxDispatch(models.Model):
    """A dispatch the hub posted, with the response THG gave."""

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="dispatches"
    )
    order = models.ForeignKey(
        SandboxOrder, on_delete=models.CASCADE, related_name="dispatches"
    )
    dispatch_id = models.CharField("dispatch ID", max_length=40, unique=True)
    dispatch_reference = models.CharField(max_length=200)
    request = models.JSONField(help_text="The request, normalized for comparison.")
    response = models.JSONField(help_text="The dispatch as the API returns it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "dispatch_reference"],
                name="thg_sandbox_dispatch_reference_unique",
            )
        ]
        verbose_name_plural = "sandbox dispatches"

    def __str__(self):
        return f"dispatch {self.dispatch_reference} of order {self.order.order_id}"


class SandboxReturn(models.Model):
    """A return, created on the THG side or posted by the hub."""

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="returns"
    )
    order = models.ForeignKey(
        SandboxOrder, on_delete=models.CASCADE, related_name="returns"
    )
    return_id = models.CharField("return ID", max_length=40, unique=True)
    status = models.CharField(max_length=30)
    payload = models.JSONField()
    return_reference = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        help_text="The hub's reference, for returns the hub created.",
    )
    request = models.JSONField(
        null=True, blank=True, help_text="The hub's create request, normalized."
    )
    receipt_reference = models.CharField(max_length=200, null=True, blank=True)
    receipt_request = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "return_reference"],
                name="thg_sandbox_return_reference_unique",
            )
        ]
        indexes = [models.Index(fields=["account", "updated_at", "return_id"])]

    def __str__(self):
        return f"return {self.return_id} ({self.status})"


class SandboxStockUpdate(models.Model):
    """One ``PUT /v1/stock`` call: the items sent and the result per item."""

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="stock_updates"
    )
    items = models.JSONField(help_text="The request body's items as sent.")
    results = models.JSONField(default=list, blank=True)
    status_code = models.PositiveSmallIntegerField()
    accepted_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return (
            f"stock update {self.pk}: {self.accepted_count} accepted, "
            f"{self.rejected_count} rejected"
        )


class SandboxEvent(models.Model):
    """An event THG owes the hub; delivered once a delivery gets a 2xx."""

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="events"
    )
    event_id = models.CharField("event ID", max_length=40, unique=True)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField(help_text="The event body as it is posted.")
    order = models.ForeignKey(
        SandboxOrder,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.event_type} {self.event_id}"


class SandboxEventDelivery(models.Model):
    """One POST of an event to the hub and what came back."""

    event = models.ForeignKey(
        SandboxEvent, on_delete=models.CASCADE, related_name="deliveries"
    )
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty when no response arrived."
    )
    error = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "sandbox event deliveries"

    def __str__(self):
        return f"{self.event} → {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class SandboxFaultCount(models.Model):
    """How many faults of one kind the account has injected."""

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="fault_counts"
    )
    kind = models.CharField(max_length=40)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind"], name="thg_sandbox_fault_count_unique"
            )
        ]

    def __str__(self):
        return f"{self.kind}: {self.count}"
