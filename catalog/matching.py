"""Matching order lines to products by the connector's identifier strategy.

THG connectors use one strategy for the whole catalog:

- A: THG's SKU field holds the master SKU;
- B: each product's Channel SKU on the connector holds the THG UPC;
- C: the connector's mapping table maps the channel identifier (the UPC) to
  a product.

TikTok Shop always matches the seller SKU against the master SKU.

Every function here takes one query for any number of lines, so a page of
order lines is matched in a constant number of queries.
"""

from collections.abc import Iterable

from connectors.models import Connector

from . import gtin
from .models import ChannelListing, IdentifierMapping, Product


def uses_master_sku(connector: Connector) -> bool:
    """Return whether the connector matches lines against master SKUs."""
    return (
        connector.kind == Connector.Kind.TIKTOK_SHOP
        or connector.identifier_strategy == Connector.IdentifierStrategy.MASTER_SKU
    )


def _gtin_or_text(value: str) -> str:
    text = value.strip()
    try:
        return gtin.normalize(text)
    except gtin.InvalidGTIN:
        return text


def line_identifier(connector: Connector, line) -> str:
    """Return the identifier of ``line`` that the connector's strategy uses.

    A UPC comes back as a 14-digit GTIN when it is valid, and trimmed
    otherwise, so that it compares equal to the stored form.
    """
    if connector.kind == Connector.Kind.TIKTOK_SHOP:
        return line.seller_sku.strip()
    strategy = connector.identifier_strategy
    if strategy == Connector.IdentifierStrategy.MASTER_SKU:
        return line.channel_sku.strip()
    if strategy == Connector.IdentifierStrategy.CHANNEL_SKU:
        return _gtin_or_text(line.upc)
    if line.upc.strip():
        return _gtin_or_text(line.upc)
    return line.channel_sku.strip()


def products_for_identifiers(
    connector: Connector, identifiers: Iterable[str]
) -> dict[str, int]:
    """Map each identifier to a product id in one query; unknown ones are left out."""
    wanted = {value for value in identifiers if value}
    if not wanted:
        return {}
    strategy = connector.identifier_strategy
    if uses_master_sku(connector):
        rows = Product.objects.filter(sku__in=wanted).values_list("sku", "pk")
    elif strategy == Connector.IdentifierStrategy.CHANNEL_SKU:
        rows = ChannelListing.objects.filter(
            connector=connector, channel_sku__in=wanted
        ).values_list("channel_sku", "product_id")
    else:
        rows = IdentifierMapping.objects.filter(
            connector=connector, channel_identifier__in=wanted
        ).values_list("channel_identifier", "product_id")
    return dict(rows)


def match_lines(connector: Connector, lines: list) -> int:
    """Set ``product_id`` on each line that matches, in one query for all.

    A line that matches nothing gets ``product_id = None``. Nothing is saved:
    the caller saves the lines. Returns how many lines matched.
    """
    identifiers = {id(line): line_identifier(connector, line) for line in lines}
    found = products_for_identifiers(connector, identifiers.values())
    matched = 0
    for line in lines:
        line.product_id = found.get(identifiers[id(line)])
        if line.product_id is not None:
            matched += 1
    return matched
