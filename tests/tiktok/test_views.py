"""Connect, the OAuth callback, and the webhook endpoint, through the test client."""

import json
import time
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.db import connection

from connectors.models import Connector, InboundEvent
from connectors.tiktok import oauth
from connectors.tiktok.signing import webhook_signature

from .conftest import API_URL, APP_KEY, APP_SECRET


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "ops", "ops@example.com", "pw", is_staff=True, is_superuser=True
    )


@pytest.fixture
def new_connector(connector):
    """A TikTok connector that has app credentials but no grant yet."""
    connector.status = Connector.Status.DRAFT
    connector.tiktok_access_token = ""
    connector.tiktok_refresh_token = ""
    connector.tiktok_access_token_expires_at = None
    connector.tiktok_refresh_token_expires_at = None
    connector.tiktok_shop_id = ""
    connector.tiktok_shop_cipher = ""
    connector.tiktok_shop_region = ""
    connector.save()
    return connector


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _token_answer(now: int) -> dict:
    return {
        "code": 0,
        "message": "success",
        "request_id": "1",
        "data": {
            "access_token": "TTP_new_access",
            "access_token_expire_in": now + 604800,
            "refresh_token": "TTP_new_refresh",
            "refresh_token_expire_in": now + 31536000,
            "seller_base_region": "GB",
        },
    }


def _shops_answer(*shops) -> dict:
    return {
        "code": 0,
        "message": "Success",
        "request_id": "2",
        "data": {
            "shops": [
                {
                    "id": shop_id,
                    "name": f"Shop {shop_id}",
                    "region": region,
                    "seller_type": "LOCAL",
                    "cipher": f"ROW_{shop_id}",
                    "code": "X",
                }
                for shop_id, region in shops
            ]
        },
    }


# Connect --------------------------------------------------------------------


def test_connect_redirects_to_sandbox_page(client, staff, new_connector):
    client.force_login(staff)

    response = client.get(f"/integrations/tiktok/{new_connector.pk}/connect")

    location = urlsplit(response["Location"])
    params = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert response.status_code == 302
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{API_URL}/oauth/authorize"
    )
    assert params["service_id"] == "7310000000000000001"
    state = oauth.read_state(params["state"])
    assert state["connector"] == new_connector.pk
    assert state["user"] == staff.pk


def test_connect_without_auth_url_uses_tiktok_page(client, staff, new_connector):
    new_connector.auth_url = ""
    new_connector.save()
    client.force_login(staff)

    response = client.get(f"/integrations/tiktok/{new_connector.pk}/connect")

    assert response["Location"].startswith(
        "https://services.tiktokshop.com/open/authorize?service_id=7310000000000000001"
    )


def test_connect_us_shop_uses_us_page(client, staff, new_connector):
    new_connector.auth_url = ""
    new_connector.tiktok_shop_region = "US"
    new_connector.save()
    client.force_login(staff)

    response = client.get(f"/integrations/tiktok/{new_connector.pk}/connect")

    assert response["Location"].startswith(
        "https://services.us.tiktokshop.com/open/authorize?"
    )


def test_connect_needs_staff(client, new_connector):
    response = client.get(f"/integrations/tiktok/{new_connector.pk}/connect")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_connect_without_app_secret(client, staff, new_connector):
    new_connector.tiktok_app_secret = ""
    new_connector.save()
    client.force_login(staff)

    response = client.get(f"/integrations/tiktok/{new_connector.pk}/connect")

    assert response["Location"] == (
        f"/admin/connectors/connector/{new_connector.pk}/change/"
    )
    assert "app secret" in _messages(response)[0]


# Callback -------------------------------------------------------------------


