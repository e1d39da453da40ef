"""Processing stored inbound events, and replaying failed ones."""

import logging
from importlib import import_module

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .logging import redact
from .models import Connector, InboundEvent

logger = logging.getLogger(__name__)

_PROCESSORS = {
    Connector.Kind.THG: "connectors.thg.events",
    Connector.Kind.TIKTOK_SHOP: "connectors.tiktok.events",
}


def process_event(event_id: int) -> str:
    """Process one stored event; a failure keeps it, marked failed, for replay.

    No transaction stays open while the event is processed, because
    processing may call the channel (TikTok events fetch the order). The
    services it calls are idempotent, so an event processed twice by two
    workers ends in the same state.
    """
    event = InboundEvent.objects.select_related("connector").filter(pk=event_id).first()
    if event is None:
        return f"Event {event_id} no longer exists."
    if event.status in (InboundEvent.Status.PROCESSED, InboundEvent.Status.IGNORED):
        return f"Event {event.external_id} was already {event.status}."
    InboundEvent.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)
    module = import_module(_PROCESSORS[event.connector.kind])
    try:
        handled = module.process(event)
    except Exception as exc:  # noqa: BLE001 - the event is kept for replay
        error = redact(f"{exc.__class__.__name__}: {exc}")
        InboundEvent.objects.filter(pk=event.pk).update(
            status=InboundEvent.Status.FAILED, error=error
        )
        logger.exception(
            "Connector %s: event %s (%s) failed",
            event.connector_id,
            event.external_id,
            event.event_type,
        )
        return f"Event {event.external_id} failed: {error}"
    status = InboundEvent.Status.PROCESSED if handled else InboundEvent.Status.IGNORED
    InboundEvent.objects.filter(pk=event.pk).update(
        status=status, processed_at=timezone.now(), error=""
    )
    return f"Event {event.external_id} {status}."


def replay(events) -> int:
    """Queue the given failed events for processing again; return how many."""
    from .inbound import queue_processing

    ids = list(
        events.filter(status=InboundEvent.Status.FAILED).values_list("pk", flat=True)
    )
    InboundEvent.objects.filter(pk__in=ids).update(status=InboundEvent.Status.PENDING)
    for event_id in ids:
        transaction.on_commit(lambda event_id=event_id: queue_processing(event_id))
    return len(ids)
