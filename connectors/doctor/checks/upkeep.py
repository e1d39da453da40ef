"""Checks of the machinery: stream runs, their schedules and the outbox."""

from collections import Counter
from datetime import timedelta

from django.urls import reverse
from django_q.models import Schedule

from connectors.logging import redact
from connectors.models import OutboxMessage, SyncState
from connectors.schedules import PREFIX, wanted_schedules
from connectors.sync import ATTENTION_AFTER_FAILURES

from ..findings import EXAMPLES, Finding, Severity, counted

STREAMS = "stream_freshness"
SCHEDULES = "schedules"
OUTBOX = "outbox"

#: A pending message with this many failed attempts is failing repeatedly.
OUTBOX_ATTEMPTS = 3
SCHEDULE_FUNC = "connectors.tasks.run_stream_task"


def _stream_of(schedule_name: str) -> str:
    return schedule_name.rsplit(":", 1)[1]


def check_stream_freshness(ctx) -> list[Finding]:
    """Find enabled streams with no successful run within twice their interval."""
    connector = ctx.connector
    wanted = wanted_schedules(connector)
    if not wanted:
        return [
            Finding(
                check=STREAMS,
                code="streams_not_scheduled",
                severity=Severity.INFO,
                title="Streams not running",
                message=f"{connector.name} is "
                f"'{connector.get_status_display().lower()}', so no stream runs "
                "on a schedule.",
                next_step="Finish the set-up (see 'What is left to do' on the "
                "connector page), or unpause the connector.",
                evidence={"status": connector.status},
            )
        ]
    states = {
        state.stream: state for state in SyncState.objects.filter(connector=connector)
    }
    findings = []
    for name, minutes in wanted.items():
        stream = _stream_of(name)
        state = states.get(stream)
        allowed = timedelta(minutes=2 * minutes)
        last_success = state.last_success_at if state else None
        since = last_success or connector.created_at
        if ctx.now - since <= allowed:
            continue
        failures = state.consecutive_failures if state else 0
        last_error = redact(state.last_error) if state and state.last_error else ""
        when = (
            f"last succeeded at {last_success:%Y-%m-%d %H:%M}"
            if last_success
            else "has never succeeded"
        )
        next_step = (
            "Fix the cause named in the last error, then run the admin action "
            "'Run sync now' on the connector."
            if last_error
            else "Check that a django-q2 worker runs (python manage.py qcluster) "
            "and that the stream's schedule exists (see the schedules check)."
        )
        findings.append(
            Finding(
                check=STREAMS,
                code="stream_stale",
                severity=Severity.ERROR
                if failures >= ATTENTION_AFTER_FAILURES
                else Severity.WARNING,
                title="Stream with no recent successful run",
                message=f"The {stream} stream runs every {minutes} minutes but "
                f"{when}"
                + (f"; {failures} runs in a row failed" if failures else "")
                + ".",
                next_step=next_step,
                evidence={
                    "stream": stream,
                    "interval_minutes": minutes,
                    "last_success_at": last_success,
                    "consecutive_failures": failures,
                    "last_failure_at": state.last_failure_at if state else None,
                    "last_error": last_error or None,
                },
                links=(
                    (
                        "Sync runs",
                        reverse("admin:connectors_syncrun_changelist")
                        + f"?connector__id__exact={connector.pk}&stream={stream}",
                    ),
                ),
            )
        )
    return findings


def check_schedules(ctx) -> list[Finding]:
    """Compare the connector's django-q2 schedules with its enabled streams."""
    connector = ctx.connector
    wanted = wanted_schedules(connector)
    existing = {
        schedule.name: schedule
        for schedule in Schedule.objects.filter(
            name__startswith=f"{PREFIX}:{connector.pk}:"
        )
    }
    missing = sorted(name for name in wanted if name not in existing)
    mismatched = sorted(
        name
        for name, minutes in wanted.items()
        if name in existing
        and (
            existing[name].minutes != minutes
            or existing[name].func != SCHEDULE_FUNC
            or existing[name].repeats == 0
        )
    )
    extra = sorted(name for name in existing if name not in wanted)
    resync = (
        "Save the connector in the admin: saving brings its schedules in line "
        "with its streams (connectors.schedules.sync_schedules)."
    )
    findings = []
    if missing:
        findings.append(
            Finding(
                check=SCHEDULES,
                code="schedule_missing",
                severity=Severity.ERROR,
                title="Schedules missing for enabled streams",
                message=f"No django-q2 schedule for "
                f"{counted(len(missing), 'enabled stream')} of {connector.name}, "
                "so they never run on their own: "
                + ", ".join(_stream_of(name) for name in missing)
                + ".",
                next_step=resync,
                evidence={"missing": missing},
            )
        )
    if mismatched or extra:
        findings.append(
            Finding(
                check=SCHEDULES,
                code="schedule_mismatch",
                severity=Severity.WARNING,
                title="Schedules missing for enabled streams",
                message=f"Schedules of {connector.name} out of line with its "
                f"settings: {counted(len(mismatched), 'schedule')} with another "
                "interval or task, or no runs left, and "
                f"{counted(len(extra), 'schedule')} for streams switched off.",
                next_step=resync,
                evidence={
                    "mismatched": [
                        {
                            "name": name,
                            "minutes": existing[name].minutes,
                            "expected_minutes": wanted[name],
                            "repeats": existing[name].repeats,
                        }
                        for name in mismatched
                    ],
                    "switched_off": extra,
                },
            )
        )
    return findings


def check_outbox(ctx) -> list[Finding]:
    """Find pushes the channel keeps rejecting."""
    connector = ctx.connector
    messages = OutboxMessage.objects.filter(connector=connector)
    failed = messages.filter(status=OutboxMessage.Status.FAILED)
    retrying = messages.filter(
        status=OutboxMessage.Status.PENDING, attempts__gte=OUTBOX_ATTEMPTS
    )
    url = reverse("admin:connectors_outboxmessage_changelist")
    retry = (
        "Fix the cause named in the last error, then tick the messages under "
        "Connectors → Outbox messages and run 'Retry now'."
    )
    findings = []
    for queryset, code, severity, status, what in (
        (
            failed,
            "outbox_failed",
            Severity.ERROR,
            "failed",
            "rejected for good by the channel",
        ),
        (
            retrying,
            "outbox_retrying",
            Severity.WARNING,
            "pending",
            f"still retried after {OUTBOX_ATTEMPTS} or more failed attempts",
        ),
    ):
        count = queryset.count()
        if not count:
            continue
        findings.append(
            Finding(
                check=OUTBOX,
                code=code,
                severity=severity,
                title="Outbox items failing repeatedly",
                message=f"{counted(count, 'push', 'pushes')} to {connector.name} "
                f"{what}.",
                next_step=retry,
                evidence={
                    "count": count,
                    "by_kind": dict(Counter(queryset.values_list("kind", flat=True))),
                    "examples": [
                        {
                            "kind": message.kind,
                            "reference": message.reference,
                            "attempts": message.attempts,
                            "last_error": redact(message.last_error),
                            "next_attempt_at": message.next_attempt_at,
                        }
                        for message in queryset.order_by("created_at")[:EXAMPLES]
                    ],
                },
                links=(
                    (
                        "Outbox messages",
                        f"{url}?connector__id__exact={connector.pk}&status={status}",
                    ),
                ),
            )
        )
    return findings
