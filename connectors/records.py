"""Plain records that channel mapping code produces and domain services take.

Mapping functions (``connectors/<kind>/mapping.py``) turn channel payloads
into these dataclasses without touching the database; ingestion services
(``orders.ingestion``) write them. Ids stay strings, money stays Decimal.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Address:
    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country_code: str = ""


@dataclass(frozen=True)
class OrderLineRecord:
    """One order line as the channel sent it."""

    external_id: str
    quantity: int
    upc: str = ""
    channel_sku: str = ""
    seller_sku: str = ""
    channel_sku_id: str = ""
    title: str = ""
    unit_price: Decimal | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class OrderRecord:
    """One order as the channel sent it.

    ``hub_hold_until`` delays routing (TikTok's edit window);
    ``routable`` is false while the channel says the order cannot ship yet
    (TikTok's ``UNPAID`` and ``ON_HOLD``); ``shipped`` is true when the
    channel reports the order already shipped, so a first pull of it records
    it as fulfilled rather than routing it.
    """

    external_id: str
    channel_status: str
    placed_at: datetime
    updated_at: datetime
    lines: tuple[OrderLineRecord, ...]
    reference: str = ""
    currency: str = ""
    subtotal: Decimal | None = None
    shipping_total: Decimal | None = None
    total: Decimal | None = None
    customer_name: str = ""
    customer_email: str = ""
    address: Address = field(default_factory=Address)
    cancelled: bool = False
    fulfilled_by_channel: bool = False
    routable: bool = True
    shipped: bool = False
    hold_until: datetime | None = None
    channel_warehouse_id: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ReturnLineRecord:
    order_line_external_id: str
    quantity: int
    upc: str = ""
    seller_sku: str = ""
    reason: str = ""
    condition: str = ""


@dataclass(frozen=True)
class ReturnRecord:
    external_id: str
    order_external_id: str
    channel_status: str
    created_at: datetime
    updated_at: datetime
    lines: tuple[ReturnLineRecord, ...]
    reason: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class StockItemResult:
    """The channel's verdict on one pushed stock item."""

    identifier: str
    accepted: bool
    error_code: str = ""
    error_detail: str = ""
