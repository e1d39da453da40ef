"""The THG sandbox's Python API, for the demo loader and end-to-end tests.

Set up an account, its warehouses and listings, generate orders and returns,
play THG support (register the hub's credentials, activate the connection)
and make THG-side changes that send events to the hub. Fault mode is set
with :func:`configure_faults` and read with :func:`fault_counts`.
"""

import datetime as dt
import logging
import random
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.db import transaction

from . import events as event_delivery
from . import orders, returns
from .errors import SandboxError
from .events import (
    build_order_event,
    build_return_event,
    pending_events,
    resend_unacknowledged_orders,
    send_events,
    send_pending_events,
)
from .faults import configure_faults, fault_counts
from .formats import gtin14, is_upc_text
from .generator import ListingChoice, customer, order_lines, price_for
from .models import (
    SandboxAccount,
    SandboxEventDelivery,
    SandboxListing,
    SandboxOrder,
    SandboxReturn,
    SandboxWarehouse,
)

logger = logging.getLogger(__name__)

__all__ = [
    "activate",
    "add_listings",
    "build_order_event",
    "build_return_event",
    "cancel_line",
    "cancel_order",
    "configure_faults",
    "create_return",
    "deactivate",
    "ensure_account",
    "fault_counts",
    "generate_orders",
    "generate_returns",
    "get_account",
    "pending_events",
    "register_hub",
    "resend_unacknowledged_orders",
    "send_events",
    "send_pending_events",
    "set_warehouses",
    "update_return_status",
]


def ensure_account(
    realm: str, client_id: str, client_secret: str, *, active: bool = False
) -> SandboxAccount:
    """Return the account for ``realm`` and ``client_id``, creating it if new.

    An existing account takes ``client_secret``, and it is activated when
    ``active`` is true, but an active account is never deactivated here:
    calling this twice with the same values leaves one account in one state.
    No event is sent; use :func:`activate` for that.
    """
    account, created = SandboxAccount.objects.get_or_create(
        realm=realm,
        client_id=client_id,
        defaults={"client_secret": client_secret, "active": active},
    )
    if not created and (
        account.client_secret != client_secret or (active and not account.active)
    ):
        account.client_secret = client_secret
        account.active = account.active or active
        account.save(update_fields=["client_secret", "active"])
    if created:
        logger.info("THG sandbox account %s: created", account)
    return account


def get_account(realm: str, client_id: str | None = None) -> SandboxAccount:
    """Return the account in ``realm`` (the first one unless ``client_id``)."""
    accounts = SandboxAccount.objects.filter(realm=realm)
    if client_id is not None:
        accounts = accounts.filter(client_id=client_id)
    account = accounts.order_by("pk").first()
    if account is None:
        raise SandboxError(
            f"No THG sandbox account in realm {realm!r}. Create one with "
            "ensure_account."
        )
    return account


def set_warehouses(
    account: SandboxAccount, warehouses: Iterable[tuple[str, str]]
) -> list[SandboxWarehouse]:
    """Make ``(warehouse_id, name)`` pairs the account's whole warehouse list."""
    pairs = list(warehouses)
    with transaction.atomic():
        account.warehouses.exclude(
            warehouse_id__in=[warehouse_id for warehouse_id, _ in pairs]
        ).delete()
        stored = [
            SandboxWarehouse.objects.update_or_create(
                account=account, warehouse_id=warehouse_id, defaults={"name": name}
            )[0]
            for warehouse_id, name in pairs
        ]
    return stored


def add_listings(
    account: SandboxAccount, listings: Iterable[tuple]
) -> list[SandboxListing]:
    """Add or update listings from ``(upc, title[, sku[, unit_price]])`` tuples.

    UPCs of 8 to 14 digits are compared left-padded to 14, so the 12- and
    13-digit forms of one GTIN update the same listing. The listing keeps the
    UPC as first given. A listing given without a price gets a price point
    derived from its UPC.
    """
    stored = []
    with transaction.atomic():
        for entry in listings:
            upc, title, *rest = entry
            if not is_upc_text(upc):
                raise SandboxError(
                    f"Listing UPC {upc!r} is invalid: use a string of 8 to 14 digits."
                )
            sku = rest[0] if rest else ""
            unit_price = _price(rest[1]) if len(rest) > 1 else price_for(upc)
            listing, _ = SandboxListing.objects.update_or_create(
                account=account,
                gtin14=gtin14(upc),
                defaults={"title": title, "sku": sku, "unit_price": unit_price},
                create_defaults={
                    "upc": upc,
                    "title": title,
                    "sku": sku,
                    "unit_price": unit_price,
                },
            )
            stored.append(listing)
    return stored


def _price(value) -> Decimal:
    try:
        price = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise SandboxError(
            f"Listing price {value!r} is not a number: use a decimal like '9.99'."
        ) from None
    return price


