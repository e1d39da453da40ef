"""Events THG posts to the hub, and their delivery with HTTP Basic auth.

An event is stored when it is built and counts as pending until one
delivery gets a 2xx. Delivery happens only while the account is active and
the hub's events URL and username are registered, as THG sends nothing
before it activates a connection.
"""

import datetime as dt
import logging
import os
import random
import time
from collections.abc import Iterable

import requests
from django.utils import timezone

from .formats import format_time
from .models import SandboxAccount, SandboxEvent, SandboxEventDelivery, SandboxOrder

logger = logging.getLogger(__name__)

ORDER_EVENT_TYPES = ("order.created", "order.updated", "order.cancelled")
RETURN_EVENT_TYPES = ("return.created", "return.updated")
CONNECTION_ACTIVATED = "connection.activated"
#: (connect, read) timeouts of one delivery, in seconds.
DELIVERY_TIMEOUT = (5.0, 10.0)
USER_AGENT = "THG-Sandbox-Events/1.0"
RESPONSE_BODY_KEPT = 2000
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_id() -> str:
    """Return ``evt_`` and a ULID: 48 bits of milliseconds, 80 random bits."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    characters = []
    for _ in range(26):
        characters.append(_CROCKFORD[value & 31])
        value >>= 5
    return "evt_" + "".join(reversed(characters))


def record_event(
    account: SandboxAccount,
    event_type: str,
    data: dict,
    *,
    order: SandboxOrder | None = None,
) -> SandboxEvent:
    """Store a pending event with a new id and ``data`` as it is now."""
    event_id = new_event_id()
    payload = {
        "id": event_id,
        "type": event_type,
        "occurred_at": format_time(timezone.now()),
        "data": data,
    }
    return SandboxEvent.objects.create(
        account=account,
        event_id=event_id,
        event_type=event_type,
        payload=payload,
        order=order,
    )


def build_order_event(
    order: SandboxOrder, event_type: str = "order.created"
) -> SandboxEvent:
    """Store a pending order event carrying the order as the API returns it."""
    if event_type not in ORDER_EVENT_TYPES:
        raise ValueError(
            f"Unknown order event type {event_type!r}: use one of {ORDER_EVENT_TYPES}."
        )
    return record_event(order.account, event_type, order.payload, order=order)


def build_return_event(record, event_type: str = "return.created") -> SandboxEvent:
    """Store a pending return event carrying the return as the API returns it."""
    if event_type not in RETURN_EVENT_TYPES:
        raise ValueError(
            f"Unknown return event type {event_type!r}: use one of "
            f"{RETURN_EVENT_TYPES}."
        )
    return record_event(record.account, event_type, record.payload, order=record.order)


def build_connection_activated_event(account: SandboxAccount) -> SandboxEvent:
    return record_event(
        account,
        CONNECTION_ACTIVATED,
        {
            "realm": account.realm,
            "client_id": account.client_id,
            "activated_at": format_time(timezone.now()),
        },
    )


def send_events(
    account: SandboxAccount,
    events: Iterable[SandboxEvent],
    *,
    duplicate: bool = False,
    shuffle: bool = False,
    seed: int | None = None,
) -> list[SandboxEventDelivery]:
    """Post ``events`` to the hub and return one delivery record per POST.

    ``duplicate`` posts every event twice and ``shuffle`` posts them in an
    order drawn with ``seed``, as THG's retries and parallel senders do.
    Sends nothing, and returns an empty list, while the account is inactive
    or the hub is not registered.
    """
    account.refresh_from_db()
    events = list(events)
    if not account.active or not account.hub_registered:
        logger.info(
            "THG sandbox account %s: %s events kept pending (active %s, hub "
            "registered %s)",
            account,
            len(events),
            account.active,
            account.hub_registered,
        )
        return []

    sequence = [event for event in events for _ in range(2 if duplicate else 1)]
    if shuffle:
        random.Random(seed).shuffle(sequence)
    with requests.Session() as session:
        session.headers["User-Agent"] = USER_AGENT
        return [_deliver(session, account, event) for event in sequence]


def _deliver(
    session: requests.Session, account: SandboxAccount, event: SandboxEvent
) -> SandboxEventDelivery:
    try:
        response = session.post(
            account.hub_events_url,
            json=event.payload,
            auth=(account.hub_username, account.hub_password),
            timeout=DELIVERY_TIMEOUT,
        )
    except requests.RequestException as exc:
        logger.warning(
            "THG sandbox event %s: delivery to %s failed: %s",
            event.event_id,
            account.hub_events_url,
            exc.__class__.__name__,
        )
        return SandboxEventDelivery.objects.create(
            event=event, error=f"{exc.__class__.__name__}: {exc}"
        )

    delivery = SandboxEventDelivery.objects.create(
        event=event,
        status_code=response.status_code,
        response_body=response.text[:RESPONSE_BODY_KEPT],
    )
    if delivery.succeeded:
        if event.delivered_at is None:
            event.delivered_at = timezone.now()
            event.save(update_fields=["delivered_at"])
        logger.info(
            "THG sandbox event %s: %s delivered with %s",
            event.event_id,
            event.event_type,
            response.status_code,
        )
    else:
        logger.warning(
            "THG sandbox event %s: delivery rejected by the hub with status %s",
            event.event_id,
            response.status_code,
        )
    return delivery


def pending_events(account: SandboxAccount):
    return account.events.filter(delivered_at__isnull=True).order_by("pk")


def send_pending_events(account: SandboxAccount) -> list[SandboxEventDelivery]:
    """Post every event that no delivery has succeeded for yet, oldest first."""
    return send_events(account, pending_events(account))


def resend_unacknowledged_orders(
    account: SandboxAccount, *, older_than_seconds: int = 3600
) -> list[SandboxEventDelivery]:
    """Post again the ``order.created`` events of orders still NEW.

    Covers orders created at least ``older_than_seconds`` ago, and reuses
    each event's original id, as THG does for orders not acknowledged within
    an hour.
    """
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    events = SandboxEvent.objects.filter(
        account=account,
        event_type="order.created",
        order__status="NEW",
        order__created_at__lte=cutoff,
    ).order_by("pk")
    return send_events(account, events)
