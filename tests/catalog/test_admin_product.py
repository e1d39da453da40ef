"""The product admin: Channel Options, list, search and filters."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import ChannelListing, IdentifierMapping, Product
from connectors.models import Connector

from . import factories as f

pytestmark = pytest.mark.django_db

UPC_A = f.upc("501234567890")
CHANGELIST_URL = reverse("admin:catalog_product_changelist")


def change_url(product):
    return reverse("admin:catalog_product_change", args=[product.pk])


def inline_formsets(response):
    return {
        formset.formset.prefix: formset
        for formset in response.context["inline_admin_formsets"]
    }


def management(prefix, total, initial=0, maximum=1000):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": str(maximum),
    }


def product_data(product, **extra):
    data = {
        "sku": product.sku,
        "name": product.name,
        "upc": product.upc,
        "parent": product.parent_id or "",
        "safety_stock": "",
        "active": "on",
    }
    data.update(extra)
    return data


@pytest.fixture
def connectors():
    return {
        "b": f.connector(name="THG B", strategy="B"),
        "c": f.connector(name="THG C", strategy="C"),
        "tiktok": f.connector(
            name="TikTok", kind=Connector.Kind.TIKTOK_SHOP, strategy="A"
        ),
    }


def test_product_page_has_one_row_per_connector(admin_client, connectors):
    mug = f.product("MUG-BLUE")

    response = admin_client.get(change_url(mug))

    formsets = inline_formsets(response)
    thg, tiktok = formsets["listings"], formsets["listings-2"]
    assert [form.initial["connector"] for form in thg.formset.forms] == [
        connectors["b"].pk,
        connectors["c"].pk,
    ]
    assert [form.initial["connector"] for form in tiktok.formset.forms] == [
        connectors["tiktok"].pk
    ]


def test_channel_sku_column_only_for_thg(admin_client, connectors):
    mug = f.product("MUG-BLUE")

    response = admin_client.get(change_url(mug))

    formsets = inline_formsets(response)
    assert "channel_sku" in formsets["listings"].formset.form.base_fields
    assert "channel_sku" not in formsets["listings-2"].formset.form.base_fields
    assert "channel_sku_id" in formsets["listings-2"].formset.form.base_fields


def test_parent_without_channel_skus_hides_column(admin_client, connectors):
    parent = f.product("MUG")
    variant = f.product("MUG-S", parent=parent)

    parent_page = admin_client.get(change_url(parent))
    variant_page = admin_client.get(change_url(variant))

    parent_fields = inline_formsets(parent_page)["listings"].formset.form.base_fields
    variant_fields = inline_formsets(variant_page)["listings"].formset.form.base_fields
    assert "channel_sku" not in parent_fields
    assert "channel_sku" in variant_fields
    assert "a parent product has none" in variant_fields["channel_sku"].help_text


def test_parent_with_channel_sku_shows_column(admin_client, connectors):
    parent = f.product("MUG")
    f.product("MUG-S", parent=parent)
    ChannelListing.objects.create(
        connector=connectors["b"], product=parent, channel_sku="0" + UPC_A
    )

    response = admin_client.get(change_url(parent))

    assert (
        "channel_sku" in inline_formsets(response)["listings"].formset.form.base_fields
    )


def test_untouched_rows_are_not_saved(admin_client, connectors):
    mug = f.product("MUG-BLUE")
    data = product_data(mug)
    data.update(management("listings", 2, maximum=2))
    data.update(management("listings-2", 1, maximum=1))
    for index, key in enumerate(["b", "c"]):
        data[f"listings-{index}-connector"] = connectors[key].pk
        data[f"listings-{index}-channel_sku"] = ""
        data[f"listings-{index}-active"] = "on"
    data["listings-2-0-connector"] = connectors["tiktok"].pk
    data["listings-2-0-active"] = "on"

    response = admin_client.post(change_url(mug), data)

    assert response.status_code == 302
    assert ChannelListing.objects.count() == 0


def test_channel_sku_saved_as_fourteen_digits(admin_client, connectors):
    mug = f.product("MUG-BLUE")
    data = product_data(mug)
    data.update(management("listings", 1))
    data.update(management("listings-2", 0))
    data["listings-0-connector"] = connectors["b"].pk
    data["listings-0-channel_sku"] = f" {UPC_A} "
    data["listings-0-active"] = "on"

    response = admin_client.post(change_url(mug), data)

    assert response.status_code == 302
    assert ChannelListing.objects.get().channel_sku == "0" + UPC_A


def test_channel_sku_unique_per_connector(admin_client, connectors):
    mug, cup = f.product("MUG-BLUE"), f.product("CUP")
    ChannelListing.objects.create(
        connector=connectors["b"], product=mug, channel_sku="0" + UPC_A
    )
    data = product_data(cup)
    data.update(management("listings", 1))
    data.update(management("listings-2", 0))
    data["listings-0-connector"] = connectors["b"].pk
    data["listings-0-channel_sku"] = UPC_A
    data["listings-0-active"] = "on"

    response = admin_client.post(change_url(cup), data)

    assert response.status_code == 200
    assert "Another product already has this Channel SKU on this connector" in (
        response.content.decode()
    )
    assert ChannelListing.objects.filter(product=cup).count() == 0


def test_tiktok_channel_sku_rejected_by_clean(connectors):
    mug = f.product("MUG-BLUE")
    listing = ChannelListing(
        connector=connectors["tiktok"], product=mug, channel_sku="MUG-BLUE"
    )

    with pytest.raises(ValidationError) as info:
        listing.full_clean()

    assert info.value.message_dict["channel_sku"] == [
        "TikTok Shop has no Channel SKU: its seller SKU must equal the master "
        "SKU. Leave this empty."
    ]


def test_tiktok_inline_ignores_posted_channel_sku(admin_client, connectors):
    mug = f.product("MUG-BLUE")
    data = product_data(mug)
    data.update(management("listings", 0))
    data.update(management("listings-2", 1))
    data["listings-2-0-connector"] = connectors["tiktok"].pk
    data["listings-2-0-channel_sku"] = "SHOULD-NOT-STICK"
    data["listings-2-0-channel_sku_id"] = "172999"
    data["listings-2-0-active"] = "on"

    response = admin_client.post(change_url(mug), data)

    listing = ChannelListing.objects.get()
    assert response.status_code == 302
    assert listing.channel_sku is None
    assert listing.channel_sku_id == "172999"


def test_parent_channel_sku_rejected_by_clean(connectors):
    parent = f.product("MUG")
    f.product("MUG-S", parent=parent)
    listing = ChannelListing(
        connector=connectors["b"], product=parent, channel_sku=UPC_A
    )

    with pytest.raises(ValidationError, match="parent product holds no Channel SKU"):
        listing.full_clean()


def test_channel_sku_check_digit_validated(connectors):
    mug = f.product("MUG-BLUE")
    listing = ChannelListing(
        connector=connectors["b"], product=mug, channel_sku="5012345678901"
    )

    with pytest.raises(ValidationError, match="invalid check digit"):
        listing.full_clean()


def test_identifier_mapping_clean_normalizes_upc(connectors):
    mug = f.product("MUG-BLUE")
    mapping = IdentifierMapping(
        connector=connectors["c"], product=mug, channel_identifier=f" {UPC_A} "
    )

    mapping.full_clean()

    assert mapping.channel_identifier == "0" + UPC_A


def test_identifier_mapping_on_tiktok_rejected(connectors):
    mug = f.product("MUG-BLUE")
    mapping = IdentifierMapping(
        connector=connectors["tiktok"], product=mug, channel_identifier=UPC_A
    )

    with pytest.raises(ValidationError, match="uses no mapping table"):
        mapping.full_clean()


def changelist_queries(admin_client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(CHANGELIST_URL)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_changelist_query_count_does_not_grow(admin_client, connectors):
    parent = f.product("PARENT")
    f.product("CHILD-0", parent=parent)
    few = changelist_queries(admin_client)
    for index in range(1, 30):
        f.product(f"CHILD-{index}", parent=parent)

    many = changelist_queries(admin_client)

    assert many == few


def test_changelist_columns(admin_client):
    parent = f.product("MUG", "Mug")
    f.product("MUG-S", "Small mug", upc_value="0" + UPC_A, parent=parent)

    response = admin_client.get(CHANGELIST_URL)

    content = response.content.decode()
    assert "0" + UPC_A in content
    assert "MUG (Mug)" in content
    assert response.context["cl"].list_display == [
        "action_checkbox",
        "sku",
        "name",
        "upc",
        "parent",
        "active",
    ]


def test_changelist_search_by_thirteen_digit_upc(admin_client):
    f.product("MUG-BLUE", upc_value="0" + UPC_A)
    f.product("CUP")

    response = admin_client.get(CHANGELIST_URL, {"q": UPC_A})

    assert [p.sku for p in response.context["cl"].result_list] == ["MUG-BLUE"]


def test_changelist_role_filter(admin_client):
    parent = f.product("MUG")
    f.product("MUG-S", parent=parent)
    f.product("CUP")

    parents = admin_client.get(CHANGELIST_URL, {"role": "parent"})
    singles = admin_client.get(CHANGELIST_URL, {"role": "single"})

    assert [p.sku for p in parents.context["cl"].result_list] == ["MUG"]
    assert [p.sku for p in singles.context["cl"].result_list] == ["CUP"]


def test_parent_autocomplete(admin_client):
    f.product("MUG-BLUE")

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "catalog",
            "model_name": "product",
            "field_name": "parent",
            "term": "MUG",
        },
    )

    assert response.status_code == 200
    assert [item["text"] for item in response.json()["results"]] == [
        str(Product.objects.get())
    ]
