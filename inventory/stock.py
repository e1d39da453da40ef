"""Stock services: every change to on-hand and committed stock goes here.

Lock order, shared with :mod:`orders.routing`: Order rows first, then
StockLevel rows, each set in primary-key order and taken in one query that is
evaluated at once. The lock on an order guards its lines' allocations and
fulfilled quantities. Counters change through ``F()`` expressions under those
locks or through conditional UPDATEs, never by writing back a value read
earlier. Every change writes a StockMovement row and marks the product for
the inventory push (:func:`inventory.availability.mark_changed`).

On PostgreSQL the locks are ``SELECT ... FOR NO KEY UPDATE``, which does not
block the key-share locks that inserting an Allocation or a StockMovement
takes on the rows it references. On SQLite, where ``select_for_update`` is a
no-op, the project's IMMEDIATE transactions serialize the writers instead.
"""

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Case, F, Q, Sum, Value, When
from django.utils import timezone
from django_q.tasks import async_task

from .availability import mark_changed
from .bulk_sql import insert_rows
from .models import Location, StockLevel, StockMovement

logger = logging.getLogger(__name__)

# Stay well under PostgreSQL's 65,535 bind parameters per statement.
CHUNK = 2000


class StockError(Exception):
    """A stock change that was rejected; nothing was written."""


@dataclass(frozen=True)
class Shortfall:
    """Units a request needed at a location (or across some) but could not get."""

    product_id: int
    sku: str
    requested: int
    available: int
    location: str = ""

    def __str__(self):
        where = f" at {self.location}" if self.location else ""
        return (
            f"{self.sku}{where}: {self.requested} requested, {self.available} available"
        )


class InsufficientStock(StockError):
    """Some lines cannot get their units; every shortfall is listed."""

    def __init__(self, shortfalls: Sequence[Shortfall]):
        self.shortfalls = list(shortfalls)
        super().__init__(
            "Not enough stock: "
            + "; ".join(str(shortfall) for shortfall in self.shortfalls)
            + ". Add stock at the location or route the order elsewhere."
        )


class InvalidStockChange(StockError):
    """A change that would take on hand below zero or below committed."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class OverFulfillment(StockError):
    """A fulfillment ships more of a line than the line has open."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class StockCount:
    """An absolute on-hand quantity for one product at one location."""

    product_id: int
    location_id: int
    quantity: int


@dataclass(frozen=True)
class CountResult:
    changed: int
    unchanged: int


# Locking and writing, shared with the routing engine.


class LockedLevel(NamedTuple):
    """A stock level's counters as read under its row lock."""

    pk: int
    product_id: int
    location_id: int
    on_hand: int
    committed: int


def lock_levels(
    product_ids: Iterable[int], location_ids: Iterable[int], *, only_free: bool = False
) -> dict[tuple[int, int], LockedLevel]:
    """Lock the stock levels of these products at these locations.

    Rows are locked in primary-key order, by one query evaluated at once (for
    more than CHUNK products: their primary keys are read first, then locked
    in ascending chunks), so every caller takes them in the same order.
    Returns {(product_id, location_id): level} for the rows that exist; with
    ``only_free``, for the rows with units not yet committed (the others
    cannot take a commitment, so they need no lock).
    """
    product_ids = sorted(set(product_ids))
    location_ids = sorted(set(location_ids))
    if not product_ids or not location_ids:
        return {}
    free = {"on_hand__gt": F("committed")} if only_free else {}
    if len(product_ids) <= CHUNK:
        locked = (
            StockLevel.objects.select_for_update(no_key=True)
            .filter(product_id__in=product_ids, location_id__in=location_ids, **free)
            .order_by("pk")
            .values_list(*LockedLevel._fields)
        )
        return {(row[1], row[2]): LockedLevel(*row) for row in locked}
    pks = []
    for start in range(0, len(product_ids), CHUNK):
        pks += StockLevel.objects.filter(
            product_id__in=product_ids[start : start + CHUNK],
            location_id__in=location_ids,
            **free,
        ).values_list("pk", flat=True)
    return lock_level_pks(pks)


