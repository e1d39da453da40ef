"""The TikTok Shop Open API client: the only code that speaks HTTP to TikTok.

Every call goes through one :class:`requests.Session` (the hub's shared
setup: default timeouts from ``settings.CHANNEL_HTTP_TIMEOUT`` and the
``Junction/0.1`` user agent). A JSON body is serialized once, and those exact
bytes are both signed and sent. ``code == 0`` in the body is success,
whatever the HTTP status; anything else becomes a typed error from
:mod:`connectors.tiktok.errors`.

Tokens: the access token is refreshed a day before it expires and once more
after a 105002 response. TikTok rotates the refresh token on each refresh, so
the new pair is stored in one transaction. A refresh that TikTok rejects
marks the connector as needing re-authorization.
"""

import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import requests
from django.db import transaction

from connectors.errors import RetryableError
from connectors.http import new_session
from connectors.logging import redact, register_secret
from connectors.models import Connector
from connectors.records import StockItemResult
from connectors.retry import call_with_retries

from . import mapping
from .errors import (
    ConnectionFailedError,
    ExpiredTokenError,
    RefreshFailedError,
    ServerError,
    ShopCipherError,
    ThrottledError,
    TikTokAuthenticationError,
    TikTokError,
    TikTokPermanentError,
    error_for,
)
from .signing import sign_request

logger = logging.getLogger(__name__)

PRODUCTION_API_URL = "https://open-api.tiktokglobalshop.com"
PRODUCTION_AUTH_URL = "https://auth.tiktok-shops.com"
#: Refresh the access token when it has less than this left (tokens last 7 days).
REFRESH_MARGIN = timedelta(days=1)
#: TikTok's limit on ids per "get orders" call.
MAX_ORDER_IDS = 50
MAX_ORDER_PAGE_SIZE = 100
MAX_RETURN_PAGE_SIZE = 50
MAX_PRODUCT_PAGE_SIZE = 100


@dataclass(frozen=True)
class TokenSet:
    """The tokens of one grant, with absolute expiry times."""

    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    open_id: str = ""
    seller_name: str = ""
    seller_base_region: str = ""
    granted_scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Page:
    """One page of a cursor-paginated search."""

    items: list[dict]
    next_page_token: str
    total_count: int | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_last(self) -> bool:
        return not self.next_page_token


