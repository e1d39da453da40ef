import json

import pytest

from connectors.tiktok.signing import (
    is_multipart,
    sign_request,
    string_to_sign,
    verify_webhook,
    webhook_signature,
)

SECRET = "e59af819cc"
CIPHER = "GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3"


def test_sign_vector_a_official_example():
    query = {"app_key": "29a39d", "timestamp": "1623812664"}

    base = string_to_sign("/authorization/202309/shops", query)
    sign = sign_request(SECRET, "/authorization/202309/shops", query)

    assert base == b"/authorization/202309/shopsapp_key29a39dtimestamp1623812664"
    assert sign == "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"


def test_sign_vector_b_plain_query():
    sign = sign_request("app_secret", "/test-api", {"foo": "bar"})

    assert sign == "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"


def test_sign_vector_c_post_with_body():
    query = {
        "app_key": "29a39d",
        "timestamp": "1623812664",
        "shop_cipher": CIPHER,
        "page_size": "10",
        "sort_field": "create_time",
        "sort_order": "ASC",
    }
    body = b'{"order_status":"AWAITING_SHIPMENT","update_time_ge":1623800000}'

    sign = sign_request(SECRET, "/order/202309/orders/search", query, body)

    assert sign == "bf33a1e6d0eb8d0e7a4d69758bb17eb1cee0c64c45e3cd297428208f42dca64b"


def test_sign_vector_d_comma_joined_ids():
    query = {
        "app_key": "29a39d",
        "ids": "576461413038785752,576461413038785753",
        "shop_cipher": CIPHER,
        "timestamp": "1623812664",
    }

    sign = sign_request(SECRET, "/order/202309/orders", query)

    assert sign == "0e888959aae6ea5a2e5270c90de0cdaa00789074fe554bf0644af041d2af5397"


def test_sign_vector_e_inventory_update():
    query = {"app_key": "29a39d", "shop_cipher": CIPHER, "timestamp": "1623812664"}
    body = (
        b'{"skus":[{"id":"1729592969712207013","inventory":'
        b'[{"warehouse_id":"7068517275539719942","quantity":5}]}]}'
    )

    sign = sign_request(
        SECRET,
        "/product/202309/products/1729592969712207008/inventory/update",
        query,
        body,
    )

    assert sign == "9f1f3407fad9c30f4c7f7d8f940ad21a6d7bf8952c586394bfb2c03526b61536"


def test_sign_leaves_out_sign_and_access_token():
    query = {"app_key": "29a39d", "timestamp": "1623812664"}
    with_extras = {**query, "sign": "abc", "access_token": "TTP_x"}

    assert sign_request(SECRET, "/authorization/202309/shops", with_extras) == (
        sign_request(SECRET, "/authorization/202309/shops", query)
    )


def test_sign_uses_decoded_page_token():
    token = "6AsPQsUMvH3RkchNUPPh22NROHkE0D8pmq/N5M1kHYcZmtRyv9aVrNv65W7Q6tFA+7D1"

    base = string_to_sign("/p", {"page_token": token})

    assert base == f"/ppage_token{token}".encode()


def test_sign_skips_multipart_body():
    content_type = "multipart/form-data; boundary=xyz"

    base = string_to_sign("/product/202309/images/upload", {}, b"binary", content_type)

    assert is_multipart(content_type) is True
    assert base == b"/product/202309/images/upload"


def test_sign_is_lowercase_hex():
    sign = sign_request(SECRET, "/x", {"a": "1"})

    assert sign == sign.lower()
    assert len(sign) == 64


def test_webhook_signature_official_vector(sample):
    vector = sample("webhook_order_status_change")
    body = vector["raw_body"].encode()

    signature = webhook_signature(vector["app_key"], vector["app_secret"], body)

    assert signature == vector["_source"]["expected_authorization"]
    assert verify_webhook(vector["app_key"], vector["app_secret"], body, signature)


@pytest.mark.parametrize(
    "change",
    ["body", "secret", "header"],
)
def test_webhook_verify_rejects_tampering(sample, change):
    vector = sample("webhook_order_status_change")
    body = vector["raw_body"].encode()
    secret = vector["app_secret"]
    header = vector["_source"]["expected_authorization"]
    if change == "body":
        body = json.dumps(json.loads(body)).encode()
    elif change == "secret":
        secret = "124"
    else:
        header = header[:-1] + "0"

    assert verify_webhook(vector["app_key"], secret, body, header) is False


def test_webhook_verify_rejects_missing_header(sample):
    vector = sample("webhook_order_status_change")

    verified = verify_webhook(
        vector["app_key"], vector["app_secret"], vector["raw_body"].encode(), None
    )

    assert verified is False
