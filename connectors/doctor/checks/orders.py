"""Checks of what comes in: the orders' date window, returns, and
exceptions that wait for a person."""

from collections import Counter
from datetime import UTC, datetime, time, timedelta

from django.db.models import Max, Min
from django.urls import reverse

from connectors.models import Connector, Stream, SyncState
from orders.models import Fulfillment, Order, OrderException, Return

from ..findings import EXAMPLES, Finding, Severity, counted

ORDER_WINDOW = "order_window"
RETURNS = "returns"
OLD_EXCEPTIONS = "old_exceptions"

MISSING_RANGE = "Orders missing from a date range"
#: An exception open this long needs a person.
EXCEPTION_AGE = timedelta(days=1)


#: Text the THG client puts in every HistoryLimitExceeded error message.
_HISTORY_LIMIT_TEXTS = ("HistoryLimitExceeded", "keeps 6 months of history")


def _is_history_limit(error: str) -> bool:
    return any(text in error for text in _HISTORY_LIMIT_TEXTS)


def _history_limit(ctx):
    from connectors.forms import THG_HISTORY_DAYS

    return THG_HISTORY_DAYS, ctx.now - timedelta(days=THG_HISTORY_DAYS)


def _first_pull_start(connector: Connector, now) -> datetime:
    """Return where the connector's first pull started (or will start)."""
    from connectors.thg.streams import DEFAULT_FIRST_PULL

    if connector.orders_start_date:
        return datetime.combine(connector.orders_start_date, time.min, tzinfo=UTC)
    first_run = connector.sync_runs.filter(stream=Stream.ORDERS).aggregate(
        first=Min("started_at")
    )["first"]
    return (first_run or now) - DEFAULT_FIRST_PULL


def check_order_window(ctx) -> list[Finding]:
    """Show the cursor, the orders start date and THG's 183-day limit."""
    from connectors.thg.streams import OVERLAP

    connector = ctx.connector
    state = SyncState.objects.filter(connector=connector, stream=Stream.ORDERS).first()
    cursor = state.cursor_time if state else None
    stored = Order.objects.filter(connector=connector).aggregate(
        earliest=Min("placed_at"), newest_update=Max("channel_updated_at")
    )
    start = _first_pull_start(connector, ctx.now)
    evidence = {
        "cursor": cursor,
        "next_pull_from": (cursor - OVERLAP) if cursor else start,
        "orders_start_date": connector.orders_start_date,
        "first_pull_from": start,
        "orders_in_hub": Order.objects.filter(connector=connector).count(),
        "earliest_order_placed": stored["earliest"],
        "newest_channel_update": stored["newest_update"],
        "last_error": (state.last_error if state else "") or None,
    }
    findings = []
    if not connector.orders_enabled:
        findings.append(
            Finding(
                check=ORDER_WINDOW,
                code="orders_off",
                severity=Severity.WARNING,
                title=MISSING_RANGE,
                message=f"Orders in are off on {connector.name}: no orders are "
                "pulled from the channel.",
                next_step="Switch on 'orders in' on the connector.",
                evidence=evidence,
            )
        )
    if connector.is_thg:
        findings.extend(_thg_window(ctx, state, evidence))
    else:
        findings.append(
            Finding(
                check=ORDER_WINDOW,
                code="order_window",
                severity=Severity.INFO,
                title=MISSING_RANGE,
                message="TikTok Shop orders are pulled by update time from the "
                "cursor (less a 10-minute overlap); the first pull went back to "
                f"{start:%Y-%m-%d}. An order updated before that is not pulled "
                "until it changes again.",
                next_step="For an order that is missing, check that its update "
                "time is after the first pull's start; its next change (or "
                "webhook) brings it in.",
                evidence=evidence,
            )
        )
    return findings


