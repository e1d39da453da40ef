"""Checks of the inventory push: counted locations, drift from the last
accepted quantity, and the SKU allowlist."""

from datetime import timedelta

from django.urls import reverse

from catalog.models import Product
from connectors.models import Connector, Stream, SyncState
from inventory.availability import counting_location_ids, totals_for
from inventory.models import (
    ExternalLocation,
    InventoryChange,
    InventorySnapshot,
    Location,
)
from orders.models import OrderLine

from ..findings import EXAMPLES, Finding, Severity, counted

TOTALS = "inventory_totals"
ALLOWLIST = "sku_allowlist"

TOTALS_WRONG = "Inventory totals look wrong"
WRONG_PRODUCTS = "Inventory updating the wrong products"
#: How far back order lines count as "sold on this connector".
SOLD_DAYS = 30


def _resync_step(connector: Connector) -> str:
    return (
        "Send every total again with the admin action 'Force inventory resync' "
        "(Connectors list: tick the connector, pick the action), or run "
        f"python manage.py force_inventory_resync {connector.name!r}."
    )


def _max_quantity(connector: Connector) -> int:
    if connector.is_thg:
        from connectors.thg.streams import MAX_STOCK_QUANTITY
    else:
        from connectors.tiktok.streams import MAX_STOCK_QUANTITY
    return MAX_STOCK_QUANTITY


def check_inventory_totals(ctx) -> list[Finding]:
    """List the locations counted, and items whose last push differs from now."""
    connector = ctx.connector
    if not connector.inventory_enabled:
        return [
            Finding(
                check=TOTALS,
                code="inventory_off",
                severity=Severity.WARNING,
                title=TOTALS_WRONG,
                message=f"Inventory out is off on {connector.name}: no totals are "
                "pushed, so the channel keeps whatever it was last sent.",
                next_step="Switch on 'inventory out' on the connector, then "
                "force an inventory resync.",
                evidence={"inventory_enabled": False},
            )
        ]
    findings = [_counted_locations(connector)]
    findings.extend(_drift(ctx))
    return findings


def _counted_locations(connector: Connector) -> Finding:
    counted_ids = set(counting_location_ids(connector))
    included, left_out = [], []
    for link in (
        ExternalLocation.objects.filter(connector=connector)
        .select_related("location")
        .order_by("location__priority", "location__name")
    ):
        location = link.location
        entry = {"location": location.code, "external_id": link.external_id}
        if location.pk in counted_ids:
            included.append(entry)
            continue
        if not link.counts_in_totals:
            entry["why"] = "does not count in this connector's totals"
        elif not location.active:
            entry["why"] = "inactive"
        else:
            entry["why"] = "paused"
        left_out.append(entry)
    unlinked = list(
        Location.objects.filter(active=True)
        .exclude(external_ids__connector=connector)
        .order_by("priority", "name")
        .values_list("code", flat=True)
    )
    evidence = {
        "counted": included,
        "left_out": left_out,
        "not_linked": unlinked,
    }
    links = (
        (
            "Inventory preview",
            reverse("admin:inventory_inventorysnapshot_preview", args=[connector.pk]),
        ),
    )
    if not included:
        return Finding(
            check=TOTALS,
            code="no_counted_locations",
            severity=Severity.ERROR,
            title=TOTALS_WRONG,
            message=f"No location counts in {connector.name}'s totals, so every "
            "item is pushed as 0.",
            next_step="Link the locations that stock this channel to the "
            "connector (the location's connector links) with 'counts in totals' "
            "ticked, or unpause them.",
            evidence=evidence,
            links=links,
        )
    names = ", ".join(f"{e['location']} ({e['external_id']})" for e in included)
    message = f"Totals for {connector.name} sum the available units at {names}."
    if left_out or unlinked:
        message += (
            f" Left out: {counted(len(left_out) + len(unlinked), 'other location')}, "
            "whose stock is never in this channel's totals."
        )
    return Finding(
        check=TOTALS,
        code="counted_locations",
        severity=Severity.INFO,
        title=TOTALS_WRONG,
        message=message,
        next_step="If a location is missing from the list, link it to the "
        "connector with 'counts in totals' ticked. " + _resync_step(connector),
        evidence=evidence,
        links=links,
    )


