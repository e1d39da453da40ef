"""Available to sell: per location, per connector, and what to push next.

Available at a location = on hand − committed − safety stock, never below
zero. The safety stock is the product's when it has one, else the
location's. A connector's total for a product sums the available units over
the locations that count in that connector's totals: the connector's
ExternalLocation rows with ``counts_in_totals`` whose location is active and
not paused. The connector's SKU allowlist, when set, limits the products.

Finding what to push reads change marks (:class:`InventoryChange`), not the
catalog: every stock service marks the products it changes, in the same
transaction, for every connector. :func:`changed_since_last_push` computes
the totals of the marked products only, returns those that differ from the
quantity the connector last accepted, and drops the marks of the others. A
mark is dropped only if its token is still the one read, so a change that
commits meanwhile keeps its mark for the next push. The work therefore grows
with the number of changed products, not with the catalog.
"""

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from .bulk_sql import insert_rows
from .models import ExternalLocation, InventoryChange, InventorySnapshot, StockLevel

logger = logging.getLogger(__name__)

CHUNK = 2000


class PushItem(NamedTuple):
    """A product whose total differs from what the connector accepted.

    ``identifier`` is the one stored with the connector's last snapshot of
    the product, or None when the product was never pushed.
    """

    product_id: int
    identifier: str | None
    total: int


@dataclass(frozen=True)
class LocationPart:
    """One location's share of a connector's total, for the preview page."""

    location_id: int
    code: str
    name: str
    external_id: str
    on_hand: int
    committed: int
    safety_stock: int
    available: int
    counts: bool
    excluded_because: str = ""


def available(level: StockLevel) -> int:
    """Return the units of ``level`` that can be sold: never below zero."""
    safety = level.product.safety_stock
    if safety is None:
        safety = level.location.safety_stock
    return max(level.on_hand - level.committed - safety, 0)


def counting_location_ids(connector) -> list[int]:
    """Return the locations that count in this connector's totals."""
    return list(
        ExternalLocation.objects.filter(
            connector=connector,
            counts_in_totals=True,
            location__active=True,
            location__paused=False,
        )
        .order_by("location_id")
        .values_list("location_id", flat=True)
    )


def _available_expression():
    safety = Coalesce(F("product__safety_stock"), F("location__safety_stock"))
    return Greatest(F("on_hand") - F("committed") - safety, Value(0))


