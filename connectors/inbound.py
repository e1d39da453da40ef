"""Shared pieces of the views that channels call: size limits, storing events.

Every inbound endpoint checks the body size and the caller's credentials
before it parses anything, stores the raw event once by the channel's id,
answers at once, and leaves the processing to a django-q2 task.
"""

import logging

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from .models import Connector, InboundEvent

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    pass


def read_body(request: HttpRequest, limit: int = MAX_BODY_BYTES) -> bytes:
    """Return the raw body; raise :class:`BodyTooLarge` past ``limit`` bytes."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLarge
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLarge
    return body


def store_event(
    connector: Connector, external_id: str, event_type: str, body: bytes
) -> tuple[InboundEvent, bool]:
    """Store an event once by its id; return it and whether it was new.

    A new event's processing task is queued when the transaction commits.
    """
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                connector=connector,
                external_id=external_id[:200],
                event_type=event_type[:100],
                body=body.decode("utf-8", errors="replace"),
            )
    except IntegrityError:
        existing = InboundEvent.objects.get(
            connector=connector, external_id=external_id
        )
        return existing, False
    transaction.on_commit(lambda: queue_processing(event.pk))
    return event, True


def queue_processing(event_id: int) -> None:
    from django_q.tasks import async_task

    async_task(
        "connectors.events.process_event", event_id, task_name=f"event-{event_id}"
    )