def lock_level_pks(pks: Iterable[int]) -> dict[tuple[int, int], StockLevel]:
    """Lock stock levels by primary key, in ascending order."""
    pks = sorted(set(pks))
    levels = {}
    for start in range(0, len(pks), CHUNK):
        locked = (
            StockLevel.objects.select_for_update(no_key=True)
            .filter(pk__in=pks[start : start + CHUNK])
            .order_by("pk")
            .values_list(*LockedLevel._fields)
        )
        for row in locked:
            levels[(row[1], row[2])] = LockedLevel(*row)
    return levels


def add_to_counters(deltas: dict[int, tuple[int, int]], *, now=None) -> None:
    """Add (on_hand, committed) deltas to locked stock levels, keyed by pk.

    The caller holds the locks. Each row changes as ``counter + delta`` in
    the UPDATE itself: on PostgreSQL one statement joins the deltas passed
    as arrays, elsewhere one CASE expression per chunk.
    """
    now = now or timezone.now()
    pks = sorted(pk for pk, change in deltas.items() if change[0] or change[1])
    if not pks:
        return
    if connection.vendor == "postgresql":
        _add_to_counters_postgresql(pks, deltas, now)
        return
    for start in range(0, len(pks), CHUNK // 4):
        chunk = pks[start : start + CHUNK // 4]
        on_hand = [When(pk=pk, then=Value(deltas[pk][0])) for pk in chunk]
        committed = [When(pk=pk, then=Value(deltas[pk][1])) for pk in chunk]
        StockLevel.objects.filter(pk__in=chunk).update(
            on_hand=F("on_hand") + Case(*on_hand, default=Value(0)),
            committed=F("committed") + Case(*committed, default=Value(0)),
            updated_at=now,
        )


def _add_to_counters_postgresql(pks, deltas, now) -> None:
    # The deltas travel as one JSON document: binding thousands of separate
    # parameters (or arrays of them) costs more than the UPDATE itself.
    changes = json.dumps([[pk, deltas[pk][0], deltas[pk][1]] for pk in pks])
    table = StockLevel._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} AS level
            SET on_hand = level.on_hand + (change ->> 1)::integer,
                committed = level.committed + (change ->> 2)::integer,
                updated_at = %s
            FROM jsonb_array_elements(%s::jsonb) AS change
            WHERE level.id = (change ->> 0)::bigint
            """,
            [now, changes],
        )


class Movement(NamedTuple):
    """One ledger row to write with :func:`write_movements`."""

    product_id: int
    location_id: int
    reason: str
    on_hand_change: int = 0
    committed_change: int = 0
    reference: str = ""
    note: str = ""
    user_id: int | None = None


def write_movements(movements: Iterable[Movement]) -> None:
    """Insert StockMovement rows in one statement, all stamped now."""
    now = timezone.now()
    insert_rows(
        StockMovement,
        [*Movement._fields, "created_at"],
        [(*movement, now) for movement in movements],
    )


def queue_routing(product_ids: Iterable[int]) -> None:
    """Queue routing of the orders waiting for these products, after commit."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    transaction.on_commit(
        lambda: async_task(
            "orders.routing.route_waiting_for_products",
            ids,
            task_name=f"Route orders waiting for {len(ids)} products",
        )
    )


# On-hand changes.


