"""django-q2 schedules derived from connector settings.

The app owns these schedules: :func:`sync_schedules` creates one per enabled
(connector, stream) with the stream's interval, updates changed intervals and
deletes the ones no longer wanted. Nobody needs to make them by hand.
"""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from .models import Connector, Stream
from .sync import enabled_streams

PREFIX = "sync"
_INTERVAL_FIELDS = {
    Stream.LOCATIONS: "locations_interval_minutes",
    Stream.ORDERS: "orders_interval_minutes",
    Stream.ROUTING: "orders_interval_minutes",
    Stream.FULFILLMENTS: "fulfillments_interval_minutes",
    Stream.RETURNS: "returns_interval_minutes",
    Stream.INVENTORY: "inventory_interval_minutes",
}
#: Minutes between runs of the streams that have no interval setting.
_FIXED_INTERVALS = {Stream.CATALOG: 30}


def schedule_name(connector: Connector, stream: str) -> str:
    return f"{PREFIX}:{connector.pk}:{stream}"


def wanted_schedules(connector: Connector) -> dict[str, int]:
    """Map schedule names to their interval in minutes for one connector."""
    if connector.status in (
        Connector.Status.DRAFT,
        Connector.Status.PAUSED,
        Connector.Status.NEEDS_REAUTHORIZATION,
    ):
        return {}
    wanted = {}
    for stream in enabled_streams(connector):
        field = _INTERVAL_FIELDS.get(stream)
        minutes = (
            getattr(connector, field) if field else _FIXED_INTERVALS.get(stream, 15)
        )
        wanted[schedule_name(connector, stream)] = max(int(minutes), 1)
    return wanted


@transaction.atomic
def sync_schedules(connector: Connector | None = None) -> tuple[int, int, int]:
    """Bring the sync schedules in line with the connectors; return
    (created, updated, deleted)."""
    connectors = [connector] if connector else list(Connector.objects.all())
    wanted = {}
    streams = {}
    for item in connectors:
        for name, minutes in wanted_schedules(item).items():
            wanted[name] = (item, minutes)
            streams[name] = name.rsplit(":", 1)[1]
    existing = Schedule.objects.filter(name__startswith=f"{PREFIX}:")
    if connector:
        existing = existing.filter(name__startswith=f"{PREFIX}:{connector.pk}:")
    existing = {schedule.name: schedule for schedule in existing}
    created = updated = 0
    for name, (item, minutes) in wanted.items():
        schedule = existing.pop(name, None)
        args = f"{item.pk}, {streams[name]!r}"
        if schedule is None:
            Schedule.objects.create(
                name=name,
                func="connectors.tasks.run_stream_task",
                args=args,
                schedule_type=Schedule.MINUTES,
                minutes=minutes,
                repeats=-1,
            )
            created += 1
        elif schedule.minutes != minutes or schedule.args != args:
            schedule.minutes = minutes
            schedule.args = args
            schedule.save(update_fields=["minutes", "args"])
            updated += 1
    deleted = len(existing)
    Schedule.objects.filter(pk__in=[s.pk for s in existing.values()]).delete()
    return created, updated, deleted


def next_local_time(at: time, now: datetime | None = None) -> datetime:
    """Return the next moment the wall clock in ``TIME_ZONE`` shows ``at``."""
    now = timezone.localtime(now)
    candidate = timezone.make_aware(datetime.combine(now.date(), at))
    if candidate <= now:
        candidate = timezone.make_aware(
            datetime.combine(now.date() + timedelta(days=1), at)
        )
    return candidate


def ensure_daily_schedule(name: str, func: str, at: time, **fields) -> Schedule:
    """Create or update a schedule that runs ``func`` every day at ``at``
    local time (``TIME_ZONE``).

    django-q2's DAILY schedules keep their wall-clock time across daylight
    saving changes: each next run is a day later in local time, not 24
    hours later.
    """
    schedule, created = Schedule.objects.get_or_create(
        name=name,
        defaults={
            "func": func,
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
            "next_run": next_local_time(at),
            **fields,
        },
    )
    if not created and (schedule.func != func or schedule.schedule_type != "D"):
        schedule.func = func
        schedule.schedule_type = Schedule.DAILY
        schedule.next_run = next_local_time(at)
        schedule.save(update_fields=["func", "schedule_type", "next_run"])
    return schedule
