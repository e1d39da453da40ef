"""The figures on the admin's front page: one query per panel.

:func:`build_dashboard` reads each connector's state, the last success and
failure of each of its streams, the open order exceptions by kind, today's
orders per connector, and orders and failed sync runs per day over the last
two weeks. It writes nothing.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from connectors.logging import redact
from connectors.models import Connector, SyncRun, SyncState
from orders.models import Order, OrderException

#: Days shown on the chart, today included.
CHART_DAYS = 14


@dataclass
class ConnectorPanel:
    connector: Connector
    streams: list[SyncState] = field(default_factory=list)
    orders_today: int = 0
    doctor: object = None


@dataclass
class DayCount:
    day: date
    orders: int
    failed_runs: int


@dataclass
class Dashboard:
    connectors: list[ConnectorPanel]
    exceptions: list[tuple[str, int]]
    orders_today: int
    days: list[DayCount]
    doctor_available: bool

    @property
    def open_exceptions(self) -> int:
        return sum(count for _, count in self.exceptions)

    @property
    def chart_max(self) -> int:
        return max(
            [1, *(d.orders for d in self.days), *(d.failed_runs for d in self.days)]
        )


def _start_of_local_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _doctor_reports() -> dict[int, object] | None:
    """Return the doctor's last report per connector id, or None without it."""
    try:
        from connectors.doctor import latest_reports
    except ImportError:
        return None
    return {report.connector_id: report for report in latest_reports()}


def _per_day(queryset, field_name: str, first_day: date) -> dict[date, int]:
    rows = (
        queryset.filter(**{f"{field_name}__gte": _start_of_local_day(first_day)})
        .annotate(day=TruncDate(field_name, tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {row["day"]: row["count"] for row in rows}


def build_dashboard() -> Dashboard:
    """Collect the dashboard's figures in a fixed number of queries."""
    today = timezone.localdate()
    start_today = _start_of_local_day(today)
    first_day = today - timedelta(days=CHART_DAYS - 1)

    connectors = list(Connector.objects.order_by("name"))
    panels = {connector.pk: ConnectorPanel(connector) for connector in connectors}
    for state in SyncState.objects.order_by("connector_id", "stream"):
        state.last_error = redact(state.last_error)
        panels[state.connector_id].streams.append(state)

    today_counts = (
        Order.objects.filter(placed_at__gte=start_today)
        .values("connector_id")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in today_counts:
        panels[row["connector_id"]].orders_today = row["count"]

    reports = _doctor_reports()
    for connector_id, report in (reports or {}).items():
        if connector_id in panels:
            panels[connector_id].doctor = report

    labels = dict(OrderException.Kind.choices)
    exceptions = [
        (labels.get(row["kind"], row["kind"]), row["count"])
        for row in OrderException.objects.filter(resolved_at__isnull=True)
        .values("kind")
        .annotate(count=Count("pk"))
        .order_by("kind")
    ]

    orders_per_day = _per_day(Order.objects.all(), "placed_at", first_day)
    failed_per_day = _per_day(
        SyncRun.objects.filter(Q(status=SyncRun.Status.FAILED)), "started_at", first_day
    )
    days = [
        DayCount(
            day,
            orders_per_day.get(day, 0),
            failed_per_day.get(day, 0),
        )
        for day in (first_day + timedelta(days=n) for n in range(CHART_DAYS))
    ]
    return Dashboard(
        connectors=list(panels.values()),
        exceptions=exceptions,
        orders_today=sum(panel.orders_today for panel in panels.values()),
        days=days,
        doctor_available=reports is not None,
    )