@responses.activate
def test_callback_stores_tokens_and_shop(client, staff, new_connector):
    now = int(time.time())
    responses.get(f"{API_URL}/api/v2/token/get", json=_token_answer(now))
    responses.get(
        f"{API_URL}/authorization/202309/shops",
        json=_shops_answer(("7000714532876273420", "GB")),
    )
    client.force_login(staff)
    state = oauth.make_state(new_connector, staff)

    response = client.get(
        "/integrations/tiktok/callback",
        {"code": "ROW_code", "state": state, "shop_region": "GB"},
    )

    assert response.status_code == 302
    assert response["Location"] == (
        f"/admin/connectors/connector/{new_connector.pk}/change/"
    )
    assert _messages(response) == [
        "Connected to TikTok Shop: Shop 7000714532876273420 (GB, shop id "
        "7000714532876273420)."
    ]
    new_connector.refresh_from_db()
    assert new_connector.status == Connector.Status.CONNECTED
    assert new_connector.tiktok_access_token == "TTP_new_access"
    assert new_connector.tiktok_refresh_token == "TTP_new_refresh"
    assert new_connector.tiktok_access_token_expires_at == datetime.fromtimestamp(
        now + 604800, tz=UTC
    )
    assert new_connector.tiktok_shop_id == "7000714532876273420"
    assert new_connector.tiktok_shop_cipher == "ROW_7000714532876273420"
    assert new_connector.tiktok_shop_region == "GB"
    shops_request = responses.calls[1].request
    assert shops_request.headers["x-tts-access-token"] == "TTP_new_access"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tiktok_access_token, tiktok_refresh_token FROM "
            "connectors_connector WHERE id = %s",
            [new_connector.pk],
        )
        stored = cursor.fetchone()
    assert "TTP_new_access" not in stored[0]
    assert "TTP_new_refresh" not in stored[1]


@responses.activate
def test_callback_picks_shop_from_state(client, staff, new_connector):
    now = int(time.time())
    responses.get(f"{API_URL}/api/v2/token/get", json=_token_answer(now))
    responses.get(
        f"{API_URL}/authorization/202309/shops",
        json=_shops_answer(("111", "GB"), ("222", "MY")),
    )
    client.force_login(staff)
    state = oauth.make_state(new_connector, staff, shop_id="222")

    client.get("/integrations/tiktok/callback", {"code": "c", "state": state})

    new_connector.refresh_from_db()
    assert new_connector.tiktok_shop_id == "222"
    assert new_connector.tiktok_shop_region == "MY"


@responses.activate
def test_callback_several_shops_takes_first(client, staff, new_connector):
    now = int(time.time())
    responses.get(f"{API_URL}/api/v2/token/get", json=_token_answer(now))
    responses.get(
        f"{API_URL}/authorization/202309/shops",
        json=_shops_answer(("111", "GB"), ("222", "MY")),
    )
    client.force_login(staff)

    client.get(
        "/integrations/tiktok/callback",
        {"code": "c", "state": oauth.make_state(new_connector, staff)},
    )

    new_connector.refresh_from_db()
    assert new_connector.tiktok_shop_id == "111"


@responses.activate
def test_callback_unknown_shop_asked(client, staff, new_connector):
    now = int(time.time())
    responses.get(f"{API_URL}/api/v2/token/get", json=_token_answer(now))
    responses.get(
        f"{API_URL}/authorization/202309/shops", json=_shops_answer(("111", "GB"))
    )
    client.force_login(staff)
    state = oauth.make_state(new_connector, staff, shop_id="999")

    response = client.get(
        "/integrations/tiktok/callback", {"code": "c", "state": state}
    )

    assert "Shop 999 was requested" in _messages(response)[0]
    new_connector.refresh_from_db()
    assert new_connector.tiktok_shop_id == ""
    assert new_connector.status == Connector.Status.DRAFT


def test_callback_bad_state(client, staff, new_connector):
    client.force_login(staff)

    with responses.RequestsMock() as mock_http:
        response = client.get(
            "/integrations/tiktok/callback", {"code": "c", "state": "forged"}
        )

    assert len(mock_http.calls) == 0
    assert response["Location"] == "/admin/"
    assert "not issued by this hub" in _messages(response)[0]
    new_connector.refresh_from_db()
    assert new_connector.tiktok_access_token == ""


def test_callback_expired_state(client, staff, new_connector):
    client.force_login(staff)
    with mock.patch("time.time", return_value=time.time() - 601):
        state = oauth.make_state(new_connector, staff)

    response = client.get(
        "/integrations/tiktok/callback", {"code": "c", "state": state}
    )

    assert "longer than 10 minutes" in _messages(response)[0]
    new_connector.refresh_from_db()
    assert new_connector.tiktok_access_token == ""


def test_callback_other_user(client, staff, new_connector):
    other = get_user_model().objects.create_user("other", is_staff=True)
    client.force_login(other)
    state = oauth.make_state(new_connector, staff)

    response = client.get(
        "/integrations/tiktok/callback", {"code": "c", "state": state}
    )

    assert "started by another user" in _messages(response)[0]
    new_connector.refresh_from_db()
    assert new_connector.tiktok_access_token == ""


