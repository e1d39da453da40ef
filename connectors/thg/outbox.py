"""THG handlers for outbox messages: dispatches, returns, return receipts."""

from django.utils import timezone

from connectors.errors import PermanentError
from connectors.models import OutboxMessage
from orders.models import Fulfillment, OrderException

from . import mapping
from .client import THGClient


def client_for(connector) -> THGClient:
    return THGClient(connector)


def deliver_dispatch(client: THGClient, message: OutboxMessage) -> dict:
    """Push one fulfillment as a THG dispatch; record THG's answer on it."""
    fulfillment = (
        Fulfillment.objects.select_related("order")
        .prefetch_related("lines__line")
        .get(pk=message.payload["fulfillment_id"])
    )
    payload = mapping.dispatch_payload(fulfillment, message.payload["warehouse_id"])
    try:
        response = client.create_dispatch(fulfillment.order.external_id, payload)
    except PermanentError as exc:
        reason = exc.detail or str(exc)
        Fulfillment.objects.filter(pk=fulfillment.pk).update(
            delivery=Fulfillment.Delivery.REJECTED, channel_error=reason
        )
        OrderException.objects.update_or_create(
            order=fulfillment.order,
            kind=OrderException.Kind.CHANNEL_REJECTED,
            line=None,
            resolved_at=None,
            defaults={
                "message": f"THG rejected dispatch {fulfillment.reference}: {reason}",
                "identifier": fulfillment.reference,
            },
        )
        raise
    Fulfillment.objects.filter(pk=fulfillment.pk).update(
        delivery=Fulfillment.Delivery.SENT,
        external_id=str(response.get("id", "")),
        channel_error="",
    )
    return response


def deliver_acknowledgement(client: THGClient, message: OutboxMessage) -> dict:
    from orders.models import Order

    client.acknowledge_order(message.payload["order_id"])
    Order.objects.filter(
        connector=message.connector_id, external_id=message.payload["order_id"]
    ).update(acknowledged_at=timezone.now())
    return {}


HANDLERS = {
    OutboxMessage.Kind.DISPATCH: deliver_dispatch,
    OutboxMessage.Kind.ACKNOWLEDGEMENT: deliver_acknowledgement,
}
