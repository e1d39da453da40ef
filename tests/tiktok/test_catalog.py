"""The catalog stream's pieces: the product writer, the mode switch, the
settings form, the sandbox's Create Product endpoint and the client call."""

from decimal import Decimal

import pytest
import requests
import responses
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from catalog.models import ChannelListing, Product
from connectors.forms import ConnectorSettingsForm
from connectors.models import Connector, SyncRun
from connectors.schedules import wanted_schedules
from connectors.sync import enabled_streams, is_enabled, run_stream
from connectors.tiktok import errors, mapping
from connectors.tiktok.catalog import (
    _reject_bad_seller_skus,
    push_rejection,
    write_products,
)
from connectors.tiktok.client import TikTokClient
from connectors.tiktok.mapping import ProductSkuRecord
from connectors.tiktok.sandbox.models import SandboxProduct

from .conftest import API_URL
from .sandbox_helpers import call, make_world

CREATE = "/product/202309/products"
SEARCH = "/product/202502/products/search"


def _record(sku_id, seller_sku, *, product_id="1700", title="", status="ACTIVATE"):
    return ProductSkuRecord(
        product_id=product_id,
        sku_id=sku_id,
        seller_sku=seller_sku,
        product_title=title or f"Title {seller_sku}",
        product_status=status,
    )


def _rows(connector) -> dict[str, tuple[str, str]]:
    return {
        row.product.sku: (row.channel_product_id, row.channel_sku_id)
        for row in ChannelListing.objects.filter(connector=connector).select_related(
            "product"
        )
    }


# The product writer -------------------------------------------------------


def _write_batch(connector, size: int, offset: int) -> int:
    """Write ``size`` SKUs, half of them for existing products; return the
    number of queries."""
    for n in range(offset, offset + size // 2):
        Product.objects.create(sku=f"SKU-{n}", name="Old name")
    records = [_record(f"17{n}", f"SKU-{n}") for n in range(offset, offset + size)]
    with CaptureQueriesContext(connection) as queries:
        write_products(connector, records)
    return len(queries)


def test_write_products_constant_queries(connector):
    small = _write_batch(connector, 4, 0)
    large = _write_batch(connector, 100, 100)

    assert small == large
    assert small == 5
    assert Product.objects.filter(name__startswith="Title").count() == 104
    assert ChannelListing.objects.filter(connector=connector).count() == 104


def test_write_products_counts(connector):
    Product.objects.create(sku="OLD", name="Title OLD")
    renamed = Product.objects.create(sku="RENAMED", name="Old name")
    ChannelListing.objects.create(
        product=renamed, connector=connector, channel_product_id="1700"
    )
    same = Product.objects.create(sku="SAME", name="Title SAME")
    ChannelListing.objects.create(
        product=same,
        connector=connector,
        channel_product_id="1700",
        channel_sku_id="17003",
    )

    counts = write_products(
        connector,
        [
            _record("17001", "NEW"),
            _record("17002", "OLD"),
            _record("17003", "SAME"),
            _record("17004", "RENAMED"),
        ],
    )

    assert (counts.created, counts.updated, counts.unchanged) == (1, 2, 1)
    assert Product.objects.get(sku="RENAMED").name == "Title RENAMED"
    assert _rows(connector) == {
        "NEW": ("1700", "17001"),
        "OLD": ("1700", "17002"),
        "SAME": ("1700", "17003"),
        "RENAMED": ("1700", "17004"),
    }


def test_write_products_sku_moves_to_new_seller_sku(connector):
    write_products(connector, [_record("17001", "MUG-1")])

    write_products(connector, [_record("17001", "MUG-2")])

    assert _rows(connector) == {"MUG-1": ("", ""), "MUG-2": ("1700", "17001")}


def test_write_products_swapped_seller_skus(connector):
    write_products(connector, [_record("17001", "A"), _record("17002", "B")])

    write_products(connector, [_record("17001", "B"), _record("17002", "A")])

    assert _rows(connector) == {"A": ("1700", "17002"), "B": ("1700", "17001")}


def test_write_products_deleted_releases_row(connector):
    write_products(connector, [_record("17001", "MUG-1")])

    counts = write_products(connector, [_record("17001", "MUG-1", status="DELETED")])
    again = write_products(connector, [_record("17009", "GONE", status="DELETED")])

    assert (counts.created, counts.updated) == (0, 1)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert _rows(connector) == {"MUG-1": ("", "")}
    assert Product.objects.filter(sku="GONE").exists() is False


def test_rows_never_take_a_channel_sku(connector):
    write_products(connector, [_record("17001", "MUG-1")])

    row = ChannelListing.objects.get(connector=connector)

    assert row.channel_sku is None
    row.full_clean()


def test_reject_bad_seller_skus(connector):
    records = [
        _record("1", "DUP"),
        _record("2", "DUP"),
        _record("3", ""),
        _record("4", "DUP", status="DELETED"),
        _record("5", "OK"),
        _record("5", "OK"),
    ]

    kept, empty, shared = _reject_bad_seller_skus(connector, records)

    assert [record.sku_id for record in kept] == ["4", "5"]
    assert (empty, shared) == (1, 2)


# The mode switch ----------------------------------------------------------


CYCLE_AFTER_ORDERS = ["orders", "routing", "fulfillments", "returns", "inventory"]


@pytest.mark.parametrize(
    ("mode", "streams"),
    [
        ("pull", ["locations", "catalog", *CYCLE_AFTER_ORDERS]),
        ("push", ["locations", "catalog", *CYCLE_AFTER_ORDERS]),
        ("disabled", ["locations", *CYCLE_AFTER_ORDERS]),
    ],
)
def test_catalog_stream_runs_before_orders(connector, mode, streams):
    connector.tiktok_catalog_mode = mode

    assert enabled_streams(connector) == streams


def test_catalog_stream_not_for_thg(db):
    thg = Connector(kind=Connector.Kind.THG, name="THG", tiktok_catalog_mode="pull")

    assert is_enabled(thg, "catalog") is False
    assert "catalog" not in enabled_streams(thg)


def test_catalog_schedule_interval(connector):
    connector.tiktok_catalog_mode = "pull"

    wanted = wanted_schedules(connector)

    assert wanted[f"sync:{connector.pk}:catalog"] == 30


def test_disabled_mode_has_no_catalog_schedule(connector):
    assert f"sync:{connector.pk}:catalog" not in wanted_schedules(connector)


@responses.activate
def test_disabled_stream_sends_nothing(connector):
    run = run_stream(connector, "catalog", SyncRun.Trigger.COMMAND)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("region", "allowed"), [("GB", True), ("US", True), ("MY", False), ("", False)]
)
def test_push_rejection_by_region(connector, region, allowed):
    connector.tiktok_shop_region = region

    assert (push_rejection(connector) == "") is allowed


