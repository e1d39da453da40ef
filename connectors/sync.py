"""The sync engine: one leased run of one stream of one connector.

A run takes a lease on its :class:`~connectors.models.SyncState` row with a
conditional UPDATE, so a second worker that starts the same stream while the
first is alive ends at once as "skipped: already running". A lease whose
worker died expires after ``settings.SYNC_LEASE_SECONDS``, and the next run
takes it over, resuming from the last committed cursor. The run's outcome is sorted by
error class: a retryable failure counts towards "needs attention", an
authentication failure stops the connector at once.
"""

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .errors import AuthenticationError, NotActivatedError, RetryableError
from .logging import redact
from .models import Connector, Stream, SyncRun, SyncState

logger = logging.getLogger(__name__)

# Failed runs in a row before the connector turns "needs attention".
ATTENTION_AFTER_FAILURES = 3
ALREADY_RUNNING = "already running"


def lease_owner() -> str:
    """Name this worker thread, for the lease and for logs."""
    return (
        f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:"
        f"{uuid.uuid4().hex[:6]}"
    )


def acquire_lease(connector: Connector, stream: str, owner: str) -> SyncState | None:
    """Take the stream's lease for ``owner``; return the state, or None if taken."""
    state, _ = SyncState.objects.get_or_create(connector=connector, stream=stream)
    now = timezone.now()
    acquired = (
        SyncState.objects.filter(pk=state.pk)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .update(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=settings.SYNC_LEASE_SECONDS),
        )
    )
    if not acquired:
        return None
    state.refresh_from_db()
    return state


def renew_lease(state: SyncState) -> None:
    """Extend the lease while a long run makes progress."""
    SyncState.objects.filter(pk=state.pk, lease_owner=state.lease_owner).update(
        lease_expires_at=timezone.now() + timedelta(seconds=settings.SYNC_LEASE_SECONDS)
    )


def release_lease(state: SyncState) -> None:
    SyncState.objects.filter(pk=state.pk, lease_owner=state.lease_owner).update(
        lease_owner="", lease_expires_at=None
    )


class RunContext:
    """The connector, stream state and run that a stream function works with."""

    def __init__(self, connector: Connector, state: SyncState, run: SyncRun):
        self.connector = connector
        self.state = state
        self.run = run
        # A stream sets this once a data call to the channel succeeds. That
        # proves the connection works, so "awaiting activation" can end.
        self.made_data_call = False
        self._last_save = 0.0

    def count(self, **changes: int) -> None:
        for name, amount in changes.items():
            setattr(self.run, name, getattr(self.run, name) + amount)

    def save_progress(self, progress: str = "", *, force: bool = False) -> None:
        """Store the counts and renew the lease (at most once a second)."""
        if progress:
            self.run.progress = progress[:200]
        now = time.monotonic()
        if not force and now - self._last_save < 1:
            return
        self._last_save = now
        self.run.save(
            update_fields=[
                "fetched",
                "created",
                "updated",
                "unchanged",
                "failed",
                "progress",
            ]
        )
        renew_lease(self.state)

    def save_cursor(self, *, cursor: str | None = None, cursor_time=None) -> None:
        """Store the cursor; call it inside the transaction that commits the records."""
        fields = {}
        if cursor is not None:
            self.state.cursor = cursor
            fields["cursor"] = cursor
        if cursor_time is not None:
            self.state.cursor_time = cursor_time
            fields["cursor_time"] = cursor_time
        if fields:
            SyncState.objects.filter(pk=self.state.pk).update(**fields)


def run_stream(connector: Connector, stream: str, trigger: str, **options) -> SyncRun:
    """Run one stream of ``connector`` once, under its lease, and record the run.

    Never raises for a channel failure: the returned :class:`SyncRun` records
    how the run ended. Options are passed to the stream function.
    """
    from .streams import stream_function

    function = stream_function(connector, stream)
    owner = lease_owner()
    state = acquire_lease(connector, stream, owner)
    if state is None:
        logger.info("Connector %s: %s stream %s", connector.pk, stream, ALREADY_RUNNING)
        return SyncRun.objects.create(
            connector=connector,
            stream=stream,
            trigger=trigger,
            status=SyncRun.Status.SKIPPED,
            finished_at=timezone.now(),
            error=f"Skipped: {ALREADY_RUNNING} in another worker.",
        )
    run = SyncRun.objects.create(connector=connector, stream=stream, trigger=trigger)
    extra = {"connector": connector.pk, "stream": stream, "run": run.pk}
    logger.info(
        "Connector %s: %s run %s started", connector.pk, stream, run.pk, extra=extra
    )
    context = RunContext(connector, state, run)
    try:
        function(context, **options)
    except Exception as exc:  # noqa: BLE001 - every failure ends the run, sorted below
        _finish_failed(context, exc, extra)
    else:
        _finish_succeeded(context, extra)
    finally:
        release_lease(state)
    return run


