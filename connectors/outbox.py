"""Delivering what the hub owes channels, from the outbox.

Each :class:`~connectors.models.OutboxMessage` was written in the same
transaction as the change that caused it. Delivery claims the due messages
of one connector with conditional updates, hands each to its kind's
handler, and marks it delivered only when the channel accepted it. A
retryable failure puts it back with a later ``next_attempt_at``; a permanent
one marks it failed, and the handler records the channel's reason on the
hub record it concerns.

Messages of the kinds in :data:`PARALLEL_KINDS` (order acknowledgements:
one idempotent call per order, with no order among them) are sent by a few
threads at once, because each call mostly waits on the channel. Every other
kind is sent one message at a time, in primary key order.
"""

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module

from django.db import connection, connections
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
#: Kinds whose messages are independent of each other and idempotent at the
#: channel, so several may be in flight at once.
PARALLEL_KINDS = frozenset({OutboxMessage.Kind.ACKNOWLEDGEMENT})
#: Threads that send messages of the parallel kinds; each opens its own
#: database connection and closes it when the batch is done.
DELIVERY_THREADS = 4
#: Maximum sends started per second of parallel messages, all threads
#: together, because THG allows 10 requests a second per client and returns
#: 429 above that. None means no cap.
PARALLEL_MAX_PER_SECOND: float | None = 10

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


def deliver_pending(
    connector: Connector,
    kinds=None,
    *,
    client=None,
    threads: int = DELIVERY_THREADS,
) -> DeliveryResult:
    """Deliver every due outbox message of ``connector``; return the counts.

    Messages of :data:`PARALLEL_KINDS` go out on up to ``threads`` threads
    that share ``client``. They go one at a time on SQLite, which has one
    writer at a time, and inside the caller's transaction, whose uncommitted
    rows the threads' connections cannot see. Raises :class:`AuthenticationError`
    (after putting the message back) so the caller stops calling a channel
    that refuses the credentials.
    """
    module = import_module(_HANDLER_MODULES[connector.kind])
    client = client or module.client_for(connector)
    result = DeliveryResult()
    side_by_side = (
        threads > 1
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )
    while True:
        batch = _claim(connector, kinds)
        if not batch:
            return result
        parallel, in_order = [], []
        for message in batch:
            if side_by_side and message.kind in PARALLEL_KINDS:
                parallel.append(message)
            else:
                in_order.append(message)
        for message in in_order:
            _deliver_one(module.HANDLERS[message.kind], client, message, result)
        if parallel:
            _deliver_side_by_side(module.HANDLERS, client, parallel, result, threads)


def _deliver_side_by_side(handlers, client, messages, result, threads: int) -> None:
    """Deliver ``messages`` on up to ``threads`` threads; add to ``result``.

    Sends start at most :data:`PARALLEL_MAX_PER_SECOND` a second. The first
    exception a thread raises stops the others from taking more messages and
    is raised here once all have finished. Messages not taken stay claimed
    until the claim expires, as after a failure in the one-at-a-time loop.
    """
    waiting = queue.SimpleQueue()
    for message in messages:
        waiting.put(message)
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []
    pace = _Pace(PARALLEL_MAX_PER_SECOND)

    def work() -> None:
        own = DeliveryResult()
        try:
            while not stop.is_set():
                try:
                    message = waiting.get_nowait()
                except queue.Empty:
                    return
                pace.wait()
                try:
                    _deliver_one(handlers[message.kind], client, message, own)
                except BaseException as exc:
                    stop.set()
                    with lock:
                        errors.append(exc)
                    return
        finally:
            with lock:
                result.delivered += own.delivered
                result.failed += own.failed
                result.retrying += own.retrying
            # Only this thread's connections: Django keeps them per thread.
            connections.close_all()

    workers = [
        threading.Thread(target=work, name=f"outbox-{number}")
        for number in range(min(threads, len(messages)))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]


class _Pace:
    """Spaces the starts of the threads' sends ``1 / per_second`` apart."""

    def __init__(self, per_second: float | None):
        self._interval = 1 / per_second if per_second else 0.0
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            start = max(self._next, time.monotonic())
            self._next = start + self._interval
        time.sleep(max(start - time.monotonic(), 0))


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
