"""Checks every signed call in the order TikTok applies them.

1. path, then method (36009009, 36009010);
2. ``app_key`` (36009004), then the app's throttling mode (HTTP 429, 36009002);
3. ``sign`` present (36009004);
4. ``timestamp`` within 5 minutes back and 30 seconds ahead (36009004);
5. ``sign`` value (106001, HTTP 401), rebuilt from the path as received,
   the decoded query and the raw body;
6. ``x-tts-access-token`` (105002 expired, 36009004 invalid);
7. ``shop_cipher``: missing where required (106013), sent where not allowed
   or unknown (36009004), and the legacy ``shop_id`` (36009004);
8. a JSON body on POST and PUT (36009022).

HTTP statuses: 401 for 106001 and 429 for throttling, as seen from TikTok;
404 and 405 for an unknown path or method; 200 for every other error,
because TikTok documents no status for them and returns some with 200.
"""

import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import F

from connectors.tiktok.signing import is_multipart, sign_request

from . import wire
from .models import SandboxApp, SandboxShop, SandboxToken

MAX_PAST_SECONDS = 300
MAX_FUTURE_SECONDS = 30


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    handler: Callable
    shop_scoped: bool = True


@dataclass
class SignedCall:
    """A call that passed every check, as a handler receives it."""

    app: SandboxApp
    token: SandboxToken
    shop: SandboxShop | None
    query: dict[str, str]
    body: dict
    path_args: dict[str, str] = field(default_factory=dict)
    now: int = 0


def find_route(routes: list[Route], api_path: str, method: str):
    matches = [(route, route.pattern.fullmatch(api_path)) for route in routes]
    matches = [(route, match) for route, match in matches if match]
    if not matches:
        raise wire.SandboxError(
            wire.INVALID_PATH,
            f"Invalid path. No API is served at /{api_path}.",
            status=404,
        )
    for route, match in matches:
        if route.method == method:
            return route, match.groupdict()
    allowed = ", ".join(sorted({route.method for route, _ in matches}))
    raise wire.SandboxError(
        wire.INVALID_METHOD,
        f"Invalid method. /{api_path} accepts {allowed}, not {method}.",
        status=405,
    )


def _check_app(query: dict) -> SandboxApp:
    app = SandboxApp.objects.filter(app_key=query.get("app_key", "")).first()
    if app is None or not query.get("app_key"):
        raise wire.SandboxError(
            wire.INVALID_REQUEST,
            "Invalid credentials. The app_key query parameter is invalid.",
        )
    return app


def _check_throttle(app: SandboxApp) -> None:
    if app.throttle_remaining == 0:
        return
    if app.throttle_remaining > 0:
        SandboxApp.objects.filter(pk=app.pk, throttle_remaining__gt=0).update(
            throttle_remaining=F("throttle_remaining") - 1
        )
    raise wire.SandboxError(
        wire.THROTTLED, "Too many requests. Please try again later.", status=429
    )


def _check_timestamp(query: dict, now: int) -> None:
    text = query.get("timestamp", "")
    if not re.fullmatch(r"-?\d+", text):
        raise wire.SandboxError(
            wire.INVALID_REQUEST,
            "Invalid timestamp. The timestamp query parameter must be a 10-digit "
            "Unix timestamp in seconds.",
        )
    timestamp = int(text)
    if timestamp < 0:
        raise wire.SandboxError(
            wire.INVALID_REQUEST,
            "Invalid timestamp. The timestamp query parameter must not be lesser "
            "than 0.",
        )
    if now - timestamp > MAX_PAST_SECONDS:
        raise wire.SandboxError(
            wire.INVALID_REQUEST,
            "Invalid timestamp. The timestamp query parameter must not be earlier "
            "than 5 minutes before the current time.",
        )
    if timestamp - now > MAX_FUTURE_SECONDS:
        raise wire.SandboxError(
            wire.INVALID_REQUEST,
            "Invalid timestamp. The timestamp query parameter must not exceed the "
            "current time by more than 30 seconds.",
        )


def _check_sign(request, app: SandboxApp, query: dict) -> None:
    content_type = request.META.get("CONTENT_TYPE", "")
    expected = sign_request(
        app.app_secret, request.path, query, request.body, content_type
    )
    if not hmac.compare_digest(expected.encode(), query["sign"].encode()):
        raise wire.SandboxError(
            wire.INVALID_SIGN,
            "Invalid credentials. The sign query parameter is invalid.",
            status=401,
        )


def _check_token(request, app: SandboxApp, now: int) -> SandboxToken:
    value = request.headers.get("x-tts-access-token", "")
    token = (
        SandboxToken.objects.filter(app=app, access_token=value, revoked=False).first()
        if value
        else None
    )
    if token is None:
        raise wire.SandboxError(
            wire.INVALID_REQUEST,
            "Invalid credentials. The x-tts-access-token header is invalid.",
        )
    if token.access_expires_at <= now:
        raise wire.SandboxError(
            wire.EXPIRED_TOKEN,
            "Expired credentials. The x-tts-access-token header has expired.",
        )
    return token


def _check_shop(route: Route, query: dict, token: SandboxToken) -> SandboxShop | None:
    if "shop_id" in query:
        raise wire.SandboxError(
            wire.INVALID_REQUEST,
            "Invalid identifier. The shop_id query parameter is invalid.",
        )
    cipher = query.get("shop_cipher", "")
    if not route.shop_scoped:
        if "shop_cipher" in query:
            raise wire.SandboxError(
                wire.INVALID_REQUEST,
                "Unexpected identifier. The shop_cipher query parameter is not "
                "required for this request.",
            )
        return None
    if not cipher:
        raise wire.SandboxError(
            wire.MISSING_SHOP_CIPHER,
            "Missing identifier. The shop_cipher query parameter is required to "
            "identify the target shop.",
        )
    shop = token.shops.filter(cipher=cipher).first()
    if shop is None:
        raise wire.SandboxError(
            wire.INVALID_REQUEST,
            "Invalid identifier. The shop_cipher query parameter is invalid or "
            "not authorized for this access token.",
        )
    return shop


def _parse_body(request) -> dict:
    content_type = request.META.get("CONTENT_TYPE", "")
    if request.method not in ("POST", "PUT", "DELETE") or not request.body:
        return {}
    if is_multipart(content_type):
        return {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    try:
        body = json.loads(request.body)
    except ValueError:
        body = None
    if media_type != "application/json" or not isinstance(body, dict):
        raise wire.SandboxError(
            wire.BODY_NOT_JSON,
            "Invalid request body. The body must be a JSON object sent with "
            "content-type application/json.",
        )
    return body


def check_signed_call(
    request, routes: list[Route], api_path: str
) -> tuple[Route, SignedCall]:
    """Run every check in order; raise :class:`wire.SandboxError` at the first."""
    route, path_args = find_route(routes, api_path, request.method)
    query = {key: request.GET[key] for key in request.GET}
    app = _check_app(query)
    _check_throttle(app)
    if not query.get("sign"):
        raise wire.SandboxError(
            wire.INVALID_REQUEST,
            "Missing credentials. The request does not include a required "
            "signature in the query.",
        )
    now = int(time.time())
    _check_timestamp(query, now)
    _check_sign(request, app, query)
    token = _check_token(request, app, now)
    shop = _check_shop(route, query, token)
    body = _parse_body(request)
    call = SignedCall(
        app=app,
        token=token,
        shop=shop,
        query=query,
        body=body,
        path_args=path_args,
        now=now,
    )
    return route, call