def adjust(
    product,
    location,
    *,
    on_hand_change: int,
    reason: str,
    reference: str = "",
    note: str = "",
    user=None,
) -> StockLevel:
    """Add ``on_hand_change`` (negative to remove) to on-hand stock.

    Creates the stock level when it is missing. The change is one conditional
    UPDATE, which leaves the row alone if on hand would drop below zero or
    below the committed units. In that case InvalidStockChange is raised,
    naming the product, the location and the numbers. Writes a StockMovement
    and marks the product for the inventory push. When stock arrives, it
    also queues routing of the orders waiting for it.
    """
    with transaction.atomic():
        level, _ = StockLevel.objects.get_or_create(
            product_id=product.pk, location_id=location.pk
        )
        if on_hand_change:
            updated = StockLevel.objects.filter(
                Q(on_hand__gte=F("committed") - on_hand_change),
                Q(on_hand__gte=-on_hand_change),
                pk=level.pk,
            ).update(on_hand=F("on_hand") + on_hand_change, updated_at=timezone.now())
            if not updated:
                level.refresh_from_db()
                raise InvalidStockChange(
                    [_rejected_change(product, location, level, on_hand_change)]
                )
            StockMovement.objects.create(
                product_id=product.pk,
                location_id=location.pk,
                reason=reason,
                on_hand_change=on_hand_change,
                reference=reference,
                note=note,
                user=user,
            )
            mark_changed([product.pk])
            if on_hand_change > 0:
                queue_routing([product.pk])
        level.refresh_from_db()
    logger.info(
        "Stock %s at %s: on hand %+d (%s), now %d",
        product.sku,
        location.code,
        on_hand_change,
        reason,
        level.on_hand,
    )
    return level


def _rejected_change(product, location, level, on_hand_change) -> str:
    result = level.on_hand + on_hand_change
    if result < 0:
        return (
            f"{product.sku} at {location}: on hand {level.on_hand} {on_hand_change:+d} "
            f"would be {result}, below zero. Remove at most {level.on_hand}."
        )
    return (
        f"{product.sku} at {location}: on hand {level.on_hand} {on_hand_change:+d} "
        f"would be {result}, below the {level.committed} units committed to "
        f"orders. Remove at most {level.on_hand - level.committed}, or release "
        "or reroute those orders first."
    )


def set_on_hand(
    product, location, quantity: int, *, reason: str, reference: str = "", user=None
) -> StockLevel:
    """Set on-hand stock to an absolute ``quantity`` (imports, warehouse counts).

    Writes a StockMovement with the difference (none when nothing changed).
    Raises InvalidStockChange if ``quantity`` is below zero or below the
    committed units.
    """
    set_on_hand_many(
        [StockCount(product.pk, location.pk, quantity)],
        reason=reason,
        reference=reference,
        user=user,
    )
    return StockLevel.objects.get(product_id=product.pk, location_id=location.pk)


def set_on_hand_many(
    counts: Sequence[StockCount],
    *,
    reason: str,
    reference: str = "",
    note: str = "",
    user=None,
) -> CountResult:
    """Set on-hand stock for many (product, location) pairs, all or nothing.

    Missing stock levels are created, then every level is locked in
    primary-key order and checked. If any count is negative, below the
    committed units, or repeated, InvalidStockChange lists every problem and
    nothing is written. Otherwise on hand is set, one StockMovement is
    written per changed level, the products are marked for the push, and
    routing of orders waiting for the products whose stock rose is queued.
    """
    problems = _check_counts(counts)
    if problems:
        raise InvalidStockChange(problems)
    if not counts:
        return CountResult(changed=0, unchanged=0)
    with transaction.atomic():
        levels = _create_and_lock(counts)
        problems, changes = _compare_counts(counts, levels)
        if problems:
            raise InvalidStockChange(problems)
        _write_counts(changes, reason=reason, reference=reference, note=note, user=user)
    logger.info(
        "Stock counts (%s, %s): %d changed, %d unchanged",
        reason,
        reference or "no reference",
        len(changes),
        len(counts) - len(changes),
    )
    return CountResult(changed=len(changes), unchanged=len(counts) - len(changes))


def _check_counts(counts: Sequence[StockCount]) -> list[str]:
    problems = []
    seen = set()
    for count in counts:
        key = (count.product_id, count.location_id)
        if count.quantity < 0:
            problems.append(
                f"Product {count.product_id} at location {count.location_id}: "
                f"on hand {count.quantity} is below zero."
            )
        if key in seen:
            problems.append(
                f"Product {count.product_id} at location {count.location_id} "
                "is counted twice; keep one count per product and location."
            )
        seen.add(key)
    return problems


