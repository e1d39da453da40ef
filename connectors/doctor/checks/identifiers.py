"""Checks of how order lines match products: unmatched lines, the
identifier audit, Channel SKUs on TikTok rows and on parent products."""

import copy
from collections import Counter, defaultdict
from datetime import timedelta

from django.urls import reverse

from catalog import audit
from catalog.matching import line_identifier, products_for_identifiers
from catalog.models import ChannelListing, Product
from connectors.models import Connector
from orders.models import OrderLine

from ..findings import EXAMPLES, Finding, Severity, counted

UNMATCHED = "unmatched_lines"
AUDIT = "identifier_audit"
TIKTOK_CHANNEL_SKU = "tiktok_channel_sku"
PARENT_CHANNEL_SKU = "parent_channel_sku"

#: From this share of recent lines unmatched, the finding is an error.
UNMATCHED_ERROR_SHARE = 0.25
#: Lines matched again per query while testing the other strategies.
PAGE_SIZE = 1000
RECHECK = (
    "Importing a UPC-to-SKU file checks the waiting orders again by itself; "
    "after any other fix, run 'Check exceptions again' on the orders."
)
STRATEGY_NAMES = {
    Connector.IdentifierStrategy.MASTER_SKU: "A (THG's SKU field = master SKU)",
    Connector.IdentifierStrategy.CHANNEL_SKU: "B (Channel SKU = THG UPC)",
    Connector.IdentifierStrategy.CUSTOM_MAPPING: "C (mapping table)",
}


def _recent_lines(ctx):
    since = ctx.now - timedelta(days=audit.RECENT_DAYS)
    return OrderLine.objects.filter(
        order__connector=ctx.connector,
        order__placed_at__gte=since,
        status=OrderLine.Status.OPEN,
    )


def _identifier_kind(connector: Connector, upc: str, sku: str, seller_sku: str):
    if not connector.is_thg:
        return "seller_sku" if seller_sku.strip() else "none"
    has_upc, has_sku = bool(upc.strip()), bool(sku.strip())
    if has_upc and has_sku:
        return "upc_and_thg_sku"
    if has_upc:
        return "upc_only"
    if has_sku:
        return "thg_sku_only"
    return "none"


def _example(line: OrderLine) -> dict:
    example = {"order": str(line.order), "line": line.external_id}
    if line.upc:
        example["upc"] = line.upc
    if line.channel_sku:
        example["thg_sku"] = line.channel_sku
    if line.seller_sku:
        example["seller_sku"] = line.seller_sku
    return example


def _matches_per_strategy(connector: Connector, lines) -> dict[str, int]:
    """Count the lines each THG strategy would match with today's identifiers."""
    strategies = list(Connector.IdentifierStrategy) if connector.is_thg else [None]
    counts = dict.fromkeys(strategies, 0)
    variants = {}
    for strategy in strategies:
        variant = copy.copy(connector)
        if strategy is not None:
            variant.identifier_strategy = strategy
        variants[strategy] = variant
    queryset = lines.only("pk", "upc", "channel_sku", "seller_sku")
    last_pk = 0
    while page := list(queryset.filter(pk__gt=last_pk).order_by("pk")[:PAGE_SIZE]):
        last_pk = page[-1].pk
        for strategy, variant in variants.items():
            identifiers = [line_identifier(variant, line) for line in page]
            found = products_for_identifiers(variant, identifiers)
            counts[strategy] += sum(1 for value in identifiers if value in found)
    return counts


def _upcs_of_products(lines) -> int:
    """Count the lines whose UPC is some product's UPC (as a 14-digit GTIN)."""
    from catalog import gtin

    upcs = Counter()
    for upc in lines.exclude(upc="").values_list("upc", flat=True).iterator():
        try:
            upcs[gtin.normalize(upc)] += 1
        except gtin.InvalidGTIN:
            continue
    known = set(
        Product.objects.filter(upc__in=list(upcs)).values_list("upc", flat=True)
    )
    return sum(count for upc, count in upcs.items() if upc in known)


