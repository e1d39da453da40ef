"""TikTok Shop catalog sync, in the direction the connector's
``tiktok_catalog_mode`` sets.

- Pull: TikTok products create and update hub products. The seller SKU,
  trimmed, is the master SKU and the product title is the name. The TikTok
  product and SKU ids go on the product's TikTok row (its Channel Options
  on the connector), which never has a Channel SKU.
- Push: hub products with no TikTok row are created on TikTok, for US and
  GB shops only. Products already linked are left alone.
- Disabled: no catalog call at all.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from connectors.errors import PermanentError
from connectors.models import Connector

from . import mapping
from .client import MAX_PRODUCT_PAGE_SIZE, TikTokClient
from .errors import TikTokPermanentError

logger = logging.getLogger(__name__)

#: Shop regions that the hub creates products in. This is the hub's rule,
#: not TikTok's, because TikTok documents no such limit. Elsewhere the
#: catalog is maintained in TikTok Shop.
PUSH_REGIONS = frozenset({"US", "GB"})
CURRENCIES = {"US": "USD", "GB": "GBP"}
#: TikTok's limit on ``seller_skus`` per product search (error 12019027).
MAX_SEARCH_SELLER_SKUS = 10
#: TikTok's limit on the length of a seller SKU.
MAX_SELLER_SKU_LENGTH = 50
# TODO: the hub catalog has no price, and TikTok requires one on each SKU.
# Pushed products carry this placeholder (TikTok's minimum in the US and
# the UK) until Product gains a price. Set the real price in TikTok Shop
# while the product is under review.
PLACEHOLDER_PRICE = Decimal("0.01")


class CatalogPushRejectedError(TikTokPermanentError):
    """Push is not available for this connector's shop."""


def push_rejection(connector: Connector) -> str:
    """Return why push is not available for the connector's shop, or ""."""
    region = connector.tiktok_shop_region.strip().upper()
    if region in PUSH_REGIONS:
        return ""
    if not region:
        return (
            "Pushing products to TikTok Shop needs a connected US or GB shop, and "
            "this connector has no shop yet. Connect the shop first, then choose "
            "push; or maintain the catalog in TikTok Shop directly."
        )
    return (
        f"Pushing products to TikTok Shop is available only for US and GB shops, "
        f"and this shop's region is {region}. Maintain the catalog in TikTok "
        "Shop directly, and choose pull or disabled here."
    )


def sync_catalog(
    context, *, client: TikTokClient | None = None, full: bool = False
) -> None:
    """Run the catalog stream in the connector's mode.

    With ``full``, a pull ignores its cursor and reads the whole catalog.
    """
    connector = context.connector
    mode = connector.tiktok_catalog_mode
    if mode == Connector.CatalogMode.PULL:
        pull_products(context, client=client, full=full)
    elif mode == Connector.CatalogMode.PUSH:
        push_products(context, client=client)
    else:
        context.run.progress = "Catalog sync is disabled on this connector."


# Pull ---------------------------------------------------------------------


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def map_products(connector: Connector, items) -> tuple[list, int]:
    """Flatten a page of TikTok products into SKU records.

    Returns the records and the number of products that cannot be read.
    """
    records, failed = [], 0
    for item in items:
        try:
            records.extend(mapping.product_sku_records(item))
        except (KeyError, TypeError, ValueError) as exc:
            failed += 1
            logger.warning(
                "Connector %s: TikTok product %s cannot be read: %s",
                connector.pk,
                item.get("id"),
                exc,
            )
    return records, failed


def _search_window(context, now, full: bool) -> dict:
    filters = {"status": "ALL", "update_time_le": int(now.timestamp())}
    cursor_time = context.state.cursor_time
    if cursor_time is not None and not full:
        from .streams import OVERLAP

        filters["update_time_ge"] = int((cursor_time - OVERLAP).timestamp())
    return filters


def _fetch_all(context, client, filters) -> tuple[list, int]:
    records, unreadable, pages = [], 0, 0
    page_token = ""
    while True:
        page = client.search_products(filters, page_token=page_token)
        context.made_data_call = True
        pages += 1
        page_records, page_unreadable = map_products(context.connector, page.items)
        records.extend(page_records)
        unreadable += page_unreadable
        context.save_progress(f"page {pages}, {len(records)} TikTok SKUs read")
        if page.is_last:
            return records, unreadable
        page_token = page.next_page_token