def _create_and_lock(counts: Sequence[StockCount]) -> dict:
    by_location = defaultdict(set)
    for count in counts:
        by_location[count.location_id].add(count.product_id)
    pks = []
    for location_id, product_ids in sorted(by_location.items()):
        product_ids = sorted(product_ids)
        for start in range(0, len(product_ids), CHUNK):
            chunk = product_ids[start : start + CHUNK]
            existing = set(
                StockLevel.objects.filter(
                    location_id=location_id, product_id__in=chunk
                ).values_list("product_id", flat=True)
            )
            StockLevel.objects.bulk_create(
                [
                    StockLevel(product_id=product_id, location_id=location_id)
                    for product_id in chunk
                    if product_id not in existing
                ],
                ignore_conflicts=True,
            )
            pks += StockLevel.objects.filter(
                location_id=location_id, product_id__in=chunk
            ).values_list("pk", flat=True)
    return lock_level_pks(pks)


def _compare_counts(counts, levels):
    problems = []
    changes = []
    names = _names(counts)
    for count in counts:
        level = levels[(count.product_id, count.location_id)]
        if count.quantity < level.committed:
            sku, location = names(count.product_id, count.location_id)
            problems.append(
                f"{sku} at {location}: on hand {count.quantity} is below the "
                f"{level.committed} units committed to orders. Count again, or "
                "release or reroute those orders first."
            )
        elif count.quantity != level.on_hand:
            changes.append((level, count.quantity - level.on_hand))
    return problems, changes


def _names(counts):
    """Return a lookup of (sku, location name), loaded only when needed."""
    cache = {}

    def lookup(product_id, location_id):
        if not cache:
            from catalog.models import Product

            product_ids = {count.product_id for count in counts}
            location_ids = {count.location_id for count in counts}
            cache["sku"] = dict(
                Product.objects.filter(pk__in=product_ids).values_list("pk", "sku")
            )
            cache["location"] = dict(
                Location.objects.filter(pk__in=location_ids).values_list("pk", "name")
            )
        return cache["sku"][product_id], cache["location"][location_id]

    return lookup


def _write_counts(changes, *, reason, reference, note, user):
    now = timezone.now()
    add_to_counters({level.pk: (diff, 0) for level, diff in changes}, now=now)
    user_id = user.pk if user else None
    write_movements(
        Movement(
            level.product_id,
            level.location_id,
            reason,
            diff,
            0,
            reference,
            note,
            user_id,
        )
        for level, diff in changes
    )
    mark_changed(level.product_id for level, _ in changes)
    queue_routing(level.product_id for level, diff in changes if diff > 0)


# Commitments: Allocation rows are the committed units of order lines.


def commit_lines(assignments: Sequence[tuple], *, reference: str = "") -> list:
    """Commit stock to order lines: ``[(line, location, quantity), ...]``.

    Locks the lines' orders, then the stock levels, in primary-key order.
    Checks every assignment against free stock (on hand minus committed),
    and raises InsufficientStock listing every shortfall before writing
    anything. Then adds to committed, creates or grows the lines' Allocation rows and
    writes COMMIT movements. Returns the allocations.
    """
    from orders.models import Allocation, Order

    if not assignments:
        return []
    with transaction.atomic():
        order_ids = sorted({line.order_id for line, _, _ in assignments})
        list(
            Order.objects.select_for_update(no_key=True)
            .filter(pk__in=order_ids)
            .order_by("pk")
        )
        levels = lock_levels(
            [line.product_id for line, _, _ in assignments],
            [location.pk for _, location, _ in assignments],
        )
        requested = defaultdict(int)
        for line, location, quantity in assignments:
            requested[(line.product_id, location.pk)] += quantity
        shortfalls = []
        for (product_id, location_id), quantity in requested.items():
            level = levels.get((product_id, location_id))
            free = level.on_hand - level.committed if level else 0
            if quantity > free:
                line, location, _ = next(
                    item
                    for item in assignments
                    if (item[0].product_id, item[1].pk) == (product_id, location_id)
                )
                shortfalls.append(
                    Shortfall(
                        product_id, line.product.sku, quantity, free, location.name
                    )
                )
        if shortfalls:
            raise InsufficientStock(shortfalls)
        write_commits(
            [
                (line.pk, line.product_id, location.pk, quantity)
                for line, location, quantity in assignments
            ],
            levels,
            reference=reference,
        )
        return list(
            Allocation.objects.filter(line__in=[line for line, _, _ in assignments])
        )