def check_unmatched_lines(ctx) -> list[Finding]:
    """Find recent order lines that match no product, and explain why."""
    connector = ctx.connector
    lines = _recent_lines(ctx)
    total = lines.count()
    unmatched = lines.filter(product__isnull=True)
    count = unmatched.count()
    if not count:
        return []
    kinds = Counter(
        _identifier_kind(connector, *row)
        for row in unmatched.values_list("upc", "channel_sku", "seller_sku").iterator()
    )
    examples = [
        _example(line)
        for line in unmatched.select_related("order").order_by("pk")[:EXAMPLES]
    ]
    matches = _matches_per_strategy(connector, unmatched)
    share = count / total
    evidence = {
        "days": audit.RECENT_DAYS,
        "lines": total,
        "unmatched": count,
        "unmatched_percent": round(share * 100, 1),
        "by_identifier_kind": dict(sorted(kinds.items())),
        "examples": examples,
    }
    if connector.is_thg:
        evidence["strategy"] = connector.identifier_strategy
        evidence["would_match_by_strategy"] = {
            str(strategy): matched for strategy, matched in matches.items()
        }
        reasons, next_step = _thg_reasons(connector, unmatched, kinds, matches)
    else:
        evidence["would_match_now"] = matches[None]
        reasons, next_step = _tiktok_reasons(matches[None])
    return [
        Finding(
            check=UNMATCHED,
            code="lines_unmatched",
            severity=Severity.ERROR
            if share >= UNMATCHED_ERROR_SHARE
            else Severity.WARNING,
            title="Orders not matching products",
            message=f"{count} of {counted(total, 'order line')} of the last "
            f"{audit.RECENT_DAYS} days ({evidence['unmatched_percent']} %) match "
            "no product. " + " ".join(reasons),
            next_step=next_step,
            evidence=evidence,
            links=(
                (
                    "Match preview",
                    reverse("admin:catalog_product_match_preview", args=[connector.pk]),
                ),
            ),
        )
    ]


def _thg_reasons(connector, unmatched, kinds, matches) -> tuple[list[str], str]:
    strategy = connector.identifier_strategy
    reasons = []
    next_steps = []
    upc_without_sku = kinds["upc_only"]
    if strategy == Connector.IdentifierStrategy.MASTER_SKU and upc_without_sku:
        reasons.append(
            f"Strategy A reads THG's SKU field, which is empty on "
            f"{upc_without_sku} of these lines while their UPC is present: this "
            "UPC-against-SKU mismatch is the usual cause."
        )
        next_steps.append(
            "Switch the connector's identifier strategy to B and give each "
            "product its THG UPC as Channel SKU, or to C and import a UPC-to-SKU "
            "file; or ask the merchant to fill THG's SKU field with the master "
            "SKUs."
        )
    others = {s: n for s, n in matches.items() if s != strategy and n}
    if others:
        best = max(others, key=others.get)
        reasons.append(
            f"Strategy {STRATEGY_NAMES[best]} would match {others[best]} of them "
            f"with today's identifiers; the connector uses "
            f"{STRATEGY_NAMES[strategy]}."
        )
        if not next_steps:
            next_steps.append(
                f"Switch the connector's identifier strategy to {best}, or add "
                f"the identifiers strategy {strategy} reads."
            )
    if strategy == Connector.IdentifierStrategy.CHANNEL_SKU:
        known = _upcs_of_products(unmatched)
        if known:
            reasons.append(
                f"{known} of them carry a UPC that a product has in its UPC "
                "field, but no product has it as its THG Channel SKU, which "
                "strategy B reads."
            )
            next_steps.append(
                "Set the Channel SKU of those products to their THG UPC (Channel "
                "Options, or import a UPC-to-SKU file)."
            )
    if matches[strategy]:
        reasons.append(
            f"{matches[strategy]} of them match now: their identifiers were "
            "added after the lines arrived."
        )
    if not reasons:
        reasons.append(
            "No strategy matches them: the catalog has no product with these "
            "identifiers."
        )
        next_steps.append(
            "Add the missing products, or their identifiers (Channel Options, "
            "or a UPC-to-SKU file)."
        )
    return reasons, " ".join([*next_steps, RECHECK])


def _tiktok_reasons(matched_now: int) -> tuple[list[str], str]:
    reasons = [
        "TikTok Shop matches each line's seller SKU against the master SKUs, "
        "and these seller SKUs are no product's SKU."
    ]
    if matched_now:
        reasons.append(
            f"{matched_now} of them match now: the products were added or "
            "renamed after the lines arrived."
        )
    return reasons, (
        "Make each seller SKU in TikTok Shop equal to its product's master SKU "
        "(or add the products), then run 'Check exceptions again' on the orders."
    )


# Mixed identifier approaches and duplicate identifiers.