def _drift(ctx) -> list[Finding]:
    """Compare each item's last accepted quantity with its total now.

    An item whose stock changed after the last successful push is only
    waiting for the next one; the others should already match.
    """
    connector = ctx.connector
    snapshots = {
        snapshot.product_id: snapshot
        for snapshot in InventorySnapshot.objects.filter(connector=connector)
    }
    if not snapshots:
        return []
    totals = totals_for(connector, list(snapshots))
    limit = _max_quantity(connector)
    last_push = (
        SyncState.objects.filter(connector=connector, stream=Stream.INVENTORY)
        .values_list("last_success_at", flat=True)
        .first()
    )
    marked = dict(
        InventoryChange.objects.filter(
            connector=connector, product_id__in=list(snapshots)
        ).values_list("product_id", "marked_at")
    )
    skus = dict(Product.objects.filter(pk__in=list(snapshots)).values_list("pk", "sku"))
    drifted, waiting = [], 0
    for product_id, snapshot in sorted(snapshots.items()):
        if product_id not in totals:
            continue  # Outside the allowlist: not pushed any more.
        expected = min(max(totals[product_id], 0), limit)
        if snapshot.accepted_quantity == expected:
            continue
        changed_at = marked.get(product_id)
        if last_push is None or (changed_at is not None and changed_at > last_push):
            waiting += 1
            continue
        drifted.append((skus.get(product_id, str(product_id)), snapshot, expected))
    findings = []
    if drifted:
        rejected = sum(1 for _, s, _ in drifted if s.last_status == "rejected")
        findings.append(
            Finding(
                check=TOTALS,
                code="inventory_drift",
                severity=Severity.WARNING,
                title=TOTALS_WRONG,
                message=f"{counted(len(drifted), 'item')} whose last accepted "
                "quantity differs from the total now, although the stock has not "
                f"changed since the last successful push. The channel rejected "
                f"{rejected} of them on the last push.",
                next_step=_resync_step(connector)
                + " Rejected items name their reason on the inventory snapshots.",
                evidence={
                    "count": len(drifted),
                    "rejected": rejected,
                    "last_successful_push": last_push,
                    "examples": [
                        {
                            "sku": sku,
                            "identifier": snapshot.identifier,
                            "accepted": snapshot.accepted_quantity,
                            "total_now": expected,
                            "last_status": snapshot.last_status,
                            "last_error": snapshot.last_error,
                        }
                        for sku, snapshot, expected in drifted[:EXAMPLES]
                    ],
                },
            )
        )
    if waiting:
        findings.append(
            Finding(
                check=TOTALS,
                code="inventory_waiting",
                severity=Severity.INFO,
                title=TOTALS_WRONG,
                message=f"{counted(waiting, 'item')} changed since the last "
                f"successful push (at {last_push or 'never'}). The next push "
                "sends them.",
                next_step=f"Wait for the next inventory run (every "
                f"{connector.inventory_interval_minutes} minutes), or send "
                "them at once. " + _resync_step(connector),
                evidence={"count": waiting, "last_successful_push": last_push},
            )
        )
    return findings


_EDIT_ALLOWLIST = (
    "Edit 'process inventory only for these SKUs' on the connector (Inventory "
    "section); leave it empty to push every product. Saving it in the admin "
    "marks the whole catalog for the next push."
)


def check_sku_allowlist(ctx) -> list[Finding]:
    """Name the products the SKU allowlist leaves out of the push."""
    connector = ctx.connector
    allowlist = connector.sku_allowlist()
    if not allowlist:
        return []
    left_out = (
        Product.objects.filter(active=True, variants__isnull=True)
        .exclude(sku__in=allowlist)
        .order_by("sku")
    )
    sold = _sold_since(connector, left_out, ctx.now - timedelta(days=SOLD_DAYS))

    findings = []
    scope = _allowlist_scope(connector, allowlist, left_out, sold)
    if scope is not None:
        findings.append(scope)
    known = set(Product.objects.filter(sku__in=allowlist).values_list("sku", flat=True))
    unknown = sorted(allowlist - known)
    if unknown:
        findings.append(
            Finding(
                check=ALLOWLIST,
                code="allowlist_unknown_sku",
                severity=Severity.WARNING,
                title=WRONG_PRODUCTS,
                message=f"The allowlist names {counted(len(unknown), 'SKU')} "
                "that no product has (SKUs compare case-sensitively), so nothing "
                "is pushed for them.",
                next_step=f"Correct or remove them. {_EDIT_ALLOWLIST}",
                evidence={"unknown": unknown[:EXAMPLES], "count": len(unknown)},
            )
        )
    return findings


def _sold_since(connector, products, since) -> list[str]:
    """Return the SKUs of ``products`` on the connector's order lines since then."""
    return list(
        OrderLine.objects.filter(
            order__connector=connector,
            order__placed_at__gte=since,
            product__in=products,
        )
        .values_list("product__sku", flat=True)
        .distinct()
        .order_by("product__sku")
    )


def _allowlist_scope(connector, allowlist, left_out, sold) -> Finding | None:
    left_out_count = left_out.count()
    if not left_out_count:
        return None
    evidence = {
        "allowlist": len(allowlist),
        "left_out": left_out_count,
        "left_out_examples": list(left_out.values_list("sku", flat=True)[:EXAMPLES]),
        "sold_but_left_out": sold[:EXAMPLES],
    }
    limits = f"The SKU allowlist limits the push to {counted(len(allowlist), 'SKU')}"
    if sold:
        return Finding(
            check=ALLOWLIST,
            code="allowlist_leaves_out_sold",
            severity=Severity.WARNING,
            title=WRONG_PRODUCTS,
            message=f"{limits} and leaves out {counted(left_out_count, 'product')}, "
            f"{len(sold)} of them sold on {connector.name} in the last "
            f"{SOLD_DAYS} days. The channel's stock for those is never updated.",
            next_step=f"Add the sold SKUs to the allowlist. {_EDIT_ALLOWLIST}",
            evidence=evidence,
        )
    return Finding(
        check=ALLOWLIST,
        code="allowlist_set",
        severity=Severity.INFO,
        title=WRONG_PRODUCTS,
        message=f"{limits}. Left out: {counted(left_out_count, 'product')}, whose "
        "quantity on the channel stays as it is.",
        next_step=_EDIT_ALLOWLIST,
        evidence=evidence,
    )