def write_commits(
    commits: Sequence[tuple[int, int, int, int]],
    levels: dict,
    *,
    reference: str = "",
    references: dict | None = None,
) -> None:
    """Write checked commitments ``(line_id, product_id, location_id, qty)``.

    The caller holds the locks on the orders and on ``levels`` and has
    checked free stock. ``references`` maps a line id to its ledger
    reference, for callers committing many orders at once.
    """
    from orders.models import Allocation

    if not commits:
        return
    now = timezone.now()
    committed = defaultdict(int)
    per_allocation = defaultdict(int)
    for line_id, product_id, location_id, quantity in commits:
        committed[levels[(product_id, location_id)].pk] += quantity
        per_allocation[(line_id, location_id)] += quantity
    add_to_counters({pk: (0, quantity) for pk, quantity in committed.items()}, now=now)

    existing = {
        (allocation.line_id, allocation.location_id): allocation
        for allocation in Allocation.objects.filter(
            line_id__in={line_id for line_id, *_ in commits}
        )
    }
    new = []
    for key, quantity in per_allocation.items():
        if key in existing:
            Allocation.objects.filter(pk=existing[key].pk).update(
                quantity=F("quantity") + quantity
            )
        else:
            new.append((key[0], key[1], quantity))
    insert_rows(Allocation, ["line_id", "location_id", "quantity"], new)

    references = references or {}
    commit = StockMovement.Reason.COMMIT
    write_movements(
        Movement(
            product_id,
            location_id,
            commit,
            0,
            quantity,
            references.get(line_id, reference),
        )
        for line_id, product_id, location_id, quantity in commits
    )
    mark_changed({product_id for _, product_id, _, _ in commits})


def release_order(order, *, reference: str = "") -> int:
    """Release every allocation of an order; return the units released.

    Locks the order, then its stock levels. Subtracts each allocation from
    committed, deletes it and writes RELEASE movements, then queues routing
    of the orders waiting for the freed products.
    """
    return release_lines(
        list(order.lines.all()), reference=reference or _order_reference(order)
    )


def release_lines(lines: Sequence, *, reference: str = "") -> int:
    """Release the allocations of some order lines (cancelled lines, say).

    Same locking and writes as :func:`release_order`. Returns the units
    released.
    """
    from orders.models import Order

    lines = list(lines)
    if not lines:
        return 0
    with transaction.atomic():
        list(
            Order.objects.select_for_update(no_key=True)
            .filter(pk__in=sorted({line.order_id for line in lines}))
            .order_by("pk")
        )
        return write_releases([line.pk for line in lines], reference=reference)


def write_releases(
    line_ids: Iterable[int], *, reference: str = "", levels: dict | None = None
) -> int:
    """Release the allocations of these lines, with their orders locked.

    Locks the stock levels involved unless the caller passes them already
    locked. Returns the units released.
    """
    from orders.models import Allocation

    allocations = list(
        Allocation.objects.filter(line_id__in=list(line_ids)).values_list(
            "pk", "line_id", "line__product_id", "location_id", "quantity"
        )
    )
    if not allocations:
        return 0
    if levels is None:
        levels = lock_levels(
            [product_id for _, _, product_id, _, _ in allocations],
            [location_id for _, _, _, location_id, _ in allocations],
        )
    released = defaultdict(int)
    for _, _, product_id, location_id, quantity in allocations:
        released[levels[(product_id, location_id)].pk] -= quantity
    add_to_counters({pk: (0, quantity) for pk, quantity in released.items()})
    Allocation.objects.filter(pk__in=[row[0] for row in allocations]).delete()
    release = StockMovement.Reason.RELEASE
    write_movements(
        Movement(product_id, location_id, release, 0, -quantity, reference)
        for _, _, product_id, location_id, quantity in allocations
    )
    product_ids = {row[2] for row in allocations}
    mark_changed(product_ids)
    queue_routing(product_ids)
    return sum(row[4] for row in allocations)