def totals_for(connector, product_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Return {product_id: total available} for the connector.

    Every product in scope gets a figure, 0 when no counting location has
    stock of it. The scope is ``product_ids`` when given, else the whole catalog, and
    the connector's SKU allowlist when it has one. The sums run in SQL: three
    queries for the whole catalog, two more per 2,000 ids passed.
    """
    from catalog.models import Product

    location_ids = counting_location_ids(connector)
    allowlist = connector.sku_allowlist()
    products = Product.objects.all()
    if allowlist:
        products = products.filter(sku__in=allowlist)
    if product_ids is None:
        chunks = [None]
    else:
        ids = sorted(set(product_ids))
        chunks = [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]
    totals = {}
    for chunk in chunks:
        scope = products if chunk is None else products.filter(pk__in=chunk)
        totals.update(dict.fromkeys(scope.values_list("pk", flat=True), 0))
        if not location_ids:
            continue
        levels = StockLevel.objects.filter(location_id__in=location_ids)
        if chunk is not None:
            levels = levels.filter(product_id__in=chunk)
        if allowlist:
            levels = levels.filter(product__sku__in=allowlist)
        sums = (
            levels.values("product_id")
            .annotate(total=Sum(_available_expression()))
            .order_by()
            .values_list("product_id", "total")
        )
        totals.update(sums)
    return totals


def breakdown_for(
    connector, product_ids: Iterable[int]
) -> dict[int, list[LocationPart]]:
    """Return each product's stock per location, marking what counts and why.

    Covers every location holding the product; ``counts`` is true for those
    in the connector's total, and ``excluded_because`` gives the reason
    the others are left out.
    """
    ids = sorted(set(product_ids))
    external = {
        row.location_id: row
        for row in ExternalLocation.objects.filter(connector=connector)
    }
    allowlist = connector.sku_allowlist()
    parts: dict[int, list[LocationPart]] = {product_id: [] for product_id in ids}
    for start in range(0, len(ids), CHUNK):
        levels = (
            StockLevel.objects.filter(product_id__in=ids[start : start + CHUNK])
            .select_related("product", "location")
            .order_by("product_id", "location__priority", "location__name")
        )
        for level in levels:
            reason = _exclusion(level, external.get(level.location_id), allowlist)
            parts[level.product_id].append(
                LocationPart(
                    location_id=level.location_id,
                    code=level.location.code,
                    name=level.location.name,
                    external_id=getattr(
                        external.get(level.location_id), "external_id", ""
                    ),
                    on_hand=level.on_hand,
                    committed=level.committed,
                    safety_stock=_safety(level),
                    available=available(level),
                    counts=not reason,
                    excluded_because=reason,
                )
            )
    return parts


def _safety(level) -> int:
    if level.product.safety_stock is not None:
        return level.product.safety_stock
    return level.location.safety_stock


def _exclusion(level, external, allowlist) -> str:
    if allowlist and level.product.sku not in allowlist:
        return "not in the connector's SKU allowlist"
    if external is None:
        return "location not linked to this connector"
    if not external.counts_in_totals:
        return "location does not count in this connector's totals"
    if not level.location.active:
        return "location inactive"
    if level.location.paused:
        return "location paused"
    return ""


# Change marks and the push.


def mark_changed(product_ids: Iterable[int], connectors=None) -> None:
    """Mark products for the next inventory push of every connector.

    Call it inside the transaction that changes the stock, safety stock or
    counting locations of these products. Rows are written sorted by
    (connector, product), so concurrent writers lock them in one order.
    """
    from connectors.models import Connector

    ids = sorted(set(product_ids))
    if not ids:
        return
    if connectors is None:
        connector_ids = list(
            Connector.objects.order_by("pk").values_list("pk", flat=True)
        )
    else:
        connector_ids = sorted(connector.pk for connector in connectors)
    now = timezone.now()
    insert_rows(
        InventoryChange,
        ["connector_id", "product_id", "token", "marked_at"],
        [
            (connector_id, product_id, secrets.randbits(62), now)
            for connector_id in connector_ids
            for product_id in ids
        ],
        unique_fields=["connector", "product"],
        update_fields=["token", "marked_at"],
    )


def mark_location_changed(location, connectors=None) -> None:
    """Mark every product held at a location (after its flags change)."""
    product_ids = StockLevel.objects.filter(location=location).values_list(
        "product_id", flat=True
    )
    mark_changed(list(product_ids), connectors)


def mark_all_changed(connector) -> None:
    """Mark the whole catalog for one connector (after its allowlist changes)."""
    from catalog.models import Product

    mark_changed(Product.objects.values_list("pk", flat=True), [connector])


def changed_since_last_push(connector) -> list[PushItem]:
    """Return the items whose total differs from the connector's snapshot.

    Reads the connector's change marks, computes those products' totals, and
    returns the ones that differ from ``InventorySnapshot.accepted_quantity``
    (a product never pushed always differs). Marks of products that match,
    or that fall outside the allowlist, are removed. A connector with no
    snapshot yet gets every product, for its first push. An item the channel
    rejects keeps its old accepted quantity, and its mark, so it comes back
    on the next call.
    """
    if not InventorySnapshot.objects.filter(connector=connector).exists():
        return [
            PushItem(product_id, None, total)
            for product_id, total in sorted(totals_for(connector).items())
        ]
    marks = dict(
        InventoryChange.objects.filter(connector=connector).values_list(
            "product_id", "token"
        )
    )
    if not marks:
        return []
    totals = totals_for(connector, marks)
    snapshots = _snapshots(connector, marks)
    items = []
    settled = []
    for product_id in sorted(marks):
        identifier, accepted = snapshots.get(product_id, (None, None))
        if product_id not in totals or totals[product_id] == accepted:
            settled.append((product_id, marks[product_id]))
        else:
            items.append(PushItem(product_id, identifier, totals[product_id]))
    _drop_marks(connector, settled)
    logger.info(
        "Connector %s: %d marked products, %d to push",
        connector.pk,
        len(marks),
        len(items),
    )
    return items


def _snapshots(connector, product_ids) -> dict[int, tuple[str, int | None]]:
    ids = sorted(product_ids)
    found = {}
    for start in range(0, len(ids), CHUNK):
        rows = InventorySnapshot.objects.filter(
            connector=connector, product_id__in=ids[start : start + CHUNK]
        ).values_list("product_id", "identifier", "accepted_quantity")
        for product_id, identifier, accepted in rows:
            found[product_id] = (identifier, accepted)
    return found


def _drop_marks(connector, settled) -> None:
    for start in range(0, len(settled), 500):
        condition = Q()
        for product_id, token in settled[start : start + 500]:
            condition |= Q(product_id=product_id, token=token)
        InventoryChange.objects.filter(condition, connector=connector).delete()