def register_hub(
    account: SandboxAccount, events_url: str, username: str, password: str
) -> SandboxAccount:
    """Store the events URL and credentials the merchant sent THG support."""
    account.hub_events_url = events_url
    account.hub_username = username
    account.hub_password = password
    account.save(update_fields=["hub_events_url", "hub_username", "hub_password"])
    logger.info(
        "THG sandbox account %s: hub registered at %s as %s",
        account,
        events_url,
        username,
    )
    return account


def activate(account: SandboxAccount) -> list[SandboxEventDelivery]:
    """Activate the connection and send ``connection.activated`` to the hub.

    Returns the deliveries. The list is empty when the hub is not registered,
    and the event then stays pending until :func:`send_pending_events`.
    """
    account.active = True
    account.save(update_fields=["active"])
    logger.info("THG sandbox account %s: connection activated", account)
    event = event_delivery.build_connection_activated_event(account)
    return event_delivery.send_events(account, [event])


def deactivate(account: SandboxAccount) -> SandboxAccount:
    """Deactivate the connection: data calls return 403 again."""
    account.active = False
    account.save(update_fields=["active"])
    logger.info("THG sandbox account %s: connection deactivated", account)
    return account


def generate_orders(
    account: SandboxAccount,
    count: int,
    *,
    seed: int | None = None,
    unknown_upc_share: float = 0.05,
    created_at: dt.datetime | None = None,
    send_events: bool = False,
) -> list[SandboxOrder]:
    """Create ``count`` NEW orders from the account's listings.

    Each order has one to four lines for distinct listings with quantities 1
    to 3. With the chance ``unknown_upc_share`` a line carries a valid GTIN
    that no listing has. The same ``seed`` and listings give the same
    customers, addresses and lines. Every order gets a pending
    ``order.created`` event, which is posted at once with ``send_events``.
    """
    listings = [
        ListingChoice(
            upc=listing.upc,
            title=listing.title,
            sku=listing.sku,
            unit_price=listing.unit_price,
        )
        for listing in account.listings.order_by("pk")
    ]
    if not listings:
        raise SandboxError(
            f"Account {account} has no listings: add some with add_listings "
            "before generating orders."
        )
    known = set(account.listings.values_list("gtin14", flat=True))
    rng = random.Random(seed)

    created = []
    created_events = []
    for _ in range(count):
        buyer, address = customer(rng)
        lines = order_lines(rng, listings, known, unknown_upc_share)
        order = orders.create_order(
            account, customer=buyer, address=address, lines=lines, created_at=created_at
        )
        created.append(order)
        created_events.append(build_order_event(order, "order.created"))
    logger.info("THG sandbox account %s: generated %s orders", account, count)

    if send_events:
        event_delivery.send_events(account, created_events)
    return created


def generate_returns(
    account: SandboxAccount,
    count: int,
    *,
    seed: int | None = None,
    send_events: bool = False,
) -> list[SandboxReturn]:
    """Create up to ``count`` customer returns for dispatched orders.

    Each gets a pending ``return.created`` event, posted at once with
    ``send_events``.
    """
    created = returns.generate_returns(account, count, seed=seed)
    created_events = [build_return_event(record) for record in created]
    if send_events:
        event_delivery.send_events(account, created_events)
    return created


def cancel_order(
    account: SandboxAccount, order_id: str, *, send_events: bool = False
) -> SandboxOrder:
    """Cancel an order on the THG side and record ``order.cancelled``."""
    order = orders.cancel_order(account, order_id)
    _record_and_send(account, build_order_event(order, "order.cancelled"), send_events)
    return order


def cancel_line(
    account: SandboxAccount, order_id: str, line_id: str, *, send_events: bool = False
) -> SandboxOrder:
    """Cancel one line on the THG side and record the event it causes.

    The event is ``order.cancelled`` when no line is left open and
    ``order.updated`` otherwise.
    """
    order = orders.cancel_line(account, order_id, line_id)
    event_type = (
        "order.cancelled" if order.status == orders.CANCELLED else "order.updated"
    )
    _record_and_send(account, build_order_event(order, event_type), send_events)
    return order


def create_return(
    account: SandboxAccount,
    order_id: str,
    lines: list[tuple],
    *,
    reason: str = "Changed mind",
    status: str = returns.REQUESTED,
    created_at: dt.datetime | None = None,
    send_events: bool = False,
) -> SandboxReturn:
    """Create a customer return and record ``return.created``.

    ``lines`` are ``(line_id, quantity)`` or ``(line_id, quantity, reason)``.
    """
    record = returns.create_return(
        account, order_id, lines, reason=reason, status=status, created_at=created_at
    )
    _record_and_send(account, build_return_event(record), send_events)
    return record


def update_return_status(
    account: SandboxAccount,
    return_id: str,
    status: str,
    *,
    send_events: bool = False,
) -> SandboxReturn:
    """Move a return to ``status`` and record ``return.updated``."""
    record = returns.update_return_status(account, return_id, status)
    _record_and_send(account, build_return_event(record, "return.updated"), send_events)
    return record


def _record_and_send(account, event, send: bool) -> None:
    if send:
        event_delivery.send_events(account, [event])