def _finish_succeeded(context: RunContext, extra: dict) -> None:
    run, state, connector = context.run, context.state, context.connector
    run.status = SyncRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.save()
    SyncState.objects.filter(pk=state.pk).update(
        last_success_at=run.finished_at, consecutive_failures=0
    )
    if (
        connector.status
        in (
            Connector.Status.NEEDS_ATTENTION,
            Connector.Status.AWAITING_ACTIVATION,
        )
        and context.made_data_call
    ):
        connector.set_status(Connector.Status.CONNECTED)
    logger.info(
        "Connector %s: %s run %s succeeded: fetched %d, created %d, updated %d, "
        "failed %d",
        connector.pk,
        run.stream,
        run.pk,
        run.fetched,
        run.created,
        run.updated,
        run.failed,
        extra=extra,
    )


def _finish_failed(context: RunContext, exc: Exception, extra: dict) -> None:
    run, state, connector = context.run, context.state, context.connector
    message = redact(str(exc)) or exc.__class__.__name__
    run.status = SyncRun.Status.FAILED
    run.finished_at = timezone.now()
    run.error = message
    run.save()
    with transaction.atomic():
        state = SyncState.objects.select_for_update().get(pk=state.pk)
        state.consecutive_failures += 1
        state.last_failure_at = run.finished_at
        state.last_error = message
        state.save(
            update_fields=["consecutive_failures", "last_failure_at", "last_error"]
        )
    if isinstance(exc, NotActivatedError):
        connector.set_status(Connector.Status.AWAITING_ACTIVATION, message)
        logger.warning(
            "Connector %s: %s: %s", connector.pk, run.stream, message, extra=extra
        )
    elif isinstance(exc, AuthenticationError):
        connector.set_status(Connector.Status.NEEDS_ATTENTION, message)
        logger.error(
            "Connector %s: %s: %s", connector.pk, run.stream, message, extra=extra
        )
    elif isinstance(exc, RetryableError):
        if state.consecutive_failures >= ATTENTION_AFTER_FAILURES:
            connector.set_status(
                Connector.Status.NEEDS_ATTENTION,
                f"{state.consecutive_failures} {run.stream} runs failed in a row; "
                f"last error: {message}",
            )
        logger.warning(
            "Connector %s: %s run %s failed, will run again: %s",
            connector.pk,
            run.stream,
            run.pk,
            message,
            extra=extra,
        )
    else:
        logger.exception(
            "Connector %s: %s run %s failed: %s",
            connector.pk,
            run.stream,
            run.pk,
            message,
            extra=extra,
        )


#: Streams that run only on request, never as part of a cycle.
ON_DEMAND_STREAMS = {Stream.BACKFILL}


def enabled_streams(connector: Connector) -> list[str]:
    """Return the connector's enabled streams, in the order a cycle runs them."""
    from .streams import streams_for

    return [
        stream
        for stream in streams_for(connector)
        if stream not in ON_DEMAND_STREAMS and is_enabled(connector, stream)
    ]


def is_enabled(connector: Connector, stream: str) -> bool:
    switches = {
        Stream.LOCATIONS: connector.locations_enabled,
        Stream.ORDERS: connector.orders_enabled,
        Stream.ROUTING: connector.orders_enabled,
        Stream.FULFILLMENTS: connector.fulfillments_enabled,
        Stream.RETURNS: connector.returns_direction != Connector.ReturnsDirection.OFF,
        Stream.INVENTORY: connector.inventory_enabled,
        # Only TikTok Shop connectors sync their catalog.
        Stream.CATALOG: (
            connector.kind == Connector.Kind.TIKTOK_SHOP
            and connector.tiktok_catalog_mode != Connector.CatalogMode.DISABLED
        ),
    }
    return switches.get(stream, True)