_AUDIT_SEVERITY = {
    audit.Kind.DUPLICATE_UPC: Severity.ERROR,
    audit.Kind.DUPLICATE_CHANNEL_SKU: Severity.ERROR,
    audit.Kind.SIMILAR_SKUS: Severity.WARNING,
    audit.Kind.INVALID_UPC: Severity.WARNING,
    audit.Kind.MISSING_IDENTIFIER: Severity.WARNING,
    audit.Kind.UNUSED_IDENTIFIER: Severity.WARNING,
}
_AUDIT_TITLES = {
    audit.Kind.UNUSED_IDENTIFIER: "Mixed identifier approaches",
    audit.Kind.DUPLICATE_UPC: "Duplicate identifiers",
    audit.Kind.DUPLICATE_CHANNEL_SKU: "Duplicate identifiers",
    audit.Kind.SIMILAR_SKUS: "Duplicate identifiers",
    audit.Kind.INVALID_UPC: "Invalid identifiers",
    audit.Kind.MISSING_IDENTIFIER: "Products without an identifier",
}
_AUDIT_NEXT_STEPS = {
    audit.Kind.DUPLICATE_UPC: "Correct the UPC on all but one product of each "
    "group in the product admin.",
    audit.Kind.DUPLICATE_CHANNEL_SKU: "Keep each Channel SKU or mapped "
    "identifier on one product and remove it from the others.",
    audit.Kind.SIMILAR_SKUS: "Rename all but one SKU of each group, so no two "
    "SKUs differ only by case or spaces.",
    audit.Kind.INVALID_UPC: "Correct each value as its message describes.",
    audit.Kind.MISSING_IDENTIFIER: "Give each product the identifier the "
    "connector's strategy reads: its Channel SKU on the Channel Options "
    "(strategy B), or a row in a UPC-to-SKU file (strategy C).",
    audit.Kind.UNUSED_IDENTIFIER: "Use one approach per connector: remove the "
    "identifiers its strategy does not read, or switch the strategy to the one "
    "they belong to.",
}
#: Audit kinds that other checks report with their own explanation.
_REPORTED_ELSEWHERE = {audit.Kind.PARENT_CHANNEL_SKU, audit.Kind.UNKNOWN_SELLER_SKU}


def _audit_example(finding, skus: dict[int, str]) -> dict:
    return {
        "value": finding.value,
        "skus": [skus.get(pk, str(pk)) for pk in finding.product_ids],
    }


def _product_skus(findings) -> dict[int, str]:
    ids = {pk for finding in findings for pk in finding.product_ids}
    return dict(Product.objects.filter(pk__in=ids).values_list("pk", "sku"))


def check_identifier_audit(ctx) -> list[Finding]:
    """Report the identifier audit's findings, one finding per kind."""
    connector = ctx.connector
    groups = defaultdict(list)
    for item in ctx.audit():
        if item.kind in _REPORTED_ELSEWHERE:
            continue
        if not connector.is_thg and item.kind == audit.Kind.UNUSED_IDENTIFIER:
            continue  # TikTok rows with a Channel SKU: see tiktok_channel_sku.
        groups[item.kind].append(item)
    findings = []
    for kind, items in groups.items():
        examples = items[:EXAMPLES]
        skus = _product_skus(examples)
        evidence = {
            "count": len(items),
            "examples": [_audit_example(item, skus) for item in examples],
        }
        message = (
            f"The identifier audit found {audit.Kind.LABELS[kind].lower()}: "
            f"{counted(len(items), 'case')}"
        )
        if kind == audit.Kind.UNUSED_IDENTIFIER:
            evidence["strategy"] = connector.identifier_strategy
            message += (
                f": identifiers of another approach are set on {connector.name}, "
                f"which uses strategy {STRATEGY_NAMES[connector.identifier_strategy]}"
            )
        findings.append(
            Finding(
                check=AUDIT,
                code=kind,
                severity=_AUDIT_SEVERITY.get(kind, Severity.WARNING),
                title=_AUDIT_TITLES.get(kind, audit.Kind.LABELS[kind]),
                message=f"{message}. First: {items[0].message}",
                next_step=_AUDIT_NEXT_STEPS.get(kind, "Correct each value.")
                + " The identifier audit lists every case "
                f"(python manage.py audit_identifiers {connector.name!r}).",
                evidence=evidence,
                links=(
                    (
                        "Identifier audit",
                        reverse("admin:catalog_product_audit")
                        + f"?connector={connector.pk}",
                    ),
                ),
            )
        )
    return findings


# A Channel SKU expected on a TikTok row.


def check_tiktok_channel_sku(ctx) -> list[Finding]:
    """Explain TikTok's matching where a Channel SKU was set or expected."""
    connector = ctx.connector
    findings = []
    rows = list(
        ChannelListing.objects.filter(connector=connector, channel_sku__isnull=False)
        .order_by("product__sku")
        .values_list("product__sku", "channel_sku")
    )
    if rows:
        findings.append(
            Finding(
                check=TIKTOK_CHANNEL_SKU,
                code="tiktok_channel_sku_set",
                severity=Severity.WARNING,
                title="A Channel SKU expected on a TikTok row",
                message=f"{counted(len(rows), 'Channel Options row')} on "
                f"{connector.name} with a Channel SKU. TikTok Shop has none: "
                "the hub matches each order line's seller SKU against the "
                "master SKU and never reads these values.",
                next_step="Clear the Channel SKU on these rows, and make each "
                "product's seller SKU in TikTok Shop equal to its master SKU.",
                evidence={
                    "count": len(rows),
                    "examples": [
                        {"sku": sku, "channel_sku": value}
                        for sku, value in rows[:EXAMPLES]
                    ],
                },
            )
        )
    unknown = [
        item for item in ctx.audit() if item.kind == audit.Kind.UNKNOWN_SELLER_SKU
    ]
    if unknown:
        findings.append(
            Finding(
                check=TIKTOK_CHANNEL_SKU,
                code="tiktok_seller_sku_unknown",
                severity=Severity.WARNING,
                title="A Channel SKU expected on a TikTok row",
                message=f"{counted(len(unknown), 'TikTok seller SKU')} on recent "
                "order lines without a matching master SKU. TikTok Shop has no "
                "Channel SKU to map them with: the seller SKU itself must equal "
                "the master SKU. First: " + unknown[0].message,
                next_step="Change each seller SKU in TikTok Shop Seller Center to "
                "the product's master SKU; a Channel SKU on the hub's row would "
                "not be read.",
                evidence={
                    "count": len(unknown),
                    "seller_skus": [item.value for item in unknown[:EXAMPLES]],
                },
            )
        )
    return findings


