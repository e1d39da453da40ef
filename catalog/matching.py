"""Matching order lines to products by the connector's identifier strategy.

THG connectors use one strategy for the whole catalog:

- A: THG's SKU field holds the master SKU;
- B: each product's Channel SKU on the connector holds the THG UPC;
- C: the connector's mapping table maps the channel identifier to a product.

TikTok Shop always matches the seller SKU against the master SKU.
"""

from collections.abc import Iterable

from connectors.models import Connector

from . import gtin
from .models import ChannelListing, IdentifierMapping, Product


def line_identifier(connector: Connector, line) -> str:
    """Return the identifier of ``line`` that the connector's strategy uses."""
    if connector.kind == Connector.Kind.TIKTOK_SHOP:
        return line.seller_sku.strip()
    strategy = connector.identifier_strategy
    if strategy == Connector.IdentifierStrategy.MASTER_SKU:
        return line.channel_sku.strip()
    if strategy == Connector.IdentifierStrategy.CHANNEL_SKU:
        try:
            return gtin.normalize(line.upc)
        except gtin.InvalidGTIN:
            return line.upc.strip()
    return line.upc.strip() or line.channel_sku.strip()


def products_for_identifiers(
    connector: Connector, identifiers: Iterable[str]
) -> dict[str, int]:
    """Map each identifier to a product id in one query; unknown ones are left out."""
    wanted = {value for value in identifiers if value}
    if not wanted:
        return {}
    strategy = connector.identifier_strategy
    if (
        connector.kind == Connector.Kind.TIKTOK_SHOP
        or strategy == Connector.IdentifierStrategy.MASTER_SKU
    ):
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


def match_lines(connector: Connector, lines: list) -> None:
    """Set ``product_id`` on each line that matches, in one query for all."""
    identifiers = {id(line): line_identifier(connector, line) for line in lines}
    found = products_for_identifiers(connector, identifiers.values())
    for line in lines:
        line.product_id = found.get(identifiers[id(line)])
