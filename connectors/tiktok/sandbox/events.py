"""Webhooks the sandbox sends, signed the way TikTok signs them.

``Authorization`` is ``hex(HMAC_SHA256(app_secret, app_key + body))`` over
the exact body bytes; the body is ``{type, tts_notification_id, shop_id,
timestamp, data}``.
"""

import logging
import threading
import time

import requests
from django.conf import settings
from django.db import transaction

from connectors.tiktok.signing import webhook_signature

from . import wire
from .models import SandboxApp, SandboxOrder, SandboxShop, SandboxWebhookDelivery

logger = logging.getLogger(__name__)

ORDER_STATUS_CHANGE = 1
RECIPIENT_ADDRESS_UPDATE = 3
PACKAGE_UPDATE = 4
SELLER_DEAUTHORIZATION = 6
UPCOMING_AUTHORIZATION_EXPIRATION = 7
RETURN_STATUS_CHANGE = 12


def webhook_body(
    event_type: int,
    shop_id: str,
    data: dict,
    *,
    notification_id: str | None = None,
    with_notification_id: bool = True,
) -> bytes:
    """Serialize a webhook; some of TikTok's own examples carry no notification id."""
    from .handlers import new_id

    payload = {"type": event_type}
    if with_notification_id:
        payload["tts_notification_id"] = notification_id or new_id("73")
    payload.update({"shop_id": shop_id, "timestamp": int(time.time()), "data": data})
    return wire.compact_json(payload)


def post_webhook(
    app: SandboxApp, body: bytes, *, url: str = ""
) -> SandboxWebhookDelivery:
    """Post one signed webhook now and record the hub's response."""
    url = url or app.webhook_url
    if not url:
        raise ValueError(
            f"Sandbox app {app.app_key} has no webhook_url; set one with ensure_app()."
        )
    signature = webhook_signature(app.app_key, app.app_secret, body)
    delivery = SandboxWebhookDelivery(
        app=app, url=url, body=body.decode(), signature=signature
    )
    try:
        response = requests.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", "Authorization": signature},
            timeout=settings.CHANNEL_HTTP_TIMEOUT,
        )
        delivery.status_code = response.status_code
    except requests.RequestException as exc:
        delivery.error = str(exc)
        logger.warning(
            "Sandbox app %s: webhook to %s failed: %s", app.app_key, url, exc
        )
    delivery.save()
    return delivery


def _post_in_background(app_key: str, app_secret: str, url: str, body: bytes) -> None:
    def send():
        signature = webhook_signature(app_key, app_secret, body)
        try:
            requests.post(
                url,
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": signature,
                },
                timeout=settings.CHANNEL_HTTP_TIMEOUT,
            )
        except requests.RequestException as exc:
            logger.warning(
                "Sandbox app %s: webhook to %s failed: %s", app_key, url, exc
            )

    threading.Thread(target=send, name="tiktok-sandbox-webhook", daemon=True).start()


def apps_for_shop(shop: SandboxShop):
    return SandboxApp.objects.filter(
        tokens__shops=shop, tokens__revoked=False
    ).distinct()


def order_status_changed(order: SandboxOrder) -> None:
    """Queue a type 1 webhook to every app that asked for them, after commit."""
    data = {
        "order_id": order.order_id,
        "order_status": order.status,
        "is_on_hold_order": bool(order.payload.get("is_on_hold_order")),
        "update_time": order.update_time,
    }
    for app in apps_for_shop(order.shop).filter(send_status_webhooks=True):
        if not app.webhook_url:
            continue
        body = webhook_body(ORDER_STATUS_CHANGE, order.shop.shop_id, data)
        transaction.on_commit(
            lambda app=app, body=body: _post_in_background(
                app.app_key, app.app_secret, app.webhook_url, body
            )
        )