# A Channel SKU missing on a parent product's row.


def check_parent_channel_sku(ctx) -> list[Finding]:
    """Explain that variants, not their parent, carry the Channel SKU."""
    connector = ctx.connector
    findings = []
    on_parents = [
        item for item in ctx.audit() if item.kind == audit.Kind.PARENT_CHANNEL_SKU
    ]
    if on_parents:
        skus = _product_skus(on_parents[:EXAMPLES])
        findings.append(
            Finding(
                check=PARENT_CHANNEL_SKU,
                code="parent_channel_sku_set",
                severity=Severity.WARNING,
                title="A Channel SKU on a parent product's row",
                message=f"{counted(len(on_parents), 'parent product')} with a "
                f"Channel SKU or mapping on {connector.name}. A parent is not "
                "sold itself: THG orders and stock name its variants. First: "
                + on_parents[0].message,
                next_step="Move each value to the variant it belongs to, and "
                "leave the parent's Channel SKU empty.",
                evidence={
                    "count": len(on_parents),
                    "examples": [
                        _audit_example(item, skus) for item in on_parents[:EXAMPLES]
                    ],
                },
            )
        )
    if connector.identifier_strategy == Connector.IdentifierStrategy.CHANNEL_SKU:
        findings.extend(_parents_and_variants(connector))
    return findings


def _parents_and_variants(connector) -> list[Finding]:
    listed = ChannelListing.objects.filter(connector=connector)
    parent_ids = set(
        Product.objects.filter(variants__isnull=False).values_list("pk", flat=True)
    )
    rows = set(
        listed.filter(product_id__in=parent_ids, channel_sku__isnull=True).values_list(
            "product_id", flat=True
        )
    )
    rows |= set(
        Product.objects.filter(
            parent_id__in=parent_ids, listings__connector=connector
        ).values_list("parent_id", flat=True)
    )
    if not rows:
        return []
    channel_skus = dict(
        listed.filter(channel_sku__isnull=False).values_list(
            "product_id", "channel_sku"
        )
    )
    parents = []
    missing = []
    for parent in Product.objects.filter(pk__in=rows).order_by("sku"):
        variants = list(parent.variants.filter(active=True).order_by("sku"))
        parents.append(
            {
                "parent": parent.sku,
                "variants": [
                    f"{variant.sku}={channel_skus.get(variant.pk, 'none')}"
                    for variant in variants
                ],
            }
        )
        missing.extend(
            variant.sku for variant in variants if variant.pk not in channel_skus
        )
    findings = [
        Finding(
            check=PARENT_CHANNEL_SKU,
            code="parent_channel_sku_empty",
            severity=Severity.INFO,
            title="A Channel SKU missing on a parent product's row",
            message=f"{counted(len(parents), 'parent product')} without a "
            f"Channel SKU on {connector.name}, as it should be: a parent is not "
            "sold itself, and its children (variants) carry the Channel SKU.",
            next_step="Nothing to do on the parent. Set the THG UPC as the "
            "Channel SKU on each variant.",
            evidence={"count": len(parents), "parents": parents[:EXAMPLES]},
        )
    ]
    if missing:
        findings.append(
            Finding(
                check=PARENT_CHANNEL_SKU,
                code="variant_channel_sku_missing",
                severity=Severity.WARNING,
                title="A Channel SKU missing on a parent product's row",
                message=f"{counted(len(missing), 'variant')} of these parents "
                f"without a Channel SKU on {connector.name}: their THG order lines "
                "cannot match, and their stock is not pushed.",
                next_step="Set the THG UPC as the Channel SKU on each of these "
                "variants' Channel Options, or import a UPC-to-SKU file.",
                evidence={"count": len(missing), "variants": missing[:EXAMPLES]},
            )
        )
    return findings
