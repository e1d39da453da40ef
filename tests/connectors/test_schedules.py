from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django_q.models import Schedule

from connectors.models import Connector
from connectors.schedules import (
    ensure_daily_schedule,
    next_local_time,
    schedule_name,
    sync_schedules,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def connector():
    return Connector.objects.create(
        kind=Connector.Kind.THG,
        name="THG schedules",
        status=Connector.Status.CONNECTED,
        orders_interval_minutes=3,
    )


def test_schedules_follow_enabled_streams(connector):
    created, updated, deleted = sync_schedules(connector)

    names = set(Schedule.objects.values_list("name", flat=True))
    assert names == {
        schedule_name(connector, stream)
        for stream in [
            "locations",
            "orders",
            "routing",
            "fulfillments",
            "returns",
            "inventory",
        ]
    }
    assert (created, updated, deleted) == (6, 0, 0)
    orders = Schedule.objects.get(name=schedule_name(connector, "orders"))
    assert orders.minutes == 3
    assert orders.schedule_type == Schedule.MINUTES
    assert orders.func == "connectors.tasks.run_stream_task"


def test_changed_interval_and_switched_off_stream(connector):
    sync_schedules(connector)
    connector.orders_interval_minutes = 10
    connector.inventory_enabled = False
    connector.save()

    created, updated, deleted = sync_schedules(connector)

    assert (created, deleted) == (0, 1)
    assert Schedule.objects.get(name=schedule_name(connector, "orders")).minutes == 10
    assert not Schedule.objects.filter(
        name=schedule_name(connector, "inventory")
    ).exists()


def test_paused_connector_has_no_schedules(connector):
    sync_schedules(connector)
    connector.status = Connector.Status.PAUSED
    connector.save()

    sync_schedules(connector)

    assert not Schedule.objects.filter(name__startswith="sync:").exists()


def test_sync_schedules_is_idempotent(connector):
    sync_schedules(connector)

    assert sync_schedules(connector) == (0, 0, 0)


def test_next_local_time_is_today_or_tomorrow(settings):
    settings.TIME_ZONE = "Europe/London"
    now = datetime(2027, 3, 27, 7, 0, tzinfo=LONDON)

    assert next_local_time(time(6, 0), now) == datetime(
        2027, 3, 28, 6, 0, tzinfo=LONDON
    )
    assert next_local_time(time(8, 0), now) == datetime(
        2027, 3, 27, 8, 0, tzinfo=LONDON
    )


@pytest.mark.parametrize(
    ("first", "second", "hours"),
    [
        # Clocks go forward on 28 March 2027 and back on 31 October 2027.
        (datetime(2027, 3, 27, 6, 0), datetime(2027, 3, 28, 6, 0), 23),
        (datetime(2027, 10, 30, 6, 0), datetime(2027, 10, 31, 6, 0), 25),
    ],
)
def test_daily_schedule_keeps_local_time_across_dst(
    settings, monkeypatch, first, second, hours
):
    settings.TIME_ZONE = "Europe/London"
    # django-q2 reads TIME_ZONE once, when it is imported.
    monkeypatch.setattr("django_q.conf.Conf.TIME_ZONE", "Europe/London")
    schedule = ensure_daily_schedule(
        "report:daily", "connectors.tasks.summarize", time(6)
    )
    schedule.next_run = first.replace(tzinfo=LONDON)

    following = schedule.calculate_next_run()

    assert following.astimezone(LONDON) == second.replace(tzinfo=LONDON)
    elapsed = following.astimezone(UTC) - schedule.next_run.astimezone(UTC)
    assert elapsed == timedelta(hours=hours)