@responses.activate
def test_callback_code_rejected_shows_error(client, staff, new_connector):
    responses.get(
        f"{API_URL}/api/v2/token/get",
        json={"code": 36004004, "message": "invalid auth code", "request_id": "9"},
    )
    client.force_login(staff)
    state = oauth.make_state(new_connector, staff)

    response = client.get(
        "/integrations/tiktok/callback", {"code": "ROW_used", "state": state}
    )

    assert _messages(response) == [
        "TikTok Shop was not connected: TikTok Shop returned code 36004004 (HTTP "
        "200): invalid auth code [request id 9]. The code is used or older than 30 "
        "minutes; connect again."
    ]
    new_connector.refresh_from_db()
    assert new_connector.tiktok_access_token == ""
    assert new_connector.status == Connector.Status.DRAFT


# Webhooks -------------------------------------------------------------------


def _post_webhook(client, connector, payload=None, *, body=None, signature=None):
    body = body if body is not None else json.dumps(payload).encode()
    signature = signature or webhook_signature(APP_KEY, APP_SECRET, body)
    return client.post(
        f"/integrations/tiktok/{connector.key}/webhooks",
        data=body,
        content_type="application/json",
        headers={"Authorization": signature},
    )


def _order_event(order_id="576461413038785752", notification_id="7327112393057371910"):
    return {
        "type": 1,
        "tts_notification_id": notification_id,
        "shop_id": "7000714532876273420",
        "timestamp": 1644412885,
        "data": {
            "order_id": order_id,
            "order_status": "AWAITING_SHIPMENT",
            "is_on_hold_order": False,
            "update_time": 1644412885,
        },
    }


def test_webhook_stored_once_and_queued(
    client, connector, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        first = _post_webhook(client, connector, _order_event())
        second = _post_webhook(client, connector, _order_event())

    assert first.status_code == 200
    assert first.json() == {"code": 0, "message": "success"}
    assert second.status_code == 200
    event = InboundEvent.objects.get()
    assert event.external_id == "7327112393057371910"
    assert event.event_type == "ORDER_STATUS_CHANGE"
    assert event.status == InboundEvent.Status.PENDING
    assert len(callbacks) == 1


def test_webhook_official_vector(client, connector, sample):
    vector = sample("webhook_order_status_change")
    connector.tiktok_app_key = vector["app_key"]
    connector.tiktok_app_secret = vector["app_secret"]
    connector.save()

    response = _post_webhook(
        client,
        connector,
        body=vector["raw_body"].encode(),
        signature=vector["_source"]["expected_authorization"],
    )

    assert response.status_code == 200
    assert InboundEvent.objects.get().external_id == "7380066284010030890"


def test_webhook_invalid_signature(client, connector):
    response = _post_webhook(client, connector, _order_event(), signature="0" * 64)

    assert response.status_code == 401
    assert InboundEvent.objects.count() == 0


def test_webhook_missing_signature(client, connector):
    response = client.post(
        f"/integrations/tiktok/{connector.key}/webhooks",
        data=json.dumps(_order_event()),
        content_type="application/json",
    )

    assert response.status_code == 401
    assert InboundEvent.objects.count() == 0


def test_webhook_over_one_megabyte(client, connector):
    body = b'{"type":1,"data":"' + b"x" * (1024 * 1024) + b'"}'

    response = _post_webhook(client, connector, body=body)

    assert response.status_code == 413
    assert InboundEvent.objects.count() == 0


def test_webhook_unknown_connector(client, connector):
    response = client.post(
        "/integrations/tiktok/nope/webhooks",
        data=b"{}",
        content_type="application/json",
    )

    assert response.status_code == 404


def test_webhook_not_json(client, connector):
    response = _post_webhook(client, connector, body=b"not json")

    assert response.status_code == 400
    assert InboundEvent.objects.count() == 0


def test_webhook_without_notification_id_uses_body_hash(client, connector):
    payload = {
        "type": 3,
        "shop_id": "7000714532876273420",
        "timestamp": 1,
        "data": {"order_id": "5", "update_time": 1},
    }

    _post_webhook(client, connector, payload)
    _post_webhook(client, connector, payload)

    event = InboundEvent.objects.get()
    assert event.external_id.startswith("sha256:")
    assert len(event.external_id) == len("sha256:") + 64
    assert event.event_type == "RECIPIENT_ADDRESS_UPDATE"


def test_webhook_get_not_allowed(client, connector):
    response = client.get(f"/integrations/tiktok/{connector.key}/webhooks")

    assert response.status_code == 405
