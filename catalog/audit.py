"""The identifier audit: every problem that stops order lines from matching.

:func:`audit_identifiers` returns structured :class:`Finding` rows (kind,
connector, value, product ids, message) for the ``audit_identifiers``
command, the admin page and any other check that wants them.
:func:`preview_matches` runs the current mappings over a connector's recent
order lines and counts how many would match now.

Catalog-wide checks (shared UPCs, SKUs that differ only by case or spaces)
run on every audit; the others run per connector, by its strategy.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from connectors.models import Connector
from orders.models import OrderLine

from . import gtin
from .matching import line_identifier, products_for_identifiers, uses_master_sku
from .models import ChannelListing, IdentifierMapping, Product, supports_channel_sku

#: How far back the TikTok seller SKU check and the match preview look.
RECENT_DAYS = 30
#: Order lines read per query by the match preview.
PAGE_SIZE = 1000


class Kind:
    """The kinds of finding, as stable strings for scripts to filter on."""

    DUPLICATE_UPC = "duplicate_upc"
    DUPLICATE_CHANNEL_SKU = "duplicate_channel_sku"
    SIMILAR_SKUS = "similar_skus"
    INVALID_UPC = "invalid_upc"
    MISSING_IDENTIFIER = "missing_identifier"
    UNUSED_IDENTIFIER = "unused_identifier"
    PARENT_CHANNEL_SKU = "parent_channel_sku"
    UNKNOWN_SELLER_SKU = "unknown_seller_sku"

    LABELS = {
        DUPLICATE_UPC: "UPC shared by several products",
        DUPLICATE_CHANNEL_SKU: "Channel SKU shared within a connector",
        SIMILAR_SKUS: "SKUs that differ only by case or spaces",
        INVALID_UPC: "Invalid UPC",
        MISSING_IDENTIFIER: "Product with no identifier for the strategy",
        UNUSED_IDENTIFIER: "Identifier the strategy does not use",
        PARENT_CHANNEL_SKU: "Channel SKU on a parent product",
        UNKNOWN_SELLER_SKU: "TikTok seller SKU that matches no master SKU",
    }


@dataclass(frozen=True)
class Finding:
    """One problem, with the value and the products involved."""

    kind: str
    message: str
    value: str = ""
    product_ids: tuple[int, ...] = ()
    connector_id: int | None = None

    @property
    def label(self) -> str:
        return Kind.LABELS[self.kind]


def _gtin_key(value: str) -> str:
    text = value.strip()
    try:
        return gtin.normalize(text)
    except gtin.InvalidGTIN:
        return text


def _sku_key(sku: str) -> str:
    return "".join(sku.split()).casefold()


def _skus(product_ids: Iterable[int]) -> dict[int, str]:
    return dict(
        Product.objects.filter(pk__in=list(product_ids)).values_list("pk", "sku")
    )


def _quoted(skus: Iterable[str]) -> str:
    return ", ".join(repr(sku) for sku in skus)


def _leaf_products():
    """Active products that are sold themselves: those with no variants."""
    return Product.objects.filter(active=True).exclude(
        Exists(Product.objects.filter(parent_id=OuterRef("pk")))
    )


def _parent_ids() -> set[int]:
    return set(
        Product.objects.filter(parent__isnull=False)
        .values_list("parent_id", flat=True)
        .distinct()
    )


# Catalog-wide checks.


def find_duplicate_upcs() -> list[Finding]:
    """Return each UPC (compared as a GTIN) that several products share."""
    groups = defaultdict(list)
    rows = Product.objects.exclude(upc="").values_list("pk", "sku", "upc")
    for pk, sku, upc in rows.iterator(chunk_size=2000):
        groups[_gtin_key(upc)].append((pk, sku))
    return [
        Finding(
            kind=Kind.DUPLICATE_UPC,
            value=upc,
            product_ids=tuple(pk for pk, _ in members),
            message=f"UPC {upc} is shared by {_quoted(sku for _, sku in members)}. "
            "A UPC identifies one product; correct the others.",
        )
        for upc, members in sorted(groups.items())
        if len(members) > 1
    ]


def find_invalid_upcs() -> list[Finding]:
    """Return each product UPC that is not a valid GTIN in the stored form."""
    findings = []
    rows = Product.objects.exclude(upc="").values_list("pk", "sku", "upc")
    for pk, sku, upc in rows.iterator(chunk_size=2000):
        try:
            canonical = gtin.normalize(upc)
        except gtin.InvalidGTIN as exc:
            message = f"{sku!r} has an invalid UPC: {exc}"
        else:
            if canonical == upc:
                continue
            message = (
                f"{sku!r} stores its UPC as {upc!r}, not in the 14-digit form "
                f"{canonical}. Save the product again to store it as 14 digits."
            )
        findings.append(
            Finding(
                kind=Kind.INVALID_UPC, value=upc, product_ids=(pk,), message=message
            )
        )
    return findings


def find_similar_skus() -> list[Finding]:
    """Return groups of SKUs that differ only by letter case or whitespace."""
    groups = defaultdict(list)
    for pk, sku in Product.objects.values_list("pk", "sku").iterator(chunk_size=2000):
        groups[_sku_key(sku)].append((pk, sku))
    return [
        Finding(
            kind=Kind.SIMILAR_SKUS,
            value=members[0][1],
            product_ids=tuple(pk for pk, _ in members),
            message=f"SKUs {_quoted(sku for _, sku in members)} differ only by "
            "case or spaces. Channels and people confuse them; rename all but "
            "one.",
        )
        for _, members in sorted(groups.items())
        if len(members) > 1
    ]


# Per-connector checks.


def _duplicates_within(connector, rows, label: str) -> list[Finding]:
    """Return a finding per value that several of ``(product_id, value)`` share.

    Values are compared as GTINs when they are valid ones.
    """
    groups = defaultdict(list)
    for product_id, value in rows:
        groups[_gtin_key(value)].append(product_id)
    skus = _skus(
        product_id
        for members in groups.values()
        if len(members) > 1
        for product_id in members
    )
    return [
        Finding(
            kind=Kind.DUPLICATE_CHANNEL_SKU,
            connector_id=connector.pk,
            value=value,
            product_ids=tuple(members),
            message=f"{label} {value} on {connector.name} is given to "
            f"{_quoted(skus[pk] for pk in members)}. An order line with it can "
            "match only one product; keep it on one.",
        )
        for value, members in sorted(groups.items())
        if len(members) > 1
    ]


def _channel_sku_rows(connector):
    return ChannelListing.objects.filter(
        connector=connector, channel_sku__isnull=False
    ).values_list("product_id", "channel_sku")


def _mapping_rows(connector):
    return IdentifierMapping.objects.filter(connector=connector).values_list(
        "product_id", "channel_identifier"
    )


def find_duplicate_channel_skus(connector: Connector) -> list[Finding]:
    """Return Channel SKUs (or mapped identifiers) shared within a connector.

    The unique constraints stop two rows with the same text. This check
    also catches one code stored in two forms (a 13- and a 14-digit UPC).
    """
    strategy = connector.identifier_strategy
    if connector.is_thg and strategy == Connector.IdentifierStrategy.CUSTOM_MAPPING:
        return _duplicates_within(
            connector, _mapping_rows(connector), "Mapped identifier"
        )
    return _duplicates_within(connector, _channel_sku_rows(connector), "Channel SKU")


def find_invalid_channel_skus(connector: Connector) -> list[Finding]:
    """Return strategy B Channel SKUs that are not valid UPCs in stored form."""
    if not (
        connector.is_thg
        and connector.identifier_strategy == Connector.IdentifierStrategy.CHANNEL_SKU
    ):
        return []
    findings = []
    rows = ChannelListing.objects.filter(
        connector=connector, channel_sku__isnull=False
    ).values_list("product_id", "product__sku", "channel_sku")
    for product_id, sku, value in rows:
        try:
            canonical = gtin.normalize(value)
        except gtin.InvalidGTIN as exc:
            message = (
                f"The Channel SKU of {sku!r} on {connector.name} is not a "
                f"valid UPC, so no THG order line can match it: {exc}"
            )
        else:
            if canonical == value:
                continue
            message = (
                f"The Channel SKU of {sku!r} on {connector.name} is stored as "
                f"{value!r}, which order lines (compared as 14 digits) never "
                f"match. Save it as {canonical}."
            )
        findings.append(
            Finding(
                kind=Kind.INVALID_UPC,
                connector_id=connector.pk,
                value=value,
                product_ids=(product_id,),
                message=message,
            )
        )
    return findings


def find_missing_identifiers(connector: Connector) -> list[Finding]:
    """Return active products that the connector's strategy cannot match.

    Strategy B needs a Channel SKU on the connector, and strategy C a
    mapping. Strategy A and TikTok Shop use the master SKU, which every
    product has. Parent products are left out: their variants are sold.
    """
    if uses_master_sku(connector):
        return []
    if connector.identifier_strategy == Connector.IdentifierStrategy.CHANNEL_SKU:
        has_identifier = ChannelListing.objects.filter(
            connector=connector, product_id=OuterRef("pk"), channel_sku__isnull=False
        )
        needed = "no Channel SKU (the THG UPC)"
    else:
        has_identifier = IdentifierMapping.objects.filter(
            connector=connector, product_id=OuterRef("pk")
        )
        needed = "no entry in the mapping table"
    rows = (
        _leaf_products()
        .exclude(Exists(has_identifier))
        .values_list("pk", "sku")
        .order_by("sku")
    )
    return [
        Finding(
            kind=Kind.MISSING_IDENTIFIER,
            connector_id=connector.pk,
            value=sku,
            product_ids=(pk,),
            message=f"{sku!r} has {needed} on {connector.name}, so its order "
            "lines cannot match. Import a UPC-to-SKU file or set it on the "
            "product's Channel Options.",
        )
        for pk, sku in rows.iterator(chunk_size=2000)
    ]


def find_unused_identifiers(connector: Connector) -> list[Finding]:
    """Return values set on the connector that its strategy does not read.

    These show a mix of approaches: Channel SKUs on a connector that matches
    by master SKU or mapping table, or mappings on one that does not use the
    mapping table.
    """
    strategy = connector.identifier_strategy
    uses_channel_sku = (
        connector.is_thg and strategy == Connector.IdentifierStrategy.CHANNEL_SKU
    )
    uses_mapping = (
        connector.is_thg and strategy == Connector.IdentifierStrategy.CUSTOM_MAPPING
    )
    if uses_master_sku(connector):
        reads = (
            "the seller SKU against master SKUs"
            if not connector.is_thg
            else "THG's SKU field against master SKUs (strategy A)"
        )
    elif uses_channel_sku:
        reads = "UPCs against Channel SKUs (strategy B)"
    else:
        reads = "UPCs against its mapping table (strategy C)"

    findings = []
    if not uses_channel_sku:
        rows = _channel_sku_rows(connector).values_list(
            "product_id", "product__sku", "channel_sku"
        )
        findings.extend(
            Finding(
                kind=Kind.UNUSED_IDENTIFIER,
                connector_id=connector.pk,
                value=value,
                product_ids=(product_id,),
                message=f"{sku!r} has the Channel SKU {value!r} on "
                f"{connector.name}, which matches {reads} and never reads "
                "it. Remove it, or change the connector's strategy.",
            )
            for product_id, sku, value in rows
        )
    if not uses_mapping:
        rows = _mapping_rows(connector).values_list(
            "product_id", "product__sku", "channel_identifier"
        )
        findings.extend(
            Finding(
                kind=Kind.UNUSED_IDENTIFIER,
                connector_id=connector.pk,
                value=value,
                product_ids=(product_id,),
                message=f"The mapping {value!r} → {sku!r} on {connector.name} "
                f"is never read: the connector matches {reads}. Remove it, or "
                "change the connector's strategy to C.",
            )
            for product_id, sku, value in rows
        )
    return findings


def find_parent_identifiers(connector: Connector, parents: set[int]) -> list[Finding]:
    """Return Channel SKUs and mappings that point at parent products."""
    listing_rows = (
        _channel_sku_rows(connector)
        .filter(product_id__in=parents)
        .values_list("product_id", "product__sku", "channel_sku")
    )
    findings = [
        Finding(
            kind=Kind.PARENT_CHANNEL_SKU,
            connector_id=connector.pk,
            value=value,
            product_ids=(product_id,),
            message=f"Parent product {sku!r} has the Channel SKU {value!r} on "
            f"{connector.name}. A parent is not sold itself: move the Channel "
            "SKU to the variant it belongs to.",
        )
        for product_id, sku, value in listing_rows
    ]
    mapping_rows = (
        _mapping_rows(connector)
        .filter(product_id__in=parents)
        .values_list("product_id", "product__sku", "channel_identifier")
    )
    findings.extend(
        Finding(
            kind=Kind.PARENT_CHANNEL_SKU,
            connector_id=connector.pk,
            value=value,
            product_ids=(product_id,),
            message=f"The mapping {value!r} on {connector.name} points at parent "
            f"product {sku!r}. A parent is not sold itself: map the identifier "
            "to the variant it belongs to.",
        )
        for product_id, sku, value in mapping_rows
    )
    return findings


def find_unknown_seller_skus(
    connector: Connector, *, days: int = RECENT_DAYS
) -> list[Finding]:
    """Return recent TikTok seller SKUs that match no master SKU.

    TikTok listings carry TikTok's product and SKU ids, not the seller SKU,
    so the check reads the seller SKUs of the connector's recent order lines
    that matched nothing. A listing with the line's SKU id names the product
    the TikTok SKU belongs to.
    """
    if connector.kind != Connector.Kind.TIKTOK_SHOP:
        return []
    since = timezone.now() - timedelta(days=days)
    lines = (
        OrderLine.objects.filter(
            order__connector=connector,
            order__placed_at__gte=since,
            product__isnull=True,
        )
        .exclude(seller_sku="")
        .values_list("seller_sku", "channel_sku_id")
    )
    seen: dict[str, Counter] = defaultdict(Counter)
    for seller_sku, sku_id in lines.iterator(chunk_size=2000):
        seen[seller_sku.strip()][sku_id] += 1
    if not seen:
        return []
    known = set(Product.objects.filter(sku__in=seen).values_list("sku", flat=True))
    listed = defaultdict(set)
    sku_ids = {sku_id for ids in seen.values() for sku_id in ids if sku_id}
    for sku_id, product_id in ChannelListing.objects.filter(
        connector=connector, channel_sku_id__in=sku_ids
    ).values_list("channel_sku_id", "product_id"):
        listed[sku_id].add(product_id)
    near = _near_skus(set(seen) - known)

    findings = []
    for seller_sku, ids in sorted(seen.items()):
        if seller_sku in known:
            continue
        product_ids = {pid for sku_id in ids for pid in listed.get(sku_id, ())}
        message = (
            f"TikTok seller SKU {seller_sku!r} on {connector.name} matches no "
            f"master SKU ({sum(ids.values())} order lines in the last {days} "
            "days)."
        )
        suggestion = near.get(_sku_key(seller_sku))
        if suggestion:
            product_ids.add(suggestion[0])
            message += (
                f" The catalog has {suggestion[1]!r}: make the seller SKU in "
                "TikTok Shop equal to it."
            )
        else:
            message += " Make the seller SKU in TikTok Shop equal to a master SKU."
        findings.append(
            Finding(
                kind=Kind.UNKNOWN_SELLER_SKU,
                connector_id=connector.pk,
                value=seller_sku,
                product_ids=tuple(sorted(product_ids)),
                message=message,
            )
        )
    return findings


def _near_skus(skus: set[str]) -> dict[str, tuple[int, str]]:
    """Map the case- and space-free form of each SKU to a catalog product."""
    if not skus:
        return {}
    wanted = {_sku_key(sku) for sku in skus}
    near = {}
    for pk, sku in Product.objects.values_list("pk", "sku").iterator(chunk_size=2000):
        key = _sku_key(sku)
        if key in wanted:
            near.setdefault(key, (pk, sku))
    return near


def audit_connector(
    connector: Connector, *, parents: set[int] | None = None, days=RECENT_DAYS
):
    """Return the findings of one connector, by its strategy."""
    if parents is None:
        parents = _parent_ids()
    findings = []
    if supports_channel_sku(connector.kind):
        findings += find_duplicate_channel_skus(connector)
        findings += find_invalid_channel_skus(connector)
    findings += find_missing_identifiers(connector)
    findings += find_unused_identifiers(connector)
    findings += find_parent_identifiers(connector, parents)
    findings += find_unknown_seller_skus(connector, days=days)
    return findings


def audit_identifiers(
    connector: Connector | None = None, *, days: int = RECENT_DAYS
) -> list[Finding]:
    """Return every identifier problem of the catalog and of the connectors.

    With ``connector``, the per-connector checks run for that connector
    only; the catalog-wide checks always run.
    """
    findings = find_duplicate_upcs() + find_invalid_upcs() + find_similar_skus()
    connectors = [connector] if connector else list(Connector.objects.all())
    parents = _parent_ids()
    for item in connectors:
        findings += audit_connector(item, parents=parents, days=days)
    return findings


# Match preview.


@dataclass
class MatchPreview:
    """Counts of a connector's recent order lines matched by current mappings."""

    connector_id: int
    days: int
    lines: int = 0
    matched_before: int = 0
    matched_now: int = 0
    newly_matched: int = 0
    #: Lines matched before that would now match another product.
    changed: int = 0
    #: Lines matched before that would no longer match.
    lost: int = 0
    unmatched: Counter = field(default_factory=Counter)

    @property
    def unmatched_now(self) -> int:
        return self.lines - self.matched_now

    def top_unmatched(self, count: int = 20) -> list[tuple[str, int]]:
        return self.unmatched.most_common(count)