def _epoch_to_datetime(value, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise TikTokPermanentError(
            f"TikTok Shop sent {name}={value!r}, which is not a Unix timestamp."
        ) from exc


def _compact_json(body) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


class TikTokClient:
    """Signed calls to TikTok Shop for one connector, and its token upkeep."""

    def __init__(
        self,
        connector: Connector,
        *,
        session=None,
        clock=time.time,
        attempts: int | None = None,
    ):
        self.connector = connector
        self.session = session or new_session()
        self.clock = clock
        self.attempts = attempts
        for secret in (
            connector.tiktok_app_secret,
            connector.tiktok_access_token,
            connector.tiktok_refresh_token,
        ):
            register_secret(secret)

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # URLs ---------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return (self.connector.api_url or PRODUCTION_API_URL).rstrip("/")

    @property
    def auth_base(self) -> str:
        return (self.connector.auth_url or PRODUCTION_AUTH_URL).rstrip("/")

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    # Sending --------------------------------------------------------------

    def _send(self, method, url, *, params, data=None, headers=None, description):
        try:
            response = self.session.request(
                method, url, params=params, data=data, headers=headers
            )
        except requests.Timeout as exc:
            raise ConnectionFailedError(
                f"TikTok Shop timed out on {description}: {redact(str(exc))}"
            ) from exc
        except requests.RequestException as exc:
            raise ConnectionFailedError(
                f"TikTok Shop could not be reached for {description}: "
                f"{redact(str(exc))}"
            ) from exc
        logger.debug(
            "Connector %s: %s returned HTTP %s",
            self.connector.pk,
            description,
            response.status_code,
        )
        return self._parse(response, description)

    def _parse(self, response: requests.Response, description: str) -> dict:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or "code" not in payload:
            snippet = redact(response.text[:200])
            text = (
                f"TikTok Shop responded to {description} with HTTP {status} and a "
                f"body that is not TikTok's JSON envelope: {snippet!r}"
            )
            if status == 429:
                raise ThrottledError(
                    text, status=status, retry_after=_retry_after(response)
                )
            if status >= 500:
                raise ServerError(text, status=status)
            raise TikTokPermanentError(text, status=status)
        code = payload.get("code")
        if code == 0:
            data = payload.get("data")
            return data if isinstance(data, dict) else {}
        error = error_for(
            status=status,
            code=code if isinstance(code, int) else None,
            message=str(payload.get("message") or ""),
            request_id=str(payload.get("request_id") or ""),
            retry_after=_retry_after(response),
        )
        log = logger.error if isinstance(error, ServerError) else logger.warning
        log("Connector %s: %s failed: %s", self.connector.pk, description, error)
        raise error

    def _send_signed(self, method, path, query, body, shop_scoped) -> dict:
        connector = self.connector
        params = {
            key: str(value)
            for key, value in (query or {}).items()
            if value is not None and value != ""
        }
        params["app_key"] = connector.tiktok_app_key
        params["timestamp"] = str(int(self.clock()))
        if shop_scoped:
            if not connector.tiktok_shop_cipher:
                raise ShopCipherError(
                    f"Connector {connector.pk} has no shop cipher, which "
                    f"{method} {path} needs. Connect the shop from the "
                    "connector page."
                )
            params["shop_cipher"] = connector.tiktok_shop_cipher
        raw_body = b"" if body is None else _compact_json(body)
        url = self.api_base + path
        params["sign"] = sign_request(
            connector.tiktok_app_secret, urlsplit(url).path, params, raw_body
        )
        headers = {
            "Content-Type": "application/json",
            "x-tts-access-token": connector.tiktok_access_token,
        }
        return self._send(
            method,
            url,
            params=params,
            data=raw_body or None,
            headers=headers,
            description=f"{method} {path}",
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping | None = None,
        body=None,
        shop_scoped: bool = True,
        retry: bool = True,
    ) -> dict:
        """Send one signed call and return its ``data``.

        Refreshes the access token first when it is close to expiry, and once
        more if TikTok responds with 105002 (expired), then repeats the call once.
        With ``retry``, a retryable failure (throttling, 5xx, no response) is
        tried again with back-off, up to ``attempts`` times (default
        ``settings.CHANNEL_RETRY_ATTEMPTS``). Each attempt is signed anew,
        with a fresh timestamp.
        """
        self.ensure_fresh_token()
        try:
            return self._send_with_retries(
                method, path, query, body, shop_scoped, retry
            )
        except ExpiredTokenError:
            logger.info(
                "Connector %s: access token expired on %s %s; refreshing",
                self.connector.pk,
                method,
                path,
            )
            self.refresh_access_token()
            return self._send_with_retries(
                method, path, query, body, shop_scoped, retry
            )

    def _send_with_retries(self, method, path, query, body, shop_scoped, retry):
        def send():
            return self._send_signed(method, path, query, body, shop_scoped)

        if not retry:
            return send()
        return call_with_retries(
            send,
            description=f"Connector {self.connector.pk}: TikTok {method} {path}",
            attempts=self.attempts,
            sleep=_pause,
        )

    # Tokens ---------------------------------------------------------------

    def _token_call(self, path: str, params: dict, description: str) -> dict:
        return self._send(
            "GET", self.auth_base + path, params=params, description=description
        )

    def _token_set(self, data: dict) -> TokenSet:
        access_token = data.get("access_token") or ""
        refresh_token = data.get("refresh_token") or ""
        if not access_token or not refresh_token:
            raise TikTokPermanentError(
                "TikTok Shop's token response has no access_token or no refresh_token."
            )
        register_secret(access_token)
        register_secret(refresh_token)
        return TokenSet(
            access_token=access_token,
            access_token_expires_at=_epoch_to_datetime(
                data.get("access_token_expire_in"), "access_token_expire_in"
            ),
            refresh_token=refresh_token,
            refresh_token_expires_at=_epoch_to_datetime(
                data.get("refresh_token_expire_in"), "refresh_token_expire_in"
            ),
            open_id=str(data.get("open_id") or ""),
            seller_name=str(data.get("seller_name") or ""),
            seller_base_region=str(data.get("seller_base_region") or ""),
            granted_scopes=tuple(data.get("granted_scopes") or ()),
        )

    def exchange_code(self, auth_code: str) -> TokenSet:
        """Trade an auth code for tokens (unsigned GET); store nothing."""
        register_secret(auth_code)
        connector = self.connector
        data = self._token_call(
            "/api/v2/token/get",
            {
                "app_key": connector.tiktok_app_key,
                "app_secret": connector.tiktok_app_secret,
                "auth_code": auth_code,
                "grant_type": "authorized_code",
            },
            "token exchange",
        )
        return self._token_set(data)

    def store_tokens(self, tokens: TokenSet) -> None:
        """Store the access and refresh tokens together, in one transaction."""
        values = {
            "tiktok_access_token": tokens.access_token,
            "tiktok_access_token_expires_at": tokens.access_token_expires_at,
            "tiktok_refresh_token": tokens.refresh_token,
            "tiktok_refresh_token_expires_at": tokens.refresh_token_expires_at,
        }
        with transaction.atomic():
            locked = Connector.objects.select_for_update().get(pk=self.connector.pk)
            for name, value in values.items():
                setattr(locked, name, value)
            locked.save(update_fields=[*values, "updated_at"])
        for name, value in values.items():
            setattr(self.connector, name, value)

    def _adopt_stored_tokens(self) -> Connector:
        stored = Connector.objects.get(pk=self.connector.pk)
        for name in (
            "tiktok_access_token",
            "tiktok_access_token_expires_at",
            "tiktok_refresh_token",
            "tiktok_refresh_token_expires_at",
        ):
            setattr(self.connector, name, getattr(stored, name))
        register_secret(stored.tiktok_access_token)
        register_secret(stored.tiktok_refresh_token)
        return stored

    def _fail_refresh(self, detail: str, cause: Exception | None = None):
        message = (
            f"TikTok Shop refused to refresh the access token of connector "
            f"{self.connector.pk}: {detail}. Connect the shop again from the "
            "connector page."
        )
        self.connector.set_status(Connector.Status.NEEDS_REAUTHORIZATION, message)
        logger.error(
            "Connector %s: token refresh failed: %s", self.connector.pk, detail
        )
        raise RefreshFailedError(message) from cause

    def refresh_access_token(self) -> TokenSet | None:
        """Refresh the access token and store the rotated pair.

        Returns None when another worker refreshed first (its tokens are then
        used). A rejected refresh sets the connector to "needs
        re-authorization" and raises :class:`RefreshFailedError`; a
        connection failure or a 5xx raises a retryable error and changes
        nothing.
        """
        used_token = self.connector.tiktok_refresh_token
        if not used_token:
            self._fail_refresh("the connector holds no refresh token")
        expires_at = self.connector.tiktok_refresh_token_expires_at
        if expires_at is not None and expires_at <= self._now():
            self._fail_refresh(
                f"the refresh token expired at {expires_at:%Y-%m-%d %H:%M} UTC"
            )

        connector = self.connector
        try:
            data = self._token_call(
                "/api/v2/token/refresh",
                {
                    "app_key": connector.tiktok_app_key,
                    "app_secret": connector.tiktok_app_secret,
                    "refresh_token": used_token,
                    "grant_type": "refresh_token",
                },
                "token refresh",
            )
            tokens = self._token_set(data)
        except RetryableError:
            raise
        except TikTokError as exc:
            stored = self._adopt_stored_tokens()
            if stored.tiktok_refresh_token != used_token:
                logger.info(
                    "Connector %s: another worker refreshed the token first",
                    connector.pk,
                )
                return None
            self._fail_refresh(exc.detail or str(exc), exc)
        self.store_tokens(tokens)
        logger.info(
            "Connector %s: access token refreshed, valid until %s",
            connector.pk,
            tokens.access_token_expires_at.isoformat(),
        )
        return tokens

    def ensure_fresh_token(self) -> None:
        """Refresh the access token if it expires within :data:`REFRESH_MARGIN`."""
        connector = self.connector
        if not connector.tiktok_access_token:
            raise TikTokAuthenticationError(
                f"Connector {connector.pk} has no TikTok Shop access token. "
                "Connect the shop from the connector page."
            )
        expires_at = connector.tiktok_access_token_expires_at
        if expires_at is None or expires_at - self._now() <= REFRESH_MARGIN:
            self.refresh_access_token()

    # Endpoints ------------------------------------------------------------

    def get_authorized_shops(self) -> list[dict]:
        """List the shops the grant covers (no shop cipher on this call)."""
        data = self.request("GET", "/authorization/202309/shops", shop_scoped=False)
        return list(data.get("shops") or [])

    def _search(self, path, items_key, *, page_size, page_token, sort, filters):
        query = {"page_size": page_size, "page_token": page_token, **sort}
        data = self.request("POST", path, query=query, body=dict(filters or {}))
        total = data.get("total_count")
        return Page(
            items=list(data.get(items_key) or []),
            next_page_token=data.get("next_page_token") or "",
            total_count=total if isinstance(total, int) else None,
            raw=data,
        )

    def search_orders(
        self,
        filters: Mapping | None = None,
        *,
        page_size: int = MAX_ORDER_PAGE_SIZE,
        page_token: str = "",
        sort_field: str = "update_time",
        sort_order: str = "ASC",
    ) -> Page:
        """Fetch one page of orders; ``filters`` is the body (e.g. update_time_ge)."""
        return self._search(
            "/order/202309/orders/search",
            "orders",
            page_size=page_size,
            page_token=page_token,
            sort={"sort_field": sort_field, "sort_order": sort_order},
            filters=filters,
        )

    def get_orders(self, order_ids: Iterable[str]) -> list[dict]:
        """Fetch orders by id, at most 50 per call."""
        ids = [str(order_id) for order_id in dict.fromkeys(order_ids) if order_id]
        orders: list[dict] = []
        for start in range(0, len(ids), MAX_ORDER_IDS):
            chunk = ids[start : start + MAX_ORDER_IDS]
            data = self.request(
                "GET", "/order/202309/orders", query={"ids": ",".join(chunk)}
            )
            orders.extend(data.get("orders") or [])
        return orders

    def search_products(
        self,
        filters: Mapping | None = None,
        *,
        page_size: int = MAX_PRODUCT_PAGE_SIZE,
        page_token: str = "",
    ) -> Page:
        """Fetch one page of products (version 202502); ``filters`` is the body."""
        return self._search(
            "/product/202502/products/search",
            "products",
            page_size=page_size,
            page_token=page_token,
            sort={},
            filters=filters,
        )

    def create_product(self, body: Mapping) -> dict:
        """Create a product and return ``data``: ``product_id``, ``skus[]``
        (``id``, ``seller_sku``) and any ``warnings``.

        TikTok audits a new product asynchronously, so it starts PENDING and
        goes live (ACTIVATE) once the review passes.
        """
        # Not retried here: after a timeout TikTok may have created the
        # product, and a second call would create it twice.
        return self.request(
            "POST", "/product/202309/products", body=dict(body), retry=False
        )

    def get_warehouses(self) -> list[dict]:
        data = self.request("GET", "/logistics/202309/warehouses")
        return list(data.get("warehouses") or [])

    def update_inventory(
        self, product_id: str, quantities: Mapping[str, Mapping[str, int]]
    ) -> list[StockItemResult]:
        """Set absolute stock for SKUs of one product, per warehouse.

        ``quantities`` maps SKU id → warehouse id → units. Returns one result
        per (SKU, warehouse); TikTok reports rejected items inside a success.
        """
        body = mapping.inventory_update_body(quantities)
        data = self.request(
            "POST",
            f"/product/202309/products/{quote(str(product_id), safe='')}"
            "/inventory/update",
            body=body,
        )
        return mapping.inventory_results(quantities, data)

    def get_shipping_providers(self, delivery_option_id: str) -> list[dict]:
        data = self.request(
            "GET",
            f"/logistics/202309/delivery_options/"
            f"{quote(str(delivery_option_id), safe='')}/shipping_providers",
        )
        return list(data.get("shipping_providers") or [])

    def mark_package_shipped(
        self,
        order_id: str,
        *,
        tracking_number: str,
        shipping_provider_id: str,
        order_line_item_ids: Iterable[str] | None = None,
    ) -> dict:
        """Mark some or all line items of an order shipped with our tracking."""
        body = {
            "tracking_number": tracking_number,
            "shipping_provider_id": shipping_provider_id,
        }
        if order_line_item_ids:
            body["order_line_item_ids"] = [str(item) for item in order_line_item_ids]
        # Not retried here: after a timeout TikTok may have created the
        # package, and a second call would be rejected as already shipped.
        return self.request(
            "POST",
            f"/fulfillment/202309/orders/{quote(str(order_id), safe='')}/packages",
            body=body,
            retry=False,
        )

    def search_returns(
        self,
        filters: Mapping | None = None,
        *,
        page_size: int = MAX_RETURN_PAGE_SIZE,
        page_token: str = "",
        sort_field: str = "update_time",
        sort_order: str = "ASC",
    ) -> Page:
        """Fetch one page of returns (at most 50); ``filters`` is the body."""
        return self._search(
            "/return_refund/202309/returns/search",
            "return_orders",
            page_size=page_size,
            page_token=page_token,
            sort={"sort_field": sort_field, "sort_order": sort_order},
            filters=filters,
        )