def _reject_bad_seller_skus(connector, records) -> tuple[list, int, int]:
    """Drop the SKUs whose seller SKU is empty or shared with another SKU.

    Returns the importable records, the number with an empty seller SKU and
    the number with a shared one. A deleted product's SKUs count for
    neither, because they only release their TikTok row.
    """
    by_sku_id = {record.sku_id: record for record in records}
    live = [
        r
        for r in by_sku_id.values()
        if r.product_status != mapping.DELETED_PRODUCT_STATUS
    ]
    uses = Counter(record.seller_sku for record in live if record.seller_sku)
    importable, empty, shared = [], 0, 0
    for record in by_sku_id.values():
        if record.product_status == mapping.DELETED_PRODUCT_STATUS:
            importable.append(record)
        elif not record.seller_sku:
            empty += 1
            logger.warning(
                "Connector %s: TikTok SKU %s of product %s has no seller SKU; skipped",
                connector.pk,
                record.sku_id,
                record.product_id,
            )
        elif uses[record.seller_sku] > 1:
            shared += 1
            logger.warning(
                "Connector %s: TikTok SKU %s of product %s shares seller SKU %r "
                "with %d other TikTok SKUs; skipped",
                connector.pk,
                record.sku_id,
                record.product_id,
                record.seller_sku,
                uses[record.seller_sku] - 1,
            )
        else:
            importable.append(record)
    return importable, empty, shared


def pull_products(
    context, *, client: TikTokClient | None = None, full: bool = False
) -> None:
    """Create and update hub products and their TikTok rows from TikTok.

    Reads every page of products updated since the cursor (less the overlap
    window) before writing, so a seller SKU that two TikTok SKUs share is
    caught wherever the two appear. A window contains at most TikTok's
    search cap of 10,000 products. The writes then go in chunks, each one
    transaction with a fixed number of queries. The cursor moves to the
    window's end even when some SKUs failed: each failure is fixed by an
    edit on TikTok, which brings the product into the next window. When new
    products were created, a check of this connector's unmatched order lines
    is queued.
    """
    connector = context.connector
    client = client or TikTokClient(connector)
    now = timezone.now()
    # TODO: split the window by update time when it contains more than
    # 10,000 products, because TikTok's search stops there (12052180).
    records, unreadable = _fetch_all(
        context, client, _search_window(context, now, full)
    )
    importable, empty, shared = _reject_bad_seller_skus(connector, records)
    context.count(
        fetched=len({record.sku_id for record in records}) + unreadable,
        failed=empty + shared + unreadable,
    )

    created = 0
    for start in range(0, len(importable), MAX_PRODUCT_PAGE_SIZE):
        chunk = importable[start : start + MAX_PRODUCT_PAGE_SIZE]
        with transaction.atomic():
            counts = write_products(connector, chunk)
        context.count(
            created=counts.created, updated=counts.updated, unchanged=counts.unchanged
        )
        created += counts.created
        context.save_progress(
            f"{start + len(chunk)} of {len(importable)} TikTok SKUs written"
        )
    with transaction.atomic():
        context.save_cursor(cursor_time=now)
    if created:
        from orders.recheck import queue_check_again

        # Only a new master SKU can make an unmatched TikTok line match.
        queue_check_again([connector.pk])
    if context.run.failed:
        context.run.error = _failure_summary(empty, shared, unreadable)
    context.save_progress(
        f"{context.run.fetched} TikTok SKUs: {context.run.created} created, "
        f"{context.run.updated} updated, {context.run.failed} failed",
        force=True,
    )


def _failure_summary(empty: int, shared: int, unreadable: int) -> str:
    parts = []
    if empty:
        parts.append(f"{empty} TikTok SKUs have no seller SKU")
    if shared:
        parts.append(f"{shared} TikTok SKUs share a seller SKU with another")
    if unreadable:
        parts.append(f"{unreadable} TikTok products cannot be read")
    return (
        "; ".join(parts) + ", so they were not imported (see the log for the ids). "
        "Give each TikTok SKU its own seller SKU, equal to the hub's master SKU, "
        "in TikTok Shop; the next pull picks the edited products up."
    )


# Writing hub products -----------------------------------------------------


def _is_deleted(record) -> bool:
    return record.product_status == mapping.DELETED_PRODUCT_STATUS


def _product_name(record) -> str:
    return (record.product_title or record.seller_sku)[:255]


def _listing_values(listing) -> tuple[str, str]:
    return listing.channel_product_id, listing.channel_sku_id