def preview_matches(connector: Connector, *, days: int = RECENT_DAYS) -> MatchPreview:
    """Match the connector's order lines of the last ``days`` days again.

    Nothing is saved. Lines are read in pages of :data:`PAGE_SIZE`, one
    query per page for the lines and one for the matches.
    """
    preview = MatchPreview(connector_id=connector.pk, days=days)
    since = timezone.now() - timedelta(days=days)
    lines = OrderLine.objects.filter(
        order__connector=connector, order__placed_at__gte=since
    ).only("pk", "upc", "channel_sku", "seller_sku", "product_id")
    last_pk = 0
    while page := list(lines.filter(pk__gt=last_pk).order_by("pk")[:PAGE_SIZE]):
        last_pk = page[-1].pk
        identifiers = [line_identifier(connector, line) for line in page]
        found = products_for_identifiers(connector, identifiers)
        for line, identifier in zip(page, identifiers, strict=True):
            _count_line(preview, line.product_id, found.get(identifier), identifier)
    return preview


def _count_line(preview, before, now, identifier) -> None:
    preview.lines += 1
    if before is not None:
        preview.matched_before += 1
    if now is None:
        preview.unmatched[identifier or "(empty)"] += 1
        if before is not None:
            preview.lost += 1
        return
    preview.matched_now += 1
    if before is None:
        preview.newly_matched += 1
    elif before != now:
        preview.changed += 1
