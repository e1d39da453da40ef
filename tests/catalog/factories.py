"""Small builders for catalog tests."""

import io
from datetime import timedelta

from django.utils import timezone
from openpyxl import Workbook

from catalog import gtin
from catalog.models import Product
from connectors.models import Connector
from orders.models import Order, OrderException, OrderLine


def upc(body: str) -> str:
    """Return the 13-digit EAN with ``body`` (12 digits) and its check digit."""
    return body + str(gtin.check_digit(body))


def connector(name="THG B", kind=Connector.Kind.THG, strategy="B") -> Connector:
    return Connector.objects.create(name=name, kind=kind, identifier_strategy=strategy)


def product(sku, name=None, *, upc_value="", parent=None, active=True) -> Product:
    return Product.objects.create(
        sku=sku,
        name=name or f"Product {sku}",
        upc=upc_value,
        parent=parent,
        active=active,
    )


def order(
    connector, external_id="O-1", *, status=Order.Status.NEEDS_ATTENTION, days_ago=1
):
    placed = timezone.now() - timedelta(days=days_ago)
    return Order.objects.create(
        connector=connector,
        external_id=external_id,
        channel_status="NEW",
        status=status,
        placed_at=placed,
        channel_updated_at=placed,
    )


def unmatched_line(order, external_id="1", *, upc="", channel_sku="", seller_sku=""):
    line = OrderLine.objects.create(
        order=order,
        external_id=external_id,
        upc=upc,
        channel_sku=channel_sku,
        seller_sku=seller_sku,
        quantity=1,
    )
    OrderException.objects.create(
        order=order,
        line=line,
        kind=OrderException.Kind.UNMATCHED_LINE,
        identifier=upc or channel_sku or seller_sku,
        message="Line matches no product.",
    )
    return line


def csv_bytes(text: str, *, bom=False, crlf=False) -> bytes:
    if crlf:
        text = text.replace("\n", "\r\n")
    data = text.encode("utf-8")
    return b"\xef\xbb\xbf" + data if bom else data


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