def write_products(connector: Connector, records) -> _Counts:
    """Create or update the products and TikTok rows of one chunk of SKUs.

    Call it inside a transaction, with at most one record per seller SKU.
    It takes a fixed number of queries whatever the chunk's size. A TikTok
    SKU id on another product's row is cleared from that row, because the
    SKU moved to another seller SKU or its product was deleted on TikTok.
    A deleted product creates and renames nothing.
    """
    from catalog.models import ChannelListing, Product

    live = [record for record in records if not _is_deleted(record)]
    seller_skus = {record.seller_sku for record in live}
    products = {p.sku: p for p in Product.objects.filter(sku__in=seller_skus)}
    listings = list(
        ChannelListing.objects.filter(connector=connector).filter(
            Q(product__sku__in=seller_skus)
            | Q(channel_sku_id__in={record.sku_id for record in records})
        )
    )
    before = {listing.pk: _listing_values(listing) for listing in listings}

    # NOTE: bulk writes record no history rows for these products and rows.
    now = timezone.now()
    created = _create_products(live, products)
    renamed = _rename_products(live, products, created, now)
    affected = _link_listings(connector, records, products, listings)

    candidates = {id(listing): listing for listing in listings}
    candidates.update((id(listing), listing) for listing in affected.values())
    changed = [
        listing
        for listing in candidates.values()
        if listing.pk is None or _listing_values(listing) != before[listing.pk]
    ]
    for listing in changed:
        listing.updated_at = now
    to_update = [listing for listing in changed if listing.pk is not None]
    ChannelListing.objects.bulk_create(
        [listing for listing in changed if listing.pk is None]
    )
    ChannelListing.objects.bulk_update(
        to_update, ["channel_product_id", "channel_sku_id", "updated_at"]
    )
    return _count(records, products, created, renamed, affected, changed)


def _create_products(live, products: dict) -> set[str]:
    """Create the products no master SKU matches, and return their SKUs."""
    from catalog.models import Product

    new = {
        record.seller_sku: Product(sku=record.seller_sku, name=_product_name(record))
        for record in live
        if record.seller_sku not in products
    }
    Product.objects.bulk_create(list(new.values()))
    products.update(new)
    return set(new)


def _rename_products(live, products: dict, created: set[str], now) -> set[int]:
    """Give existing products their TikTok title; return the renamed ids."""
    from catalog.models import Product

    renamed = []
    for record in live:
        product = products[record.seller_sku]
        name = _product_name(record)
        if record.seller_sku not in created and product.name != name:
            product.name = name
            product.updated_at = now
            renamed.append(product)
    Product.objects.bulk_update(renamed, ["name", "updated_at"])
    return {product.pk for product in renamed}


def _link_listings(connector, records, products: dict, listings) -> dict:
    """Set each product's TikTok row to its TikTok ids, in memory.

    Returns TikTok SKU id → the row that the record of that SKU changes: the
    product's row for a live SKU, the row released for a deleted one.
    """
    from catalog.models import ChannelListing

    by_product = {listing.product_id: listing for listing in listings}
    by_sku_id = {
        listing.channel_sku_id: listing
        for listing in listings
        if listing.channel_sku_id
    }
    affected = {}
    for record in records:
        if _is_deleted(record):
            continue
        product = products[record.seller_sku]
        listing = by_product.get(product.pk)
        if listing is None:
            listing = ChannelListing(product=product, connector=connector)
            by_product[product.pk] = listing
        affected[record.sku_id] = listing

    # A row that a live SKU of this chunk claims keeps its new ids, so two
    # TikTok SKUs that swap seller SKUs swap rows.
    claimed = {id(listing) for listing in affected.values()}
    for record in records:
        holder = by_sku_id.get(record.sku_id)
        if holder is None or id(holder) in claimed:
            continue
        holder.channel_product_id = holder.channel_sku_id = ""
        if _is_deleted(record):
            affected[record.sku_id] = holder

    for record in records:
        if not _is_deleted(record):
            listing = affected[record.sku_id]
            listing.channel_product_id = record.product_id
            listing.channel_sku_id = record.sku_id
    return affected


def _count(records, products, created, renamed, affected, changed) -> _Counts:
    counts = _Counts()
    changed_rows = {id(listing) for listing in changed}
    for record in records:
        row = affected.get(record.sku_id)
        product = None if _is_deleted(record) else products[record.seller_sku]
        if product is not None and product.sku in created:
            counts.created += 1
        elif (row is not None and id(row) in changed_rows) or (
            product is not None and product.pk in renamed
        ):
            counts.updated += 1
        else:
            counts.unchanged += 1
    return counts


# Push ---------------------------------------------------------------------


def _unlinked_products(connector: Connector):
    """Active hub products with no TikTok ids on the connector, by id.

    A row switched off (not active) keeps its product off TikTok, and a
    parent product is not sold itself, so neither is pushed.
    """
    from catalog.models import ChannelListing, Product

    linked_or_off = ChannelListing.objects.filter(
        connector=connector, product=OuterRef("pk")
    ).exclude(channel_product_id="", active=True)
    parents = Product.objects.filter(parent=OuterRef("pk"))
    return (
        Product.objects.filter(active=True)
        .exclude(Exists(linked_or_off))
        .exclude(Exists(parents))
        .order_by("pk")
    )


