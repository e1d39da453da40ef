"""The sandbox's HTTP side: the authorization page, the token endpoints and
the signed Open API, all under ``/sandbox/tiktok/``."""

import hmac
import logging
import re
import time
from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt

from . import api, handlers, wire
from .models import SandboxApp, SandboxAuthCode, SandboxShop, SandboxToken
from .validation import Route, check_signed_call

logger = logging.getLogger(__name__)

_ID = r"[^/]+"
ROUTES = [
    Route(
        "GET",
        re.compile(r"authorization/202309/shops"),
        handlers.authorized_shops,
        shop_scoped=False,
    ),
    Route("POST", re.compile(r"order/202309/orders/search"), handlers.search_orders),
    Route("GET", re.compile(r"order/202309/orders"), handlers.get_orders),
    Route(
        "POST",
        re.compile(r"product/(?:202309|202502)/products/search"),
        handlers.search_products,
    ),
    Route("POST", re.compile(r"product/202309/products"), handlers.create_product),
    Route(
        "POST",
        re.compile(rf"product/202309/products/(?P<product_id>{_ID})/inventory/update"),
        handlers.update_inventory,
    ),
    Route("GET", re.compile(r"logistics/202309/warehouses"), handlers.warehouses),
    Route(
        "GET",
        re.compile(
            rf"logistics/202309/warehouses/(?P<warehouse_id>{_ID})/delivery_options"
        ),
        handlers.delivery_options,
    ),
    Route(
        "GET",
        re.compile(
            rf"logistics/202309/delivery_options/(?P<delivery_option_id>{_ID})"
            r"/shipping_providers"
        ),
        handlers.shipping_providers,
    ),
    Route(
        "POST",
        re.compile(rf"fulfillment/202309/orders/(?P<order_id>{_ID})/packages"),
        handlers.mark_package_shipped,
    ),
    Route(
        "POST",
        re.compile(r"return_refund/202309/returns/search"),
        handlers.search_returns,
    ),
]


@csrf_exempt
def open_api(request, api_path: str):
    """Serve one signed Open API call."""
    try:
        route, call = check_signed_call(request, ROUTES, api_path)
        data = route.handler(call)
    except wire.SandboxError as error:
        logger.info(
            "TikTok sandbox: %s /%s rejected with %s: %s",
            request.method,
            api_path,
            error.code,
            error.message,
        )
        return wire.error_response(error)
    return wire.envelope(data)


def authorize(request):
    """Approve at once and send the seller back to the app's redirect URL.

    ``shop_id`` (a sandbox extension) limits the grant to one shop; without
    it the grant covers every sandbox shop.
    """
    service_id = request.GET.get("service_id", "")
    app_key = request.GET.get("app_key", "")
    app = (
        SandboxApp.objects.filter(service_id=service_id).first()
        if service_id
        else SandboxApp.objects.filter(app_key=app_key).first()
        if app_key
        else None
    )
    if app is None:
        return HttpResponseBadRequest(
            f"No sandbox app has service_id {service_id!r}. Create it with "
            "ensure_app() or fix the connector's service id."
        )
    if not app.redirect_url:
        return HttpResponseBadRequest(
            f"Sandbox app {app.app_key} has no redirect URL; set one with ensure_app()."
        )
    shops = SandboxShop.objects.order_by("pk")
    if request.GET.get("shop_id"):
        shops = shops.filter(shop_id=request.GET["shop_id"])
    shops = list(shops)
    if not shops:
        return HttpResponseBadRequest(
            "The sandbox has no shop to authorize; create one with ensure_shop()."
        )
    code = api.create_auth_code(app, shops)
    params = {
        "app_key": app.app_key,
        "code": code.code,
        "locale": "en-GB",
        "shop_region": shops[0].region,
    }
    if "state" in request.GET:
        params["state"] = request.GET["state"]
    separator = "&" if "?" in app.redirect_url else "?"
    return HttpResponseRedirect(app.redirect_url + separator + urlencode(params))


def _token_data(token: SandboxToken) -> dict:
    regions = [shop.region for shop in token.shops.order_by("pk")]
    return {
        "access_token": token.access_token,
        "access_token_expire_in": token.access_expires_at,
        "refresh_token": token.refresh_token,
        "refresh_token_expire_in": token.refresh_expires_at,
        "open_id": token.open_id,
        "seller_name": "Junction Demo Seller",
        "seller_base_region": regions[0] if regions else "",
        "user_type": 0,
        "granted_scopes": [
            "seller.authorization.info",
            "seller.order.info",
            "seller.product.basic",
            "seller.logistics",
            "seller.fulfillment.basic",
            "seller.return_refund.basic",
        ],
    }


def _token_app(request, grant_type: str) -> SandboxApp:
    if request.method != "GET":
        raise wire.SandboxError(
            wire.INVALID_METHOD, f"Invalid method. Use GET, not {request.method}."
        )
    app = SandboxApp.objects.filter(app_key=request.GET.get("app_key", "")).first()
    secret = request.GET.get("app_secret", "")
    if app is None or not hmac.compare_digest(app.app_secret.encode(), secret.encode()):
        raise wire.SandboxError(
            wire.INVALID_REQUEST,
            "Invalid credentials. The app_key or app_secret query parameter is "
            "invalid.",
        )
    if request.GET.get("grant_type") != grant_type:
        raise wire.invalid_parameter(f"grant_type must be {grant_type}.")
    return app


def token_get(request):
    """Exchange a single-use auth code (GET, unsigned, HTTP 200 on failure too)."""
    now = int(time.time())
    try:
        app = _token_app(request, "authorized_code")
        with transaction.atomic():
            code = (
                SandboxAuthCode.objects.select_for_update()
                .filter(app=app, code=request.GET.get("auth_code", ""))
                .first()
            )
            if code is None or code.used_at is not None or code.expires_at <= now:
                raise wire.SandboxError(wire.INVALID_AUTH_CODE, "Invalid auth code.")
            code.used_at = now
            code.save(update_fields=["used_at"])
            token = api.issue_token(app, code.shops.all(), now=now)
    except wire.SandboxError as error:
        return wire.error_response(error)
    return wire.envelope(_token_data(token), message="success")


def token_refresh(request):
    """Refresh: the old refresh token is used up and a new pair is issued."""
    now = int(time.time())
    try:
        app = _token_app(request, "refresh_token")
        with transaction.atomic():
            old = (
                SandboxToken.objects.select_for_update()
                .filter(app=app, refresh_token=request.GET.get("refresh_token", ""))
                .first()
            )
            if (
                old is None
                or old.revoked
                or old.refreshed_at is not None
                or old.refresh_expires_at <= now
            ):
                raise wire.SandboxError(
                    wire.INVALID_AUTH_CODE,
                    "Invalid refresh token: it is unknown, expired or already used.",
                )
            old.refreshed_at = now
            old.save(update_fields=["refreshed_at"])
            token = api.issue_token(app, old.shops.all(), now=now)
    except wire.SandboxError as error:
        return wire.error_response(error)
    return wire.envelope(_token_data(token), message="success")
