"""Orders from every channel, their fulfillments, returns and exceptions."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Order(models.Model):
    """One order as the channel last reported it, and the hub's work on it."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        ON_HOLD = "on_hold", "On hold"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        ROUTED = "routed", "Routed"
        PARTIALLY_FULFILLED = "partially_fulfilled", "Partially fulfilled"
        FULFILLED = "fulfilled", "Fulfilled"
        FULFILLED_BY_CHANNEL = "fulfilled_by_channel", "Fulfilled by the channel"
        CANCELLED = "cancelled", "Cancelled"

    connector = models.ForeignKey(
        "connectors.Connector", on_delete=models.PROTECT, related_name="orders"
    )
    external_id = models.CharField(max_length=64)
    reference = models.CharField(max_length=100, blank=True)
    channel_status = models.CharField(max_length=40)
    status = models.CharField(max_length=30, choices=Status.choices, default="new")
    placed_at = models.DateTimeField()
    channel_updated_at = models.DateTimeField()
    currency = models.CharField(max_length=3, blank=True)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    shipping_total = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    total = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_email = models.CharField(max_length=254, blank=True)
    ship_name = models.CharField(max_length=200, blank=True)
    ship_line1 = models.CharField(max_length=200, blank=True)
    ship_line2 = models.CharField(max_length=200, blank=True)
    ship_city = models.CharField(max_length=100, blank=True)
    ship_region = models.CharField(max_length=100, blank=True)
    ship_postal_code = models.CharField(max_length=20, blank=True)
    ship_country_code = models.CharField(max_length=2, blank=True)
    tags = models.CharField(max_length=200, blank=True)
    fulfilled_by_channel = models.BooleanField(default=False)
    hold_until = models.DateTimeField(null=True, blank=True)
    location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        help_text="Where the order ships from, once routed.",
    )
    routing_decision = models.JSONField(null=True, blank=True)
    routed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "external_id"], name="unique_order_per_connector"
            )
        ]
        indexes = [
            models.Index(fields=["status", "placed_at"]),
            models.Index(fields=["connector", "-placed_at"]),
        ]
        permissions = [("route_order", "Can route orders again")]

    def __str__(self):
        return self.reference or self.external_id


class OrderLine(models.Model):
    """One line of an order: the identifier received and what it matched."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CANCELLED = "cancelled", "Cancelled"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    external_id = models.CharField(max_length=64)
    upc = models.CharField("UPC", max_length=20, blank=True)
    channel_sku = models.CharField("channel SKU", max_length=100, blank=True)
    seller_sku = models.CharField("seller SKU", max_length=100, blank=True)
    channel_sku_id = models.CharField("channel SKU id", max_length=64, blank=True)
    title = models.CharField(max_length=255, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    status = models.CharField(max_length=20, choices=Status.choices, default="open")
    product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order_lines",
    )
    quantity_fulfilled = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "external_id"], name="unique_line_per_order"
            )
        ]

    def __str__(self):
        return f"{self.order} line {self.external_id}"

    @property
    def is_matched(self) -> bool:
        return self.product_id is not None

    @property
    def quantity_open(self) -> int:
        if self.status == self.Status.CANCELLED:
            return 0
        return max(self.quantity - self.quantity_fulfilled, 0)


class Allocation(models.Model):
    """Units of one line committed at one location, until they ship."""

    line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, related_name="allocations"
    )
    location = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, related_name="allocations"
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["line", "location"], name="unique_allocation"
            )
        ]

    def __str__(self):
        return f"{self.quantity} × {self.line} at {self.location}"


class Fulfillment(models.Model):
    """A shipment of some or all of an order's lines from one location."""

    class Delivery(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Accepted by the channel"
        REJECTED = "rejected", "Rejected by the channel"
        NOT_SENT = "not_sent", "Not sent (stream off)"

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="fulfillments"
    )
    location = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, related_name="fulfillments"
    )
    carrier = models.CharField(max_length=100)
    service = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100)
    tracking_url = models.URLField(blank=True)
    shipped_at = models.DateTimeField()
    delivery = models.CharField(
        "sent to channel", max_length=20, choices=Delivery.choices, default="pending"
    )
    external_id = models.CharField(max_length=64, blank=True)
    channel_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-shipped_at"]

    def __str__(self):
        return f"F{self.pk} {self.carrier} {self.tracking_number}"

    @property
    def reference(self) -> str:
        """The idempotency key sent to the channel."""
        return f"F{self.pk}"


