"""Delivering what the hub owes channels, from the outbox.

Each :class:`~connectors.models.OutboxMessage` was written in the same
transaction as the change that caused it. Delivery claims the due messages
of one connector with conditional updates, hands each to its kind's
handler, and marks it delivered only when the channel accepted it. A
retryable failure puts it back with a later ``next_attempt_at``; a permanent
one marks it failed, and the handler records the channel's reason on the
hub record it concerns.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module

from django.utils import timezone

from .errors import AuthenticationError, PermanentError, RetryableError
from .logging import redact
from .models import Connector, OutboxMessage
from .retry import backoff_delay

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
# How long a claimed message is hidden from other workers while it is sent.
CLAIM_SECONDS = 120
MAX_ATTEMPTS = 20

_HANDLER_MODULES = {
    Connector.Kind.THG: "connectors.thg.outbox",
    Connector.Kind.TIKTOK_SHOP: "connectors.tiktok.outbox",
}


@dataclass
class DeliveryResult:
    delivered: int = 0
    failed: int = 0
    retrying: int = 0


def _claim(connector: Connector, kinds) -> list[OutboxMessage]:
    """Take up to a batch of due messages, so no other worker sends them.

    The claim is a conditional UPDATE that moves ``next_attempt_at`` past the
    claim timeout; a worker that dies mid-delivery leaves the messages to be
    claimed again after that. No transaction stays open across the HTTP
    calls that follow.
    """
    now = timezone.now()
    due = OutboxMessage.objects.filter(
        connector=connector,
        status=OutboxMessage.Status.PENDING,
        next_attempt_at__lte=now,
    )
    if kinds:
        due = due.filter(kind__in=kinds)
    candidates = list(
        due.order_by("pk").values_list("pk", "next_attempt_at")[:BATCH_SIZE]
    )
    claimed_until = now + timedelta(seconds=CLAIM_SECONDS)
    claimed = []
    for pk, next_attempt_at in candidates:
        updated = OutboxMessage.objects.filter(
            pk=pk,
            status=OutboxMessage.Status.PENDING,
            next_attempt_at=next_attempt_at,
        ).update(next_attempt_at=claimed_until)
        if updated:
            claimed.append(pk)
    return list(OutboxMessage.objects.filter(pk__in=claimed).order_by("pk"))


def deliver_pending(connector: Connector, kinds=None, *, client=None) -> DeliveryResult:
    """Deliver every due outbox message of ``connector``; return the counts.

    Raises :class:`AuthenticationError` (after putting the message back) so
    the caller stops calling a channel that refuses the credentials.
    """
    module = import_module(_HANDLER_MODULES[connector.kind])
    client = client or module.client_for(connector)
    result = DeliveryResult()
    while True:
        batch = _claim(connector, kinds)
        if not batch:
            return result
        for message in batch:
            _deliver_one(module.HANDLERS[message.kind], client, message, result)


def _deliver_one(handler, client, message: OutboxMessage, result: DeliveryResult):
    message.attempts += 1
    try:
        response = handler(client, message)
    except RetryableError as exc:
        _retry_later(message, exc, result)
        return
    except AuthenticationError as exc:
        message.last_error = redact(str(exc))
        message.next_attempt_at = timezone.now()
        message.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        raise
    except PermanentError as exc:
        message.status = OutboxMessage.Status.FAILED
        message.last_error = redact(str(exc))
        message.save(update_fields=["attempts", "status", "last_error"])
        result.failed += 1
        logger.warning(
            "Connector %s: %s %s rejected: %s",
            message.connector_id,
            message.kind,
            message.reference,
            message.last_error,
        )
        return
    message.status = OutboxMessage.Status.DELIVERED
    message.delivered_at = timezone.now()
    message.response = response
    message.last_error = ""
    message.save(
        update_fields=["attempts", "status", "delivered_at", "response", "last_error"]
    )
    result.delivered += 1


def _retry_later(message: OutboxMessage, exc: RetryableError, result) -> None:
    message.last_error = redact(str(exc))
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxMessage.Status.FAILED
        result.failed += 1
        logger.error(
            "Connector %s: %s %s failed %d times, giving up: %s",
            message.connector_id,
            message.kind,
            message.reference,
            message.attempts,
            message.last_error,
        )
    else:
        delay = backoff_delay(message.attempts, exc.retry_after)
        message.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        result.retrying += 1
        logger.warning(
            "Connector %s: %s %s failed, retry in %.0f s: %s",
            message.connector_id,
            message.kind,
            message.reference,
            delay,
            message.last_error,
        )
    message.save(update_fields=["attempts", "status", "last_error", "next_attempt_at"])
