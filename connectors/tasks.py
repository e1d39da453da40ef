"""django-q2 task functions. Each one is thin, and safe to run twice."""

import logging

from .models import Connector, SyncRun
from .outbox import deliver_pending
from .sync import run_stream

logger = logging.getLogger(__name__)


def run_stream_task(
    connector_id: int, stream: str, trigger: str = "schedule", **options
):
    """Run one stream of one connector; return a one-line result for the task list."""
    connector = Connector.objects.filter(pk=connector_id).first()
    if connector is None:
        return f"Connector {connector_id} no longer exists; nothing to run."
    if connector.status in (
        Connector.Status.PAUSED,
        Connector.Status.NEEDS_REAUTHORIZATION,
    ):
        return f"{connector}: {connector.get_status_display().lower()}, not run."
    run = run_stream(connector, stream, trigger, **options)
    return summarize(run)


def summarize(run: SyncRun) -> str:
    line = (
        f"{run.connector} {run.stream}: {run.get_status_display().lower()}, "
        f"fetched {run.fetched}, created {run.created}, updated {run.updated}, "
        f"failed {run.failed}"
    )
    if run.error:
        line += f" ({run.error})"
    return line


def deliver_outbox(connector_id: int) -> str:
    connector = Connector.objects.filter(pk=connector_id).first()
    if connector is None:
        return f"Connector {connector_id} no longer exists."
    result = deliver_pending(connector)
    return (
        f"{connector}: {result.delivered} delivered, {result.failed} failed, "
        f"{result.retrying} to retry"
    )


def identify_worker(delay: float = 0.0) -> str:
    """Return which host and process ran this task, after ``delay`` seconds.

    Ops use it to check that every cluster on every machine takes work:
    ``async_task("connectors.tasks.identify_worker")``.
    """
    import os
    import socket
    import time

    time.sleep(delay)
    return f"{socket.gethostname()}:{os.getpid()}"