def _thg_window(ctx, state, evidence) -> list[Finding]:
    connector = ctx.connector
    days, limit = _history_limit(ctx)
    evidence = {**evidence, "thg_history_days": days, "thg_history_from": limit}
    backfill = (
        "To fetch a missing range, run the admin action 'Backfill orders…' or "
        f"python manage.py backfill_orders {connector.name!r} --since YYYY-MM-DD "
        f"[--until YYYY-MM-DD]; THG keeps {days} days (6 months), so older orders "
        "come only from THG support."
    )
    recent_errors = connector.sync_runs.filter(
        stream__in=[Stream.ORDERS, Stream.BACKFILL],
        status="failed",
        started_at__gte=ctx.now - timedelta(days=1),
    ).values_list("error", flat=True)
    limit_hit = any(
        _is_history_limit(text)
        for text in [state.last_error if state else "", *recent_errors]
    )
    if limit_hit:
        return [
            Finding(
                check=ORDER_WINDOW,
                code="history_limit_exceeded",
                severity=Severity.ERROR,
                title=MISSING_RANGE,
                message="THG rejected an order pull with 400 HistoryLimitExceeded: "
                f"it starts more than {days} days back, before "
                f"{limit:%Y-%m-%d}.",
                next_step=f"Set the orders start date to {limit:%Y-%m-%d} or "
                f"later (or run the backfill from that day). {backfill}",
                evidence=evidence,
            )
        ]
    cursor = state.cursor_time if state else None
    if cursor is None and evidence["first_pull_from"] < limit:
        return [
            Finding(
                check=ORDER_WINDOW,
                code="start_date_beyond_limit",
                severity=Severity.ERROR,
                title=MISSING_RANGE,
                message=f"The orders start date {connector.orders_start_date} is "
                f"more than {days} days back, so THG will reject the first pull "
                "with HistoryLimitExceeded.",
                next_step=f"Set the orders start date to {limit:%Y-%m-%d} or later. "
                + backfill,
                evidence=evidence,
            )
        ]
    if cursor is None:
        message = (
            "No order pull has committed yet; the first one starts at "
            f"{evidence['first_pull_from']:%Y-%m-%d %H:%M}."
        )
    else:
        message = (
            "Orders are pulled by update time from the cursor "
            f"{cursor:%Y-%m-%d %H:%M} (less a 10-minute overlap); the first pull "
            "went back to "
            f"{evidence['first_pull_from']:%Y-%m-%d}."
        )
    return [
        Finding(
            check=ORDER_WINDOW,
            code="order_window",
            severity=Severity.INFO,
            title=MISSING_RANGE,
            message=message + " Orders updated before the first pull's start are "
            "not pulled.",
            next_step=backfill,
            evidence=evidence,
        )
    ]


# Returns not flowing.


def check_returns(ctx) -> list[Finding]:
    """Name the return directions that are switched off."""
    connector = ctx.connector
    off = []
    if not connector.returns_inbound:
        off.append("in: returns made on the channel do not reach the hub")
    if connector.is_thg and not connector.returns_outbound:
        off.append("out: returns and receipts recorded in the hub are not sent")
    if not off:
        return []
    not_sent = Return.objects.filter(
        order__connector=connector, delivery=Fulfillment.Delivery.NOT_SENT
    ).count()
    return [
        Finding(
            check=RETURNS,
            code="returns_direction_off",
            severity=Severity.WARNING,
            title="Returns not flowing",
            message=f"Returns on {connector.name} are set to "
            f"'{connector.get_returns_direction_display()}', so these directions "
            "are off: " + "; ".join(off) + ".",
            next_step="Set 'returns' to "
            + ("'Both'" if connector.is_thg else "'In (channel to hub)' or 'Both'")
            + " on the connector (Streams section) if returns should flow.",
            evidence={
                "returns_direction": connector.returns_direction,
                "off": [entry.split(":")[0] for entry in off],
                "returns_not_sent": not_sent,
            },
        )
    ]


# Exceptions open for more than a day.

_EXCEPTION_STEPS = {
    OrderException.Kind.UNMATCHED_LINE: "fix the identifiers (see 'Orders not "
    "matching products') and run 'Check exceptions again'",
    OrderException.Kind.NO_STOCK: "add stock or a routing rule that can serve "
    "them; waiting orders are routed again when stock arrives",
    OrderException.Kind.INVALID_ADDRESS: "correct the ship-to address with the channel",
    OrderException.Kind.CHANNEL_REJECTED: "read the channel's reason on the "
    "fulfillment or return, correct it and send it again",
}


def check_old_exceptions(ctx) -> list[Finding]:
    """Find order exceptions that have waited for a person for over a day."""
    connector = ctx.connector
    old = OrderException.objects.filter(
        order__connector=connector,
        resolved_at__isnull=True,
        created_at__lt=ctx.now - EXCEPTION_AGE,
    )
    count = old.count()
    if not count:
        return []
    kinds = Counter(old.values_list("kind", flat=True))
    examples = [
        {
            "order": str(item.order),
            "kind": item.kind,
            "identifier": item.identifier,
            "opened": item.created_at,
        }
        for item in old.select_related("order").order_by("created_at")[:EXAMPLES]
    ]
    steps = "; ".join(
        f"{OrderException.Kind(kind).label}: {_EXCEPTION_STEPS[kind]}"
        for kind in sorted(kinds)
    )
    url = reverse("admin:orders_orderexception_changelist")
    return [
        Finding(
            check=OLD_EXCEPTIONS,
            code="exceptions_open",
            severity=Severity.WARNING,
            title="Exceptions open for more than a day",
            message=f"{counted(count, 'order exception')} on {connector.name} "
            "open for more than a day, the oldest since "
            f"{examples[0]['opened']:%Y-%m-%d %H:%M}.",
            next_step=steps[0].upper() + steps[1:] + ".",
            evidence={"count": count, "by_kind": dict(kinds), "examples": examples},
            links=(
                (
                    "Open exceptions",
                    f"{url}?resolved_at__isempty=1&order__connector__id__exact="
                    f"{connector.pk}",
                ),
            ),
        )
    ]