class FulfillmentLine(models.Model):
    fulfillment = models.ForeignKey(
        Fulfillment, on_delete=models.CASCADE, related_name="lines"
    )
    line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="fulfillment_lines"
    )
    quantity = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.quantity} × {self.line}"


class Return(models.Model):
    """Goods coming back from a buyer, inbound from or outbound to a channel."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "From the channel"
        OUTBOUND = "outbound", "Created in the hub"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    external_id = models.CharField(max_length=64, blank=True)
    channel_status = models.CharField(max_length=40, blank=True)
    channel_updated_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Where the goods were received.",
    )
    received_at = models.DateTimeField(null=True, blank=True)
    delivery = models.CharField(
        "sent to channel",
        max_length=20,
        choices=Fulfillment.Delivery.choices,
        blank=True,
    )
    channel_error = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "external_id"],
                condition=~Q(external_id=""),
                name="unique_return_per_order",
            )
        ]

    def __str__(self):
        return self.external_id or f"R{self.pk}"

    @property
    def reference(self) -> str:
        return f"R{self.pk}"


class ReturnLine(models.Model):
    class Condition(models.TextChoices):
        GOOD = "GOOD", "Good (restock)"
        DAMAGED = "DAMAGED", "Damaged (do not restock)"

    return_request = models.ForeignKey(
        Return, on_delete=models.CASCADE, related_name="lines"
    )
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    condition = models.CharField(max_length=10, choices=Condition.choices, blank=True)
    quantity_received = models.PositiveIntegerField(default=0)
    quantity_restocked = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.quantity} × {self.line}"


class OrderException(models.Model):
    """Why an order needs a person; resolved when the cause is fixed."""

    class Kind(models.TextChoices):
        UNMATCHED_LINE = "unmatched_line", "Line matches no product"
        NO_STOCK = "no_stock", "No location can ship it"
        INVALID_ADDRESS = "invalid_address", "Invalid address"
        CHANNEL_REJECTED = "channel_rejected", "Channel rejected a push"

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="exceptions"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    identifier = models.CharField(
        max_length=100, blank=True, help_text="The identifier as received."
    )
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "resolved_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind", "line"],
                condition=Q(resolved_at__isnull=True),
                name="unique_open_exception",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.order}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class RoutingRule(models.Model):
    """One rule of the routing engine; rules are tried by position.

    A rule matches an order when every filter it sets matches (an empty
    filter matches any order). The first rule that matches and can serve
    every open line wins; otherwise the next one is tried.
    """

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(
        default=0, help_text="Rules are tried from the lowest position up."
    )
    active = models.BooleanField(default=True)
    connector = models.ForeignKey(
        "connectors.Connector",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="routing_rules",
        help_text="Only orders of this connector. Empty: every connector.",
    )
    countries = models.CharField(
        "ship-to countries",
        max_length=200,
        blank=True,
        help_text="ISO codes, comma-separated (GB, US). Empty: any country.",
    )
    tags = models.CharField(
        max_length=200,
        blank=True,
        help_text="Orders carrying any of these tags, comma-separated. "
        "Empty: any order.",
    )
    skus = models.TextField(
        "SKUs",
        blank=True,
        help_text="Orders with a line of any of these SKUs, one per line or "
        "comma-separated. Empty: any order.",
    )
    check_stock = models.BooleanField(
        default=True,
        help_text="Pick only locations with enough available stock. Off: take "
        "the first candidate and commit what stock it has.",
    )
    allow_split = models.BooleanField(
        default=False,
        help_text="Let one order ship from several locations when no single "
        "location has every line.",
    )
    closest_wins = models.BooleanField(
        default=False,
        help_text="Try the location closest to the ship-to postal code first, "
        "instead of the candidates' priority.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.name


class RoutingRuleLocation(models.Model):
    """A candidate location of a routing rule, with its priority in the rule."""

    rule = models.ForeignKey(
        RoutingRule, on_delete=models.CASCADE, related_name="candidates"
    )
    location = models.ForeignKey(
        "inventory.Location", on_delete=models.CASCADE, related_name="+"
    )
    priority = models.PositiveIntegerField(
        default=0, help_text="Lower numbers are tried first."
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "candidate location"
        ordering = ["rule", "priority", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "location"], name="unique_rule_location"
            )
        ]

    def __str__(self):
        return f"{self.location} in {self.rule}"
