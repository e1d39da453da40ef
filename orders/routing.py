"""The order routing engine: which location ships each order.

Routing rules are tried by position. The first rule that matches an order
and can serve every open line wins, and a matching rule that cannot serve
it passes the order to the next rule. A rule filters orders by connector,
ship-to country, tags and SKUs. It lists candidate locations by priority
(none listed: the default candidates), and sets whether stock is checked,
whether the order may split over several locations, and whether the
location closest to the ship-to postal code goes first. With no active
rule, one default rule applies: default candidates, stock checked, no
split, priority order.

Default candidates are the active, unpaused locations by priority and name;
for a TikTok Shop connector, only the locations it has ExternalLocation rows
for. Routing draws on free stock (on hand − committed): safety stock holds
units back from the channels' totals, not from orders already sold.

Each batch of orders is routed in one transaction that locks the orders,
then every stock level the batch may draw on, in primary-key order and in
one query, then checks and commits in memory and writes in bulk. Concurrent
routings, stock imports and fulfillments take their locks in the same order
(see :mod:`inventory.stock`), so they never oversell and never deadlock.
"""

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from inventory import geocoding, stock
from inventory.models import ExternalLocation, Location

from .models import (
    Allocation,
    Order,
    OrderException,
    OrderLine,
    RoutingRule,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 500

ROUTED = "routed"
NO_STOCK = "no_stock"
SKIPPED = "skipped"


@dataclass
class RoutingOutcome:
    """The result of routing one order."""

    order_id: int
    result: str  # ROUTED, NO_STOCK or SKIPPED
    reason: str
    location_id: int | None = None
    decision: dict | None = None


@dataclass
class RoutingSummary:
    """Counts of a routing run, with each order's outcome."""

    routed: int = 0
    no_stock: int = 0
    skipped: int = 0
    outcomes: list[RoutingOutcome] = field(default_factory=list)

    def add(self, outcome: RoutingOutcome) -> None:
        self.outcomes.append(outcome)
        if outcome.result == ROUTED:
            self.routed += 1
        elif outcome.result == NO_STOCK:
            self.no_stock += 1
        else:
            self.skipped += 1

    def as_dict(self) -> dict[str, int]:
        return {
            "routed": self.routed,
            "no_stock": self.no_stock,
            "skipped": self.skipped,
        }


# Public services.


def route_order(order: Order) -> RoutingOutcome:
    """Route one order; see :func:`route_orders` for what routing does.

    Refreshes the routing fields of ``order`` in place.
    """
    outcome = route_orders([order]).outcomes[0]
    order.refresh_from_db(
        fields=["status", "location", "routing_decision", "routed_at", "updated_at"]
    )
    return outcome


def route_orders(orders, *, batch_size: int = BATCH_SIZE) -> RoutingSummary:
    """Route many orders, oldest first, in batches of one transaction each.

    Skips (and leaves as they are) orders fulfilled by the channel, cancelled
    or already routed orders, orders on hold (``hold_until`` in the future,
    or status ON_HOLD: the channel reports that the order cannot ship yet), orders
    with an open line that matches no product, and orders with nothing open.

    A routed order gets its stock committed (Allocation rows and committed
    units), its ``location`` (the one shipping most units), status ROUTED
    (PARTIALLY_FULFILLED if some units already shipped), ``routed_at`` and a
    ``routing_decision`` naming the rule, the candidates and why the winner
    won; an open NO_STOCK exception of the order is resolved. An order no
    rule can serve gets status NEEDS_ATTENTION, the rules tried and their
    shortfalls in ``routing_decision``, and an open NO_STOCK exception.
    """
    return _route(_order_ids(orders), reroute=False, batch_size=batch_size)


def reroute_orders(orders, *, batch_size: int = BATCH_SIZE) -> RoutingSummary:
    """Release the orders' committed stock and route them again.

    For the admin's "Route again": in one transaction per batch, the open
    allocations are released and the orders routed as by
    :func:`route_orders`, also when they were routed before. Orders that
    cannot be routed now (cancelled, on hold, ...) keep their allocations.
    """
    return _route(_order_ids(orders), reroute=True, batch_size=batch_size)


def route_pending(connector=None) -> RoutingSummary:
    """Route orders waiting for stock or whose hold has ended (the schedule),
    of every connector or of ``connector`` only."""
    now = timezone.now()
    waiting = Order.objects.filter(
        status__in=[Order.Status.NEW, Order.Status.NEEDS_ATTENTION],
        fulfilled_by_channel=False,
    ).filter(Q(hold_until__isnull=True) | Q(hold_until__lte=now))
    if connector is not None:
        waiting = waiting.filter(connector=connector)
    summary = route_orders(waiting)
    logger.info("Routing of pending orders: %s", summary.as_dict())
    return summary


def route_waiting_for_products(product_ids: Iterable[int]) -> RoutingSummary:
    """Route the orders waiting for stock of these products (stock arrived).

    Queued by the stock services after a change that adds stock commits.
    Safe to run twice: routed orders are skipped.
    """
    waiting = Order.objects.filter(
        status=Order.Status.NEEDS_ATTENTION,
        exceptions__kind=OrderException.Kind.NO_STOCK,
        exceptions__resolved_at__isnull=True,
        lines__product_id__in=list(product_ids),
        lines__status=OrderLine.Status.OPEN,
    ).distinct()
    return route_orders(waiting)


def ensure_routing_schedule(minutes: int = 5):
    """Create or update the django-q2 schedule that runs :func:`route_pending`."""
    from django_q.models import Schedule

    schedule, _ = Schedule.objects.update_or_create(
        name="Route pending orders",
        defaults={
            "func": "orders.routing.route_pending",
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
        },
    )
    return schedule


# Loading rules and locations.


@dataclass(frozen=True)
class _Rule:
    id: int | None
    name: str
    connector_id: int | None = None
    countries: frozenset = frozenset()
    tags: frozenset = frozenset()
    skus: frozenset = frozenset()
    check_stock: bool = True
    allow_split: bool = False
    closest_wins: bool = False
    candidate_ids: tuple = ()


DEFAULT_RULE = _Rule(id=None, name="Default: first location with stock")


@dataclass(frozen=True)
class _Location:
    id: int
    code: str
    priority: int
    name: str
    latitude: float | None
    longitude: float | None
    routable: bool
    why_not: str


def _split_list(text: str, *, upper: bool = False) -> frozenset:
    items = {item.strip() for item in text.replace(",", "\n").splitlines()}
    return frozenset(item.upper() if upper else item for item in items if item)


def _load_rules() -> list[_Rule]:
    rules = []
    queryset = RoutingRule.objects.filter(active=True).prefetch_related("candidates")
    for rule in queryset.order_by("position", "pk"):
        candidates = sorted(
            rule.candidates.all(), key=lambda row: (row.priority, row.pk)
        )
        rules.append(
            _Rule(
                id=rule.pk,
                name=rule.name,
                connector_id=rule.connector_id,
                countries=frozenset(
                    geocoding.normalize_country(code)
                    for code in _split_list(rule.countries, upper=True)
                ),
                tags=_split_list(rule.tags.casefold()),
                skus=_split_list(rule.skus),
                check_stock=rule.check_stock,
                allow_split=rule.allow_split,
                closest_wins=rule.closest_wins,
                candidate_ids=tuple(row.location_id for row in candidates),
            )
        )
    return rules or [DEFAULT_RULE]


class _Context:
    """Rules, locations and default candidates, loaded once per run."""

    def __init__(self):
        self.rules = _load_rules()
        self.locations = {}
        for location in Location.objects.order_by("priority", "name"):
            why_not = "" if location.active else "inactive"
            why_not = why_not or ("paused" if location.paused else "")
            self.locations[location.pk] = _Location(
                id=location.pk,
                code=location.code,
                priority=location.priority,
                name=location.name,
                latitude=_float(location.latitude),
                longitude=_float(location.longitude),
                routable=not why_not,
                why_not=why_not,
            )
        self.all_default = [
            location for location in self.locations.values() if location.routable
        ]
        self._per_connector = {}

    def default_candidates(self, connector) -> list[_Location]:
        if connector.kind != connector.Kind.TIKTOK_SHOP:
            return self.all_default
        if connector.pk not in self._per_connector:
            linked = set(
                ExternalLocation.objects.filter(connector=connector).values_list(
                    "location_id", flat=True
                )
            )
            self._per_connector[connector.pk] = [
                location for location in self.all_default if location.id in linked
            ]
        return self._per_connector[connector.pk]

    def candidates(self, rule: _Rule, connector) -> tuple[list[_Location], list[dict]]:
        """Return the rule's routable candidates, and the ones left out."""
        if not rule.candidate_ids:
            return self.default_candidates(connector), []
        listed = [
            self.locations[pk] for pk in rule.candidate_ids if pk in self.locations
        ]
        excluded = [
            {"location": location.code, "why": location.why_not}
            for location in listed
            if not location.routable
        ]
        return [location for location in listed if location.routable], excluded

    def location_ids(self, connectors) -> set[int]:
        """Return every location a batch of orders from these connectors may use."""
        ids = set()
        for rule in self.rules:
            if rule.candidate_ids:
                ids.update(rule.candidate_ids)
            else:
                for connector in connectors:
                    ids.update(
                        location.id for location in self.default_candidates(connector)
                    )
        return ids


def _float(value) -> float | None:
    return None if value is None else float(value)


# One batch.


@dataclass
class _Line:
    id: int
    external_id: str
    product_id: int | None
    sku: str
    need: int
    fulfilled: int


@dataclass
class _Plan:
    rule: _Rule
    commits: list  # (line, location, quantity)
    decision: dict
    location_id: int


def _order_ids(orders) -> list[int]:
    if isinstance(orders, QuerySet):
        return list(orders.order_by("placed_at", "pk").values_list("pk", flat=True))
    ids = []
    for order in orders:
        ids.append(order if isinstance(order, int) else order.pk)
    return ids


def _route(order_ids: list[int], *, reroute: bool, batch_size: int) -> RoutingSummary:
    summary = RoutingSummary()
    if not order_ids:
        return summary
    context = _Context()
    for start in range(0, len(order_ids), batch_size):
        for outcome in _route_batch(
            order_ids[start : start + batch_size], context, reroute=reroute
        ):
            summary.add(outcome)
    return summary


def _route_batch(
    order_ids, context: _Context, *, reroute: bool
) -> list[RoutingOutcome]:
    now = timezone.now()
    with transaction.atomic():
        orders = list(
            Order.objects.select_for_update(no_key=True)
            .filter(pk__in=sorted(order_ids))
            .order_by("pk")
        )
        connectors = _connectors(orders)
        lines = _open_lines(orders, ignore_allocations=reroute)
        outcomes = {}
        routable = []
        for order in orders:
            reason = _skip_reason(order, lines[order.pk], now, reroute=reroute)
            if reason:
                outcomes[order.pk] = RoutingOutcome(order.pk, SKIPPED, reason)
            else:
                routable.append(order)
        if routable:
            levels = _lock_stock(routable, lines, connectors, context, reroute=reroute)
            free = {
                key: level.on_hand - level.committed for key, level in levels.items()
            }
            routable.sort(key=lambda order: (order.placed_at, order.pk))
            plans = {}
            for order in routable:
                plan, failure = _plan_order(
                    order,
                    connectors[order.connector_id],
                    lines[order.pk],
                    free,
                    context,
                )
                if plan:
                    plans[order.pk] = plan
                    for line, location, quantity in plan.commits:
                        free[(line.product_id, location.id)] -= quantity
                else:
                    outcomes[order.pk] = RoutingOutcome(
                        order.pk, NO_STOCK, failure["reason"], decision=failure
                    )
            _write_routed(orders, plans, lines, levels, now)
            _write_failed(orders, outcomes, now)
            for order_id, plan in plans.items():
                outcomes[order_id] = RoutingOutcome(
                    order_id,
                    ROUTED,
                    plan.decision["reason"],
                    location_id=plan.location_id,
                    decision=plan.decision,
                )
    return [outcomes[order_id] for order_id in order_ids if order_id in outcomes]


def _connectors(orders):
    from connectors.models import Connector

    ids = {order.connector_id for order in orders}
    return {
        connector.pk: connector for connector in Connector.objects.filter(pk__in=ids)
    }


def _open_lines(orders, *, ignore_allocations: bool) -> dict[int, list[_Line]]:
    """Return each order's open lines with the units still to commit."""
    order_ids = [order.pk for order in orders]
    allocated = {}
    if not ignore_allocations:
        allocated = dict(
            Allocation.objects.filter(line__order_id__in=order_ids)
            .values("line_id")
            .annotate(total=Sum("quantity"))
            .order_by()
            .values_list("line_id", "total")
        )
    lines = defaultdict(list)
    rows = (
        OrderLine.objects.filter(order_id__in=order_ids, status=OrderLine.Status.OPEN)
        .order_by("pk")
        .values_list(
            "pk",
            "order_id",
            "external_id",
            "product_id",
            "product__sku",
            "quantity",
            "quantity_fulfilled",
        )
    )
    for pk, order_id, external_id, product_id, sku, quantity, fulfilled in rows:
        open_quantity = max(quantity - fulfilled, 0)
        if open_quantity:
            lines[order_id].append(
                _Line(
                    pk,
                    external_id,
                    product_id,
                    sku or "",
                    open_quantity - allocated.get(pk, 0),
                    fulfilled,
                )
            )
    return lines


def _skip_reason(order, lines, now, *, reroute: bool) -> str:
    status = Order.Status
    if order.fulfilled_by_channel or order.status == status.FULFILLED_BY_CHANNEL:
        return "fulfilled by the channel"
    if order.status == status.CANCELLED:
        return "cancelled"
    if order.status == status.FULFILLED:
        return "already fulfilled"
    if not reroute and order.status in (status.ROUTED, status.PARTIALLY_FULFILLED):
        return "already routed; use Route again to route it anew"
    if order.status == status.ON_HOLD:
        return "held by the channel"
    if order.hold_until and order.hold_until > now:
        return f"on hold until {order.hold_until.isoformat()}"
    if not lines:
        return "no open lines"
    unmatched = [line.external_id for line in lines if line.product_id is None]
    if unmatched:
        return "lines match no product: " + ", ".join(unmatched)
    if not any(line.need > 0 for line in lines):
        return "every open line already has its stock committed"
    return ""


def _lock_stock(routable, lines, connectors, context, *, reroute: bool):
    """Lock every stock level the batch may use (and release, when rerouting)."""
    product_ids = {line.product_id for order in routable for line in lines[order.pk]}
    location_ids = context.location_ids({connectors[o.connector_id] for o in routable})
    line_ids = [line.id for order in routable for line in lines[order.pk]]
    if not reroute:
        return stock.lock_levels(product_ids, location_ids, only_free=True)

    held = list(
        Allocation.objects.filter(line_id__in=line_ids).values_list(
            "line__product_id", "location_id"
        )
    )
    levels = stock.lock_levels(
        product_ids | {row[0] for row in held}, location_ids | {row[1] for row in held}
    )
    stock.write_releases(line_ids, reference="route again", levels=levels)
    # Read the released counters again; the rows stay locked by this transaction.
    return stock.lock_level_pks(level.pk for level in levels.values())


# Planning one order.


def _plan_order(order, connector, lines, free, context) -> tuple[_Plan | None, dict]:
    needs = [line for line in lines if line.need > 0]
    tried = []
    ship_point = None
    for rule in context.rules:
        mismatch = _mismatch(rule, order, needs)
        if mismatch:
            tried.append({"rule": rule.name, "result": "not matched", "why": mismatch})
            continue
        candidates, excluded = context.candidates(rule, connector)
        if rule.closest_wins and ship_point is None:
            ship_point = _ship_point(order)
        plan = _try_rule(rule, needs, candidates, excluded, free, ship_point)
        if isinstance(plan, _Plan):
            plan.decision["rules_tried"] = tried
            return plan, {}
        tried.append(plan)
    reason = "No routing rule can serve the order: " + "; ".join(
        f"{entry['rule']}: {entry['why']}" for entry in tried
    )
    return None, {
        "result": NO_STOCK,
        "reason": reason,
        "rules_tried": tried,
        "decided_at": timezone.now().isoformat(),
    }


def _mismatch(rule: _Rule, order, needs) -> str:
    if rule.connector_id and rule.connector_id != order.connector_id:
        return "another connector"
    if rule.countries:
        country = geocoding.normalize_country(order.ship_country_code)
        if country not in rule.countries:
            return f"ship-to country {country or '(none)'} not listed"
    if rule.tags:
        tags = {tag.strip().casefold() for tag in order.tags.split(",") if tag.strip()}
        if not tags & rule.tags:
            return "no listed tag on the order"
    if rule.skus and not {line.sku for line in needs} & rule.skus:
        return "no line with a listed SKU"
    return ""


def _ship_point(order):
    found = geocoding.geocode(
        order.ship_country_code, order.ship_postal_code, order.ship_city
    )
    return (float(found.latitude), float(found.longitude)) if found else False


def _ordered_candidates(rule, candidates, ship_point):
    """Return [(location, distance_km or None)] in the order to try them."""
    if not rule.closest_wins or not ship_point:
        return [(location, None) for location in candidates]
    measured = []
    for index, location in enumerate(candidates):
        distance = None
        if location.latitude is not None and location.longitude is not None:
            distance = geocoding.distance_km(
                *ship_point, location.latitude, location.longitude
            )
        measured.append((distance is None, distance or 0.0, index, location, distance))
    measured.sort(key=lambda row: row[:3])
    return [(row[3], row[4]) for row in measured]


def _try_rule(rule, needs, candidates, excluded, free, ship_point):
    """Return a _Plan, or a dict saying why the rule cannot serve the order.

    Candidates are described in the order tried, up to the winner; the
    decision counts the ones never tried instead of describing them.
    """
    if not candidates:
        return {
            "rule": rule.name,
            "result": "no candidates",
            "why": "no active, unpaused candidate location",
        }
    ordered = _ordered_candidates(rule, candidates, ship_point)
    wanted = defaultdict(int)
    skus = {}
    for line in needs:
        wanted[line.product_id] += line.need
        skus[line.product_id] = line.sku
    described = []
    base = {
        "rule": {"id": rule.id, "name": rule.name},
        "check_stock": rule.check_stock,
        "allow_split": rule.allow_split,
        "order_by": "distance" if rule.closest_wins and ship_point else "priority",
        "candidates": described,
        "decided_at": timezone.now().isoformat(),
    }
    if excluded:
        base["excluded"] = excluded
    if rule.closest_wins and not ship_point:
        base["note"] = "ship-to address not geocoded; candidates tried by priority"

    if not rule.check_stock:
        described.append(_describe(*ordered[0], wanted, skus, free))
        base["not_tried"] = len(ordered) - 1
        return _unchecked_plan(rule, needs, ordered[0][0], free, base)
    for location, distance in ordered:
        description = _describe(location, distance, wanted, skus, free)
        described.append(description)
        if not description["short"]:
            base["not_tried"] = len(ordered) - len(described)
            commits = [(line, location, line.need) for line in needs]
            why = (
                f"closest candidate ({distance:.1f} km) with stock for every line"
                if distance is not None and base["order_by"] == "distance"
                else "first candidate by priority with stock for every line"
            )
            return _plan(rule, commits, base, f"{location.code}: {why}")
    base["not_tried"] = 0
    if rule.allow_split:
        plan = _split_plan(rule, needs, ordered, free, base)
        if plan:
            return plan
    return {
        "rule": rule.name,
        "result": "shortfall",
        "why": _shortfall_text(rule, needs, ordered, free),
        "candidates": described,
    }


def _describe(location, distance, wanted, skus, free) -> dict:
    short = sorted(
        skus[product_id]
        for product_id, quantity in wanted.items()
        if free.get((product_id, location.id), 0) < quantity
    )
    entry = {"location": location.code, "priority": location.priority, "short": short}
    if distance is not None:
        entry["distance_km"] = round(distance, 1)
    return entry


def _plan(rule, commits, base, reason) -> _Plan:
    units = defaultdict(int)
    first_seen = {}
    for _line, location, quantity in commits:
        units[location.id] += quantity
        first_seen.setdefault(location.id, len(first_seen))
    location_id = max(units, key=lambda pk: (units[pk], -first_seen[pk]))
    chosen = defaultdict(list)
    codes = {}
    for line, location, quantity in commits:
        codes[location.id] = location.code
        chosen[location.id].append(
            {"line": line.external_id, "sku": line.sku, "quantity": quantity}
        )
    decision = {
        **base,
        "result": ROUTED,
        "reason": reason,
        "chosen": [
            {"location": codes[pk], "lines": entries} for pk, entries in chosen.items()
        ],
    }
    return _Plan(rule, commits, decision, location_id)


def _unchecked_plan(rule, needs, location, free, base) -> _Plan:
    remaining = defaultdict(int)
    commits = []
    uncommitted = []
    for line in needs:
        key = (line.product_id, location.id)
        if free.get(key, 0) - remaining[key] >= line.need:
            remaining[key] += line.need
            commits.append((line, location, line.need))
        else:
            uncommitted.append(line.external_id)
    plan = _plan(
        rule,
        [(line, location, line.need) for line in needs],
        base,
        f"{location.code}: first candidate; stock not checked",
    )
    plan.commits[:] = commits
    if uncommitted:
        plan.decision["uncommitted_lines"] = uncommitted
    return plan


def _split_plan(rule, needs, ordered, free, base) -> _Plan | None:
    taken = defaultdict(int)
    commits = []
    for line in needs:
        remaining = line.need
        for location, _ in ordered:
            key = (line.product_id, location.id)
            take = min(remaining, free.get(key, 0) - taken[key])
            if take > 0:
                taken[key] += take
                commits.append((line, location, take))
                remaining -= take
            if not remaining:
                break
        if remaining:
            return None
    codes = []
    for _, location, _ in commits:
        if location.code not in codes:
            codes.append(location.code)
    reason = (
        "no single candidate had every line; split over "
        + ", ".join(codes)
        + f" in {base['order_by']} order"
    )
    return _plan(rule, commits, base, reason)


def _shortfall_text(rule, needs, ordered, free) -> str:
    wanted = defaultdict(int)
    skus = {}
    for line in needs:
        wanted[line.product_id] += line.need
        skus[line.product_id] = line.sku
    parts = []
    for product_id, quantity in wanted.items():
        counts = [
            max(free.get((product_id, location.id), 0), 0) for location, _ in ordered
        ]
        best = max(counts, default=0)
        if rule.allow_split:
            if sum(counts) < quantity:
                parts.append(
                    f"{skus[product_id]} {quantity} needed, {sum(counts)} free over "
                    "all candidates"
                )
        elif best < quantity:
            parts.append(
                f"{skus[product_id]} {quantity} needed, at most {best} free at one "
                "candidate"
            )
    if not parts:
        parts.append("no single candidate has every line")
    return ", ".join(parts)


# Writing a batch.


def _write_routed(orders, plans, lines, levels, now) -> None:
    if not plans:
        return
    by_pk = {order.pk: order for order in orders}
    commits = []
    references = {}
    for order_id, plan in plans.items():
        order = by_pk[order_id]
        reference = f"order {order.reference or order.external_id}"
        for line, location, quantity in plan.commits:
            commits.append((line.id, line.product_id, location.id, quantity))
            references[line.id] = reference
    stock.write_commits(commits, levels, references=references)

    changed = []
    for order_id, plan in plans.items():
        order = by_pk[order_id]
        shipped = any(line.fulfilled for line in lines[order_id])
        order.status = (
            Order.Status.PARTIALLY_FULFILLED if shipped else Order.Status.ROUTED
        )
        order.location_id = plan.location_id
        order.routing_decision = plan.decision
        order.routed_at = now
        order.updated_at = now
        changed.append(order)
    _update_orders(changed, routed=True)
    OrderException.objects.filter(
        order_id__in=list(plans),
        kind=OrderException.Kind.NO_STOCK,
        resolved_at__isnull=True,
    ).update(resolved_at=now)
    logger.info("Routing: %d orders routed", len(plans))


def _write_failed(orders, outcomes, now) -> None:
    failed = {
        order_id: outcome
        for order_id, outcome in outcomes.items()
        if outcome.result == NO_STOCK
    }
    if not failed:
        return
    changed = []
    for order in orders:
        if order.pk in failed:
            order.status = Order.Status.NEEDS_ATTENTION
            order.routing_decision = failed[order.pk].decision
            order.updated_at = now
            changed.append(order)
    _update_orders(changed, routed=False)
    open_exceptions = {
        exception.order_id: exception
        for exception in OrderException.objects.filter(
            order_id__in=list(failed),
            kind=OrderException.Kind.NO_STOCK,
            resolved_at__isnull=True,
        )
    }
    new = []
    for order_id, outcome in failed.items():
        exception = open_exceptions.get(order_id)
        if exception is None:
            new.append(
                OrderException(
                    order_id=order_id,
                    kind=OrderException.Kind.NO_STOCK,
                    message=outcome.reason,
                )
            )
        elif exception.message != outcome.reason:
            OrderException.objects.filter(pk=exception.pk).update(
                message=outcome.reason
            )
    OrderException.objects.bulk_create(new, batch_size=BATCH_SIZE)
    logger.info("Routing: %d orders need stock", len(failed))


def _update_orders(orders, *, routed: bool) -> None:
    """Write the routing fields of many orders in one statement.

    On PostgreSQL the values travel as one JSON document, which saves
    building and binding one CASE expression per field and order; other
    databases use ``bulk_update``.
    """
    if not orders:
        return
    fields = ["status", "routing_decision", "updated_at"]
    if routed:
        fields += ["location", "routed_at"]
    if connection.vendor != "postgresql":
        Order.objects.bulk_update(orders, fields, batch_size=BATCH_SIZE)
        return
    changes = json.dumps(
        [
            {
                "id": order.pk,
                "status": order.status,
                "decision": order.routing_decision,
                "location_id": order.location_id,
            }
            for order in orders
        ]
    )
    routed_columns = ", location_id = change.location_id, routed_at = %s"
    params = [orders[0].updated_at, *([orders[0].routed_at] if routed else []), changes]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Order._meta.db_table} AS target
            SET status = change.status,
                routing_decision = change.decision,
                updated_at = %s{routed_columns if routed else ""}
            FROM jsonb_to_recordset(%s::jsonb)
                AS change(id bigint, status text, decision jsonb, location_id bigint)
            WHERE target.id = change.id
            """,
            params,
        )