def _order_reference(order) -> str:
    return f"order {order.reference or order.external_id}"


# Shipping and returns.


def consume_for_fulfillment(fulfillment) -> None:
    """Take a fulfillment's units out of stock at its location.

    For each FulfillmentLine, the line's allocation at the fulfillment's
    location shrinks by the quantity (as far as it goes), and on hand and
    committed drop by the same units. Units beyond the allocation come from
    free stock at the location. The line's ``quantity_fulfilled`` grows by
    the quantity. A line left with nothing open gives back its allocations at other
    locations. Writes FULFILLMENT (and RELEASE) movements.

    Locks the order, then the stock levels. Raises OverFulfillment if a line
    ships more than it has open, or InsufficientStock if the units beyond the
    allocation are not free at the location, before writing anything.
    """
    from orders.models import Order

    with transaction.atomic():
        Order.objects.select_for_update(no_key=True).get(pk=fulfillment.order_id)
        shipped = _shipped_per_line(fulfillment)
        if not shipped:
            return
        lines, allocations = _lines_and_allocations(shipped)
        _check_open_quantities(shipped, lines)
        levels = lock_levels(
            [line.product_id for line in lines.values()],
            {row["location_id"] for row in allocations} | {fulfillment.location_id},
        )
        plan = _plan_consumption(fulfillment, shipped, lines, allocations, levels)
        _write_consumption(fulfillment, plan, levels)


def _shipped_per_line(fulfillment) -> dict[int, int]:
    shipped = defaultdict(int)
    for line_id, quantity in fulfillment.lines.values_list("line_id", "quantity"):
        shipped[line_id] += quantity
    return {line_id: quantity for line_id, quantity in shipped.items() if quantity}


def _lines_and_allocations(shipped):
    from orders.models import Allocation, OrderLine

    lines = {
        line.pk: line
        for line in OrderLine.objects.filter(pk__in=shipped).select_related("product")
    }
    allocations = list(
        Allocation.objects.filter(line_id__in=shipped).values(
            "pk", "line_id", "location_id", "quantity"
        )
    )
    return lines, allocations


def _check_open_quantities(shipped, lines):
    problems = []
    for line_id, quantity in sorted(shipped.items()):
        line = lines[line_id]
        if line.product_id is None:
            problems.append(
                f"Line {line.external_id} of order {line.order_id} matches no "
                "product; match it before shipping it."
            )
        elif quantity > line.quantity_open:
            problems.append(
                f"Line {line.external_id} ({line.product.sku}) of order "
                f"{line.order_id}: {quantity} shipped but only "
                f"{line.quantity_open} open ({line.quantity} ordered, "
                f"{line.quantity_fulfilled} already shipped"
                + (", cancelled" if line.status == line.Status.CANCELLED else "")
                + "). Ship at most the open quantity."
            )
    if problems:
        raise OverFulfillment(problems)


