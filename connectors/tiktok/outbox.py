"""TikTok Shop handler for outbox messages: marking packages as shipped."""

from django.db import transaction

from connectors.errors import PermanentError
from connectors.models import OutboxMessage
from orders.models import Fulfillment, OrderException

from . import mapping
from .client import TikTokClient
from .errors import TikTokPermanentError
from .models import CarrierMapping, ShippedPackage


def client_for(connector) -> TikTokClient:
    return TikTokClient(connector)


def shipping_provider_id(client: TikTokClient, order, carrier: str) -> str:
    """Find the TikTok shipping provider for a hub carrier name.

    A carrier mapping on the connector wins; otherwise the provider of the
    order's delivery option whose name equals the carrier (any case).
    """
    carrier = carrier.strip()
    mapped = CarrierMapping.objects.filter(
        connector=order.connector, carrier__iexact=carrier
    ).first()
    if mapped is not None:
        return mapped.shipping_provider_id
    option_id = str(order.raw.get("delivery_option_id") or "")
    if not option_id:
        raise TikTokPermanentError(
            f"TikTok order {order.external_id} has no delivery option, so carrier "
            f"{carrier!r} cannot be matched; add a TikTok carrier mapping for it."
        )
    providers = client.get_shipping_providers(option_id)
    for provider in providers:
        if str(provider.get("name", "")).strip().lower() == carrier.lower():
            return str(provider["id"])
    names = ", ".join(str(p.get("name")) for p in providers) or "none"
    raise TikTokPermanentError(
        f"Carrier {carrier!r} is not a shipping provider of TikTok delivery option "
        f"{option_id} (providers: {names}). Use one of those names or add a TikTok "
        "carrier mapping."
    )


def _line_item_ids(fulfillment: Fulfillment) -> list[str]:
    order = fulfillment.order
    quantities: dict[str, int] = {}
    for line in fulfillment.lines.all():
        key = line.line.external_id
        quantities[key] = quantities.get(key, 0) + line.quantity
    sent_before = [
        item_id
        for package in ShippedPackage.objects.filter(fulfillment__order=order).exclude(
            fulfillment=fulfillment
        )
        for item_id in package.order_line_item_ids
    ]
    try:
        return mapping.line_items_to_ship(order.raw, quantities, sent_before)
    except ValueError as exc:
        raise TikTokPermanentError(str(exc)) from exc


def _reject(fulfillment: Fulfillment, exc: PermanentError) -> None:
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
            "message": f"TikTok Shop rejected shipment {fulfillment.reference}: "
            f"{reason}",
            "identifier": fulfillment.reference,
        },
    )


def deliver_dispatch(client: TikTokClient, message: OutboxMessage) -> dict:
    """Mark one hub fulfillment's line items shipped on TikTok with its tracking.

    Safe to run twice: a fulfillment that already became a TikTok package is
    not sent again.
    """
    fulfillment = (
        Fulfillment.objects.select_related("order", "order__connector")
        .prefetch_related("lines__line")
        .get(pk=message.payload["fulfillment_id"])
    )
    existing = ShippedPackage.objects.filter(fulfillment=fulfillment).first()
    if existing is not None:
        return {"order_id": existing.order_id, "package_id": existing.package_id}
    order = fulfillment.order
    try:
        provider_id = shipping_provider_id(client, order, fulfillment.carrier)
        item_ids = _line_item_ids(fulfillment)
        data = client.mark_package_shipped(
            order.external_id,
            tracking_number=fulfillment.tracking_number,
            shipping_provider_id=provider_id,
            order_line_item_ids=item_ids,
        )
    except PermanentError as exc:
        _reject(fulfillment, exc)
        raise
    package_id = str(data.get("package_id") or "")
    with transaction.atomic():
        ShippedPackage.objects.create(
            fulfillment=fulfillment,
            order_id=order.external_id,
            package_id=package_id,
            shipping_provider_id=provider_id,
            order_line_item_ids=list(data.get("order_line_item_ids") or item_ids),
            warning=str((data.get("warning") or {}).get("message") or ""),
        )
        Fulfillment.objects.filter(pk=fulfillment.pk).update(
            delivery=Fulfillment.Delivery.SENT,
            external_id=package_id,
            channel_error="",
        )
    return data


HANDLERS = {OutboxMessage.Kind.DISPATCH: deliver_dispatch}
