"""TikTok Shop webhooks: their ids and types, and what processing each does.

:func:`process` is called by :func:`connectors.events.process_event` inside
a transaction, once per stored :class:`~connectors.models.InboundEvent`; it
returns False for events the hub does not act on (they are marked ignored).
"""

import hashlib
import json
import logging
from datetime import UTC, datetime

from connectors.models import Connector, InboundEvent

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024

ORDER_STATUS_CHANGE = 1
RECIPIENT_ADDRESS_UPDATE = 3
PACKAGE_UPDATE = 4
SELLER_DEAUTHORIZATION = 6
UPCOMING_AUTHORIZATION_EXPIRATION = 7
RETURN_STATUS_CHANGE = 12

EVENT_NAMES = {
    ORDER_STATUS_CHANGE: "ORDER_STATUS_CHANGE",
    2: "REVERSE_STATUS_UPDATE",
    RECIPIENT_ADDRESS_UPDATE: "RECIPIENT_ADDRESS_UPDATE",
    PACKAGE_UPDATE: "PACKAGE_UPDATE",
    5: "PRODUCT_STATUS_CHANGE",
    SELLER_DEAUTHORIZATION: "SELLER_DEAUTHORIZATION",
    UPCOMING_AUTHORIZATION_EXPIRATION: "UPCOMING_AUTHORIZATION_EXPIRATION",
    11: "CANCELLATION_STATUS_CHANGE",
    RETURN_STATUS_CHANGE: "RETURN_STATUS_CHANGE",
    13: "NEW_CONVERSATION",
    14: "NEW_MESSAGE",
    15: "PRODUCT_INFORMATION_CHANGE",
    16: "PRODUCT_CREATION",
    36: "INVOICE_STATUS_CHANGE",
    37: "PRODUCT_AUDIT_STATUS_CHANGE",
}


def event_id(payload: dict, body: bytes) -> str:
    """Return the dedupe key: ``tts_notification_id``, or a hash of the body.

    Some of TikTok's own examples (type 3) carry no notification id, and the
    same body sent twice is the same event.
    """
    notification_id = payload.get("tts_notification_id")
    if notification_id not in (None, ""):
        return str(notification_id)
    return "sha256:" + hashlib.sha256(body).hexdigest()


def event_type(payload: dict) -> str:
    value = payload.get("type")
    if isinstance(value, int) and value in EVENT_NAMES:
        return EVENT_NAMES[value]
    return str(value)


def _type_number(event: InboundEvent, payload: dict) -> int | None:
    value = payload.get("type")
    if isinstance(value, int):
        return value
    for number, name in EVENT_NAMES.items():
        if name == event.event_type:
            return number
    return None


def process(event: InboundEvent) -> bool:
    """Act on one stored webhook; return False when it needs nothing."""
    payload = json.loads(event.body)
    connector = event.connector
    shop_id = str(payload.get("shop_id") or "")
    if shop_id and connector.tiktok_shop_id and shop_id != connector.tiktok_shop_id:
        logger.info(
            "Connector %s: webhook %s is for shop %s, not %s; ignored",
            connector.pk,
            event.external_id,
            shop_id,
            connector.tiktok_shop_id,
        )
        return False
    data = payload.get("data") or {}
    handler = _HANDLERS.get(_type_number(event, payload))
    if handler is None:
        return False
    handler(connector, data)
    return True


def _deauthorized(connector: Connector, data: dict) -> None:
    message = data.get("message") or "no message"
    connector.set_status(
        Connector.Status.NEEDS_REAUTHORIZATION,
        f"TikTok Shop reports that the seller deauthorized the app ({message}). "
        "Connect the shop again from the connector page.",
    )
    logger.warning("Connector %s: seller deauthorized the app", connector.pk)


def _expiry_text(value) -> str:
    try:
        moment = datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return str(value or "an unstated date")
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _authorization_expiring(connector: Connector, data: dict) -> None:
    """Warn in ``status_detail`` and leave the status as it is."""
    when = _expiry_text(data.get("expiration_time"))
    message = data.get("message") or ""
    detail = (
        f"Warning: the TikTok Shop authorization expires on {when}. Connect the "
        "shop again from the connector page before then."
    )
    if message:
        detail += f" TikTok says: {message}"
    connector.set_status(connector.status, detail)
    logger.warning("Connector %s: authorization expires on %s", connector.pk, when)


def _order_changed(connector: Connector, data: dict) -> None:
    from .streams import fetch_orders

    order_id = str(data.get("order_id") or "")
    if order_id:
        fetch_orders(connector, [order_id])


def _package_changed(connector: Connector, data: dict) -> None:
    from .streams import fetch_orders

    order_ids = [
        str(order_id)
        for package in data.get("package_list") or []
        for order_id in package.get("order_id_list") or []
    ]
    if order_ids:
        fetch_orders(connector, order_ids)


def _return_changed(connector: Connector, data: dict) -> None:
    from .streams import fetch_orders, fetch_returns

    order_id = str(data.get("order_id") or "")
    if order_id:
        fetch_orders(connector, [order_id])
    return_id = str(data.get("return_id") or "")
    if return_id:
        fetch_returns(connector, [return_id])


_HANDLERS = {
    ORDER_STATUS_CHANGE: _order_changed,
    RECIPIENT_ADDRESS_UPDATE: _order_changed,
    PACKAGE_UPDATE: _package_changed,
    SELLER_DEAUTHORIZATION: _deauthorized,
    UPCOMING_AUTHORIZATION_EXPIRATION: _authorization_expiring,
    RETURN_STATUS_CHANGE: _return_changed,
}