def _plan_consumption(fulfillment, shipped, lines, allocations, levels):
    location_id = fulfillment.location_id
    here = {
        row["line_id"]: row for row in allocations if row["location_id"] == location_id
    }
    plan = {"consume": [], "release": [], "allocations": {}}
    free_needed = defaultdict(int)
    for line_id, quantity in sorted(shipped.items()):
        line = lines[line_id]
        allocated = here[line_id]["quantity"] if line_id in here else 0
        from_committed = min(quantity, allocated)
        free_needed[line.product_id] += quantity - from_committed
        plan["consume"].append((line, quantity, from_committed))
        if line_id in here:
            plan["allocations"][here[line_id]["pk"]] = allocated - from_committed
        if quantity == line.quantity_open:
            plan["release"] += [
                row
                for row in allocations
                if row["line_id"] == line_id and row["location_id"] != location_id
            ]
    shortfalls = []
    for product_id, needed in free_needed.items():
        level = levels.get((product_id, location_id))
        free = level.on_hand - level.committed if level else 0
        if needed > free:
            sku = next(
                line.product.sku
                for line in lines.values()
                if line.product_id == product_id
            )
            shortfalls.append(
                Shortfall(product_id, sku, needed, free, fulfillment.location.name)
            )
    if shortfalls:
        raise InsufficientStock(shortfalls)
    return plan


def _write_consumption(fulfillment, plan, levels):
    from orders.models import Allocation, OrderLine

    location_id = fulfillment.location_id
    reference = fulfillment.reference
    deltas = defaultdict(lambda: [0, 0])
    movements = []
    for line, quantity, from_committed in plan["consume"]:
        pk = levels[(line.product_id, location_id)].pk
        deltas[pk][0] -= quantity
        deltas[pk][1] -= from_committed
        movements.append(
            StockMovement(
                product_id=line.product_id,
                location_id=location_id,
                reason=StockMovement.Reason.FULFILLMENT,
                on_hand_change=-quantity,
                committed_change=-from_committed,
                reference=reference,
            )
        )
        OrderLine.objects.filter(pk=line.pk).update(
            quantity_fulfilled=F("quantity_fulfilled") + quantity
        )
    for row in plan["release"]:
        line = next(line for line, *_ in plan["consume"] if line.pk == row["line_id"])
        deltas[levels[(line.product_id, row["location_id"])].pk][1] -= row["quantity"]
        movements.append(
            StockMovement(
                product_id=line.product_id,
                location_id=row["location_id"],
                reason=StockMovement.Reason.RELEASE,
                committed_change=-row["quantity"],
                reference=reference,
                note="Line shipped in full from another location.",
            )
        )
    add_to_counters({pk: tuple(delta) for pk, delta in deltas.items()})
    for pk, remaining in plan["allocations"].items():
        if remaining:
            Allocation.objects.filter(pk=pk).update(quantity=remaining)
        else:
            Allocation.objects.filter(pk=pk).delete()
    Allocation.objects.filter(pk__in=[row["pk"] for row in plan["release"]]).delete()
    StockMovement.objects.bulk_create(movements)
    mark_changed({line.product_id for line, *_ in plan["consume"]})


def restock_return_line(
    return_line, *, quantity: int | None = None, location=None, user=None
) -> int:
    """Put received GOOD units of a return line back on hand; return the units.

    ``quantity`` defaults to what was received and not yet restocked;
    ``location`` defaults to the return's receiving location. DAMAGED units,
    and lines with no condition set, are not restocked (0 is returned). The
    line's ``quantity_restocked`` grows through a conditional UPDATE that
    never passes ``quantity_received``, so a receipt processed twice restocks
    once. Writes a RETURN_RECEIPT movement and queues routing of waiting
    orders.
    """
    from orders.models import ReturnLine

    if return_line.condition != ReturnLine.Condition.GOOD:
        return 0
    location = location or return_line.return_request.location
    if location is None:
        raise StockError(
            f"Return {return_line.return_request} has no receiving location; "
            "set the location where the goods arrived, then restock."
        )
    product = return_line.line.product
    if product is None:
        raise StockError(
            f"Return line {return_line.pk} is for an order line that matches no "
            "product; match the order line first."
        )
    if quantity is None:
        quantity = return_line.quantity_received - return_line.quantity_restocked
    if quantity <= 0:
        return 0
    with transaction.atomic():
        updated = ReturnLine.objects.filter(
            pk=return_line.pk,
            quantity_restocked__lte=F("quantity_received") - quantity,
        ).update(quantity_restocked=F("quantity_restocked") + quantity)
        if not updated:
            return 0
        adjust(
            product,
            location,
            on_hand_change=quantity,
            reason=StockMovement.Reason.RETURN_RECEIPT,
            reference=return_line.return_request.reference,
            user=user,
        )
    return_line.refresh_from_db(fields=["quantity_restocked"])
    return quantity


