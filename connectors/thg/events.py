"""Processing THG events: orders, returns and the connection's activation."""

import json
import logging

from connectors.models import Connector
from orders.ingestion import upsert_orders

from . import mapping

logger = logging.getLogger(__name__)


def process(event) -> bool:
    """Apply one stored THG event; return False for a type the hub ignores."""
    payload = json.loads(event.body)
    connector = event.connector
    kind = event.event_type
    if kind == "connection.activated":
        connector.set_status(Connector.Status.CONNECTED)
        return True
    if kind.startswith("order."):
        record = mapping.order_from_payload(payload["data"])
        result = upsert_orders(
            connector, [record], status_rank=mapping.ORDER_STATUS_RANK.get
        )
        if result.routable_ids:
            from orders.models import Order
            from orders.routing import route_orders

            route_orders(Order.objects.filter(pk__in=result.routable_ids))
        return True
    if kind.startswith("return."):
        from orders.returns import upsert_returns

        record = mapping.return_from_payload(payload["data"])
        upsert_returns(connector, [record], status_rank=mapping.RETURN_STATUS_RANK.get)
        return True
    logger.info("Connector %s: THG event type %s ignored", connector.pk, kind)
    return False
