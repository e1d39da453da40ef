"""THG handlers for outbox messages: dispatches, returns, return receipts."""

from django.utils import timezone

from connectors.errors import PermanentError, RetryableError
from connectors.models import OutboxMessage
from orders.models import Fulfillment, OrderException, Return

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


def deliver_return(client: THGClient, message: OutboxMessage) -> dict:
    """Send a return created in the hub; store THG's id for it."""
    return_request = Return.objects.select_related("order").get(
        pk=message.payload["return_id"]
    )
    payload = {
        "return_reference": message.reference,
        "order_id": return_request.order.external_id,
        "lines": [
            {
                "line_id": line.line.external_id,
                "quantity": line.quantity,
                "reason": line.reason,
            }
            for line in return_request.lines.select_related("line")
        ],
    }
    try:
        response = client.create_return(payload)
    except PermanentError as exc:
        _reject_return(return_request, exc)
        raise
    Return.objects.filter(pk=return_request.pk).update(
        external_id=str(response.get("id", "")),
        channel_status=response.get("status", ""),
        delivery=Fulfillment.Delivery.SENT,
        channel_error="",
    )
    return response


def deliver_return_receipt(client: THGClient, message: OutboxMessage) -> dict:
    """Send a receipt; it waits until THG has given the return an id."""
    return_request = Return.objects.select_related("order").get(
        pk=message.payload["return_id"]
    )
    if not return_request.external_id:
        raise RetryableError(
            f"Return {return_request.reference} has no THG id yet; the receipt "
            "is sent once THG accepted the return."
        )
    payload = {
        "receipt_reference": message.reference,
        "received_at": mapping.format_time(
            return_request.received_at or timezone.now()
        ),
        "lines": message.payload["lines"],
    }
    try:
        response = client.post_return_receipt(return_request.external_id, payload)
    except PermanentError as exc:
        _reject_return(return_request, exc)
        raise
    Return.objects.filter(pk=return_request.pk).update(
        channel_status=response.get("status", return_request.channel_status)
    )
    return response


def _reject_return(return_request: Return, exc: PermanentError) -> None:
    reason = exc.detail or str(exc)
    Return.objects.filter(pk=return_request.pk).update(
        delivery=Fulfillment.Delivery.REJECTED, channel_error=reason
    )
    OrderException.objects.update_or_create(
        order=return_request.order,
        kind=OrderException.Kind.CHANNEL_REJECTED,
        line=None,
        resolved_at=None,
        defaults={
            "message": f"THG rejected return {return_request.reference}: {reason}",
            "identifier": return_request.reference,
        },
    )


HANDLERS = {
    OutboxMessage.Kind.RETURN: deliver_return,
    OutboxMessage.Kind.RETURN_RECEIPT: deliver_return_receipt,
    OutboxMessage.Kind.DISPATCH: deliver_dispatch,
    OutboxMessage.Kind.ACKNOWLEDGEMENT: deliver_acknowledgement,
}