# The settings form --------------------------------------------------------


def _form(connector, **changes):
    data = model_to_dict(connector, fields=ConnectorSettingsForm.Meta.fields)
    data = {key: value for key, value in data.items() if value is not None}
    data.update(changes)
    return ConnectorSettingsForm(data=data, instance=connector)


def test_form_rejects_push_for_my_shop(connector):
    connector.tiktok_shop_region = "MY"
    connector.save()

    form = _form(connector, tiktok_catalog_mode="push")

    assert form.is_valid() is False
    assert form.errors["tiktok_catalog_mode"] == [
        "Pushing products to TikTok Shop is available only for US and GB shops, "
        "and this shop's region is MY. Maintain the catalog in TikTok Shop "
        "directly, and choose pull or disabled here."
    ]
    connector.refresh_from_db()
    assert connector.tiktok_catalog_mode == "disabled"


def test_form_rejects_push_before_shop_connected(connector):
    connector.tiktok_shop_region = ""
    connector.save()

    form = _form(connector, tiktok_catalog_mode="push")

    assert form.is_valid() is False
    assert "Connect the shop first" in form.errors["tiktok_catalog_mode"][0]


def test_form_accepts_push_for_gb_shop(connector):
    form = _form(connector, tiktok_catalog_mode="push")

    assert form.is_valid(), form.errors
    form.save()
    connector.refresh_from_db()
    assert connector.tiktok_catalog_mode == "push"


def test_form_accepts_pull_for_my_shop(connector):
    connector.tiktok_shop_region = "MY"
    connector.save()

    form = _form(connector, tiktok_catalog_mode="pull")

    assert form.is_valid(), form.errors


def test_form_without_mode_keeps_it(connector):
    connector.tiktok_catalog_mode = "pull"
    connector.save()
    form = _form(connector)
    form.data.pop("tiktok_catalog_mode")

    assert form.is_valid(), form.errors
    form.save()
    connector.refresh_from_db()
    assert connector.tiktok_catalog_mode == "pull"


def test_form_rejects_catalog_sync_for_thg(db):
    thg = Connector.objects.create(kind=Connector.Kind.THG, name="THG catalog")

    form = _form(thg, tiktok_catalog_mode="pull")

    assert form.is_valid() is False
    assert form.errors["tiktok_catalog_mode"] == [
        "THG products are not synced: THG order lines are matched by identifier. "
        "Leave this disabled."
    ]


def test_admin_change_page_shows_catalog_mode(admin_client, connector):
    response = admin_client.get(f"/admin/connectors/connector/{connector.pk}/change/")

    assert response.status_code == 200
    assert "Process product catalog updates" in response.text
    assert 'name="tiktok_catalog_mode"' in response.text


# The sandbox's Create Product ---------------------------------------------


@pytest.fixture
def world(db):
    return make_world(with_products=False)