def _find_on_tiktok(client, seller_skus: list[str]) -> dict[str, list]:
    """Return seller SKU → the TikTok SKUs (not deleted) that carry it."""
    found: dict[str, dict] = {sku: {} for sku in seller_skus}
    filters = {"status": "ALL", "seller_skus": seller_skus}
    page_token = ""
    while True:
        page = client.search_products(filters, page_token=page_token)
        for product in page.items:
            for record in mapping.product_sku_records(product):
                if record.seller_sku in found and not _is_deleted(record):
                    found[record.seller_sku][record.sku_id] = record
        if page.is_last:
            return {sku: list(records.values()) for sku, records in found.items()}
        page_token = page.next_page_token


def _store_link(connector, product, product_id: str, sku_id: str) -> None:
    from catalog.models import ChannelListing

    ChannelListing.objects.update_or_create(
        product=product,
        connector=connector,
        defaults={"channel_product_id": product_id, "channel_sku_id": sku_id},
    )


def push_products(context, *, client: TikTokClient | None = None) -> None:
    """Create on TikTok the active hub products that have no TikTok ids yet.

    Raises :class:`CatalogPushRejectedError` before any call for a shop
    outside the US and GB. For each chunk
    of 10 products it first searches TikTok by seller SKU: a product that
    TikTok already has (created by hand, or by a call whose response was
    lost) is linked, not created again. Each created product's ids are
    stored in their own short transaction right after the call. A product
    that TikTok rejects counts as failed and the run goes on.
    """
    connector = context.connector
    rejection = push_rejection(connector)
    if rejection:
        raise CatalogPushRejectedError(rejection)
    # NOTE: a product already linked is left alone, because editing
    # products on TikTok (PUT or partial_edit) is not implemented.
    products = list(_unlinked_products(connector))
    context.count(fetched=len(products))
    if not products:
        return
    client = client or TikTokClient(connector)
    currency = CURRENCIES[connector.tiktok_shop_region.strip().upper()]
    for start in range(0, len(products), MAX_SEARCH_SELLER_SKUS):
        chunk = products[start : start + MAX_SEARCH_SELLER_SKUS]
        found = _find_on_tiktok(client, [product.sku for product in chunk])
        context.made_data_call = True
        for product in chunk:
            _push_product(context, client, product, found[product.sku], currency)
        context.save_progress(
            f"{start + len(chunk)} of {len(products)} hub products pushed"
        )
    if context.run.failed:
        context.run.error = (
            f"{context.run.failed} hub products were not created on TikTok; see "
            "the log for each reason."
        )


def _push_product(context, client, product, matches: list, currency: str) -> None:
    connector = context.connector
    if len(matches) > 1:
        _push_failed(
            context,
            product,
            f"TikTok SKUs {', '.join(r.sku_id for r in matches)} all carry it; "
            "give each its own seller SKU in TikTok Shop",
        )
        return
    if matches:
        _store_link(connector, product, matches[0].product_id, matches[0].sku_id)
        context.count(updated=1)
        logger.info(
            "Connector %s: product %s is already TikTok SKU %s; linked",
            connector.pk,
            product.sku,
            matches[0].sku_id,
        )
        return
    if len(product.sku) > MAX_SELLER_SKU_LENGTH:
        _push_failed(
            context,
            product,
            f"TikTok takes seller SKUs of at most {MAX_SELLER_SKU_LENGTH} "
            "characters; shorten the master SKU or create the product in TikTok "
            "Shop",
        )
        return
    body = mapping.product_create_body(
        title=product.name,
        description=product.name,
        seller_sku=product.sku,
        price=PLACEHOLDER_PRICE,
        currency=currency,
    )
    try:
        data = client.create_product(body)
        context.made_data_call = True
        product_id, sku_id = mapping.created_sku_id(data, product.sku)
    except (PermanentError, ValueError) as exc:
        _push_failed(context, product, str(exc))
        return
    _store_link(connector, product, product_id, sku_id)
    context.count(created=1)
    for warning in data.get("warnings") or []:
        logger.warning(
            "Connector %s: TikTok warns about new product %s: %s",
            connector.pk,
            product_id,
            warning.get("message"),
        )


def _push_failed(context, product, reason: str) -> None:
    context.count(failed=1)
    logger.warning(
        "Connector %s: product %s was not created on TikTok: %s",
        context.connector.pk,
        product.sku,
        reason,
    )