# Repair.


@dataclass(frozen=True)
class CommittedDifference:
    level_id: int | None
    product_id: int
    sku: str
    location_id: int
    location: str
    recorded: int
    expected: int
    on_hand: int

    @property
    def fixable(self) -> bool:
        return self.level_id is not None and self.expected <= self.on_hand


def committed_differences() -> list[CommittedDifference]:
    """Compare each level's committed units with the sum of its allocations."""
    from orders.models import Allocation

    expected = {
        (row["line__product_id"], row["location_id"]): row["total"]
        for row in Allocation.objects.values("line__product_id", "location_id")
        .annotate(total=Sum("quantity"))
        .order_by()
    }
    differences = []
    levels = StockLevel.objects.filter(
        Q(committed__gt=0) | Q(pk__in=_level_pks(expected))
    ).select_related("product", "location")
    seen = set()
    for level in levels:
        key = (level.product_id, level.location_id)
        seen.add(key)
        want = expected.get(key, 0)
        if want != level.committed:
            differences.append(
                CommittedDifference(
                    level.pk,
                    level.product_id,
                    level.product.sku,
                    level.location_id,
                    level.location.name,
                    level.committed,
                    want,
                    level.on_hand,
                )
            )
    differences += _allocations_without_level(expected, seen)
    return differences


def _level_pks(expected):
    pks = []
    by_location = defaultdict(list)
    for product_id, location_id in expected:
        by_location[location_id].append(product_id)
    for location_id, product_ids in by_location.items():
        for start in range(0, len(product_ids), CHUNK):
            pks += StockLevel.objects.filter(
                location_id=location_id,
                product_id__in=product_ids[start : start + CHUNK],
            ).values_list("pk", flat=True)
    return pks


def _allocations_without_level(expected, seen):
    from catalog.models import Product

    missing = [key for key in expected if key not in seen]
    if not missing:
        return []
    skus = dict(
        Product.objects.filter(pk__in={key[0] for key in missing}).values_list(
            "pk", "sku"
        )
    )
    names = dict(Location.objects.values_list("pk", "name"))
    return [
        CommittedDifference(
            None,
            product_id,
            skus[product_id],
            location_id,
            names[location_id],
            0,
            expected[(product_id, location_id)],
            0,
        )
        for product_id, location_id in missing
    ]


def repair_committed(differences: Sequence[CommittedDifference]) -> int:
    """Set committed to the allocations' sum for the fixable differences.

    Locks the levels in primary-key order and recomputes each difference
    under the lock, so a commit made meanwhile is not undone. Writes a REPAIR
    movement per fixed level. Returns the number of levels fixed.
    """
    from orders.models import Allocation

    fixable = [difference for difference in differences if difference.fixable]
    if not fixable:
        return 0
    fixed = 0
    with transaction.atomic():
        levels = lock_level_pks(difference.level_id for difference in fixable)
        for level in sorted(levels.values(), key=lambda level: level.pk):
            expected = (
                Allocation.objects.filter(
                    line__product_id=level.product_id, location_id=level.location_id
                ).aggregate(total=Sum("quantity"))["total"]
                or 0
            )
            change = expected - level.committed
            if not change or expected > level.on_hand:
                continue
            add_to_counters({level.pk: (0, change)})
            StockMovement.objects.create(
                product_id=level.product_id,
                location_id=level.location_id,
                reason=StockMovement.Reason.REPAIR,
                committed_change=change,
                note=f"Committed {level.committed} did not match the open "
                f"allocations ({expected}).",
            )
            fixed += 1
        mark_changed(level.product_id for level in levels.values())
    return fixed