def _create(client, world, body, shop_index=0):
    _, shops, token = world
    return call(
        client, "POST", CREATE, token=token, cipher=shops[shop_index].cipher, body=body
    )


def _body(**changes):
    body = {
        "title": "Blue mug",
        "description": "<p>Blue mug</p>",
        "skus": [
            {"seller_sku": "MUG-BLUE", "price": {"amount": "9.50", "currency": "GBP"}}
        ],
    }
    body.update(changes)
    return body


def test_sandbox_create_product_pending(client, world):
    _, shops, _ = world

    status, answer = _create(client, world, _body())

    assert (status, answer["code"]) == (200, 0)
    data = answer["data"]
    product = SandboxProduct.objects.get(product_id=data["product_id"])
    sku = product.skus.get()
    assert data["skus"] == [
        {"id": sku.sku_id, "seller_sku": "MUG-BLUE", "sales_attributes": []}
    ]
    assert len(data["product_id"]) == 19
    assert product.shop == shops[0]
    assert (product.status, product.description) == ("PENDING", "<p>Blue mug</p>")
    assert (sku.sale_price, sku.currency) == ("9.50", "GBP")
    default = shops[0].warehouses.get(is_default=True)
    assert list(sku.inventory.values_list("warehouse", "quantity")) == [(default.pk, 0)]


def test_sandbox_search_activates_pending(client, world):
    _, shops, token = world
    _create(client, world, _body())

    answer = call(
        client,
        "POST",
        SEARCH,
        token=token,
        cipher=shops[0].cipher,
        query={"page_size": 10},
        body={},
    )[1]

    assert [p["status"] for p in answer["data"]["products"]] == ["ACTIVATE"]


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (_body(title=""), 36009004, "title is required"),
        (_body(title="T" * 256), 36009004, "the maximum is 255"),
        (_body(description=None), 36009004, "description is required"),
        (_body(skus=[]), 36009004, "at least one SKU"),
        (
            _body(skus=[{"seller_sku": "M", "price": {"amount": "0.00"}}]),
            36009004,
            "below the minimum",
        ),
        (
            _body(
                skus=[{"seller_sku": "M", "price": {"amount": "2", "currency": "USD"}}]
            ),
            36009004,
            "must be GBP",
        ),
        (
            _body(
                skus=[
                    {
                        "seller_sku": "M" * 51,
                        "price": {"amount": "2", "currency": "GBP"},
                    }
                ]
            ),
            36009004,
            "at most 50 characters",
        ),
        (
            _body(
                skus=[
                    {
                        "seller_sku": "M",
                        "price": {"amount": "2", "currency": "GBP"},
                        "inventory": [{"warehouse_id": "404", "quantity": 1}],
                    }
                ]
            ),
            12052097,
            "does not exist",
        ),
    ],
)
def test_sandbox_create_product_rejects(client, world, body, code, words):
    answer = _create(client, world, body)[1]

    assert answer["code"] == code
    assert words in answer["message"]
    assert SandboxProduct.objects.count() == 0


def test_sandbox_create_product_checks_signature(client, world):
    _, shops, token = world

    status, answer = call(
        client,
        "POST",
        CREATE,
        token=token,
        cipher=shops[0].cipher,
        body=_body(),
        sign="0" * 64,
    )

    assert (status, answer["code"]) == (401, 106001)
    assert SandboxProduct.objects.count() == 0


def test_sandbox_create_product_needs_shop_cipher(client, world):
    _, _, token = world

    answer = call(client, "POST", CREATE, token=token, body=_body())[1]

    assert answer["code"] == 106013
    assert SandboxProduct.objects.count() == 0


# The client and the mapping -----------------------------------------------


@responses.activate
def test_create_product_not_retried(connector, pauses):
    responses.post(f"{API_URL}{CREATE}", body=requests.ConnectionError("reset"))

    with pytest.raises(errors.ConnectionFailedError):
        TikTokClient(connector).create_product(_body())

    assert len(responses.calls) == 1
    assert pauses == []


def test_product_create_body_escapes_description():
    body = mapping.product_create_body(
        title="Mug & lid",
        description="Mug <b>& lid</b>",
        seller_sku="MUG-1",
        price=Decimal("0.5"),
        currency="USD",
    )

    assert body == {
        "title": "Mug & lid",
        "description": "<p>Mug &lt;b&gt;&amp; lid&lt;/b&gt;</p>",
        "skus": [
            {"seller_sku": "MUG-1", "price": {"amount": "0.50", "currency": "USD"}}
        ],
    }


def test_created_sku_id_missing_raises():
    data = {"product_id": "1729", "skus": [{"id": "1730", "seller_sku": "OTHER"}]}

    with pytest.raises(ValueError, match="no SKU id for seller SKU 'MUG-1'"):
        mapping.created_sku_id(data, "MUG-1")
    assert mapping.created_sku_id(data, "OTHER") == ("1729", "1730")
