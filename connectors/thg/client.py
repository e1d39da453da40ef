"""The THG marketplace API client: the only code that speaks HTTP to THG.

It follows the THG contract: OAuth 2.0 client credentials from a Keycloak
realm, bearer tokens, ``/v1`` paths, cursor pagination, errors as a JSON
list. Tokens are cached per connector until shortly before they expire, and
fetched once more after a 401. Every failure is raised as one of the classes
in :mod:`connectors.errors`.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from connectors.errors import ChannelError, PermanentError, RetryableError
from connectors.http import new_session
from connectors.logging import register_secret
from connectors.retry import call_with_retries

from . import errors

logger = logging.getLogger(__name__)

PRODUCTION_AUTH_URL = "https://auth.thg.example"
PRODUCTION_API_URL = "https://api.thg.example"
# Fetch a new token this many seconds before the cached one expires.
TOKEN_EXPIRY_MARGIN = 30
PAGE_LIMIT = 100
STOCK_BATCH_LIMIT = 500


@dataclass(frozen=True)
class Page:
    items: list[dict]
    next_cursor: str | None


class _TokenCache:
    """Bearer tokens per connector, shared by the threads of one process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tokens: dict[tuple, tuple[str, float]] = {}

    def get(self, key) -> str | None:
        with self._lock:
            entry = self._tokens.get(key)
        if entry and entry[1] > time.monotonic():
            return entry[0]
        return None

    def put(self, key, token: str, expires_in: float) -> None:
        valid_for = max(expires_in - TOKEN_EXPIRY_MARGIN, expires_in / 2)
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + valid_for)

    def drop(self, key) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


token_cache = _TokenCache()


def format_time(value: datetime) -> str:
    """Return ``value`` in THG's RFC 3339 UTC form: 2026-11-30T10:15:00Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class THGClient:
    """Calls THG's API for one connector."""

    #: Items per page of a list call (THG allows 1 to 100).
    page_limit = PAGE_LIMIT

    def __init__(self, connector, *, session=None, attempts: int | None = None):
        self.connector = connector
        self.session = session or new_session()
        self.auth_url = (connector.auth_url or PRODUCTION_AUTH_URL).rstrip("/")
        self.api_url = (connector.api_url or PRODUCTION_API_URL).rstrip("/") + "/v1"
        self.attempts = attempts
        self.retries = 0
        register_secret(connector.thg_client_secret)
        fingerprint = hashlib.sha256(
            f"{connector.thg_realm}\0{connector.thg_client_id}\0"
            f"{connector.thg_client_secret}\0{self.auth_url}".encode()
        ).hexdigest()
        self._cache_key = (connector.pk, fingerprint)

    # Tokens.

    def fetch_token(self) -> str:
        """Get a new access token from the realm, and cache it."""
        connector = self.connector
        url = (
            f"{self.auth_url}/realms/{connector.thg_realm}"
            "/protocol/openid-connect/token"
        )
        data = {
            "grant_type": "client_credentials",
            "client_id": connector.thg_client_id,
            "client_secret": connector.thg_client_secret,
        }
        try:
            response = self.session.post(url, data=data)
        except requests.RequestException as exc:
            raise RetryableError(f"THG token endpoint unreachable: {exc}") from exc
        body = _json_or_none(response)
        if response.status_code == 200 and body and body.get("access_token"):
            token = body["access_token"]
            register_secret(token)
            token_cache.put(self._cache_key, token, float(body.get("expires_in", 300)))
            return token
        error = (body or {}).get("error", "")
        if response.status_code == 404:
            raise errors.RealmNotFound(
                f"THG realm {connector.thg_realm!r} does not exist. Check the realm "
                "name THG support gave you.",
                status=404,
                code=error,
            )
        if response.status_code == 401:
            raise errors.InvalidClient(
                f"THG rejected client ID {connector.thg_client_id!r} or its secret "
                "(invalid_client). Check both values with THG support.",
                status=401,
                code=error,
            )
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableError(
                f"THG token endpoint returned HTTP {response.status_code}",
                status=response.status_code,
                retry_after=_retry_after(response),
            )
        raise PermanentError(
            f"THG token endpoint returned HTTP {response.status_code}: "
            f"{(body or {}).get('error_description') or error or 'no detail'}",
            status=response.status_code,
            code=error,
        )

    def forget_token(self) -> None:
        """Drop the cached token, so the next call fetches a new one."""
        token_cache.drop(self._cache_key)

    def token(self) -> str:
        return token_cache.get(self._cache_key) or self.fetch_token()

    # Requests.

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """Send one API request, retrying retryable failures a bounded number
        of times with back-off; return the successful response."""
        description = f"THG {method} {path} for connector {self.connector.pk}"

        def on_retry(exc):
            self.retries += 1

        options = {"attempts": self.attempts} if self.attempts else {}
        return call_with_retries(
            lambda: self._request_once(method, path, **kwargs),
            description=description,
            on_retry=on_retry,
            **options,
        )

    def _request_once(self, method: str, path: str, **kwargs) -> requests.Response:
        url = self.api_url + path
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.token()}"}
            try:
                response = self.session.request(method, url, headers=headers, **kwargs)
            except requests.Timeout as exc:
                raise RetryableError(f"THG {method} {path} timed out") from exc
            except requests.RequestException as exc:
                raise RetryableError(f"THG {method} {path} failed: {exc}") from exc
            if response.status_code == 401 and attempt == 1:
                # The token expired or was revoked early: fetch one more.
                token_cache.drop(self._cache_key)
                continue
            break
        if response.status_code < 400:
            has_body = response.status_code != 204 and response.content
            if has_body and _json_or_none(response) is None:
                raise RetryableError(
                    f"THG {method} {path} returned HTTP {response.status_code} with "
                    "a body that is not valid JSON (truncated?)",
                    status=response.status_code,
                )
            return response
        raise _error_from(response, method, path)

    def _get_json(self, path: str, params=None) -> dict:
        return self.request("GET", path, params=params).json()

    # Endpoints.

    def list_warehouses(self) -> list[dict]:
        items = []
        cursor = None
        while True:
            params = {"limit": PAGE_LIMIT}
            if cursor:
                params["after"] = cursor
            body = self._get_json("/warehouses", params)
            items.extend(body.get("data", []))
            cursor = (body.get("meta") or {}).get("next")
            if not cursor:
                return items

    def orders_page(
        self,
        *,
        updated_from: datetime,
        updated_to: datetime | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> Page:
        return self._page("/orders", updated_from, updated_to, after, limit)

    def returns_page(
        self,
        *,
        updated_from: datetime,
        updated_to: datetime | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> Page:
        return self._page("/returns", updated_from, updated_to, after, limit)

    def iter_pages(self, fetch, **params) -> Iterator[Page]:
        after = None
        while True:
            page = fetch(after=after, **params)
            yield page
            if not page.next_cursor:
                return
            after = page.next_cursor

    def _page(self, path, updated_from, updated_to, after, limit) -> Page:
        params = {
            "updated_from": format_time(updated_from),
            "limit": limit or self.page_limit,
        }
        if updated_to is not None:
            params["updated_to"] = format_time(updated_to)
        if after:
            params["after"] = after
        body = self._get_json(path, params)
        return Page(body.get("data", []), (body.get("meta") or {}).get("next"))

    def get_order(self, order_id: str) -> dict:
        return self._get_json(f"/orders/{order_id}")

    def acknowledge_order(self, order_id: str) -> None:
        self.request("POST", f"/orders/{order_id}/acknowledgement")

    def put_stock(self, items: list[dict]) -> list[dict]:
        """Send absolute quantities (at most 500 items); return per-item results."""
        if len(items) > STOCK_BATCH_LIMIT:
            raise ValueError(f"{len(items)} stock items; THG takes at most 500.")
        return self.request("PUT", "/stock", json={"items": items}).json()["results"]

    def create_dispatch(self, order_id: str, payload: dict) -> dict:
        return self.request(
            "POST", f"/orders/{order_id}/dispatches", json=payload
        ).json()

    def create_return(self, payload: dict) -> dict:
        return self.request("POST", "/returns", json=payload).json()

    def post_return_receipt(self, return_id: str, payload: dict) -> dict:
        return self.request(
            "POST", f"/returns/{return_id}/receipt", json=payload
        ).json()


def _json_or_none(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _error_from(response: requests.Response, method: str, path: str) -> ChannelError:
    status = response.status_code
    body = _json_or_none(response) or {}
    first = (body.get("errors") or [{}])[0] if isinstance(body, dict) else {}
    code = first.get("code", "")
    detail = first.get("detail") or first.get("title") or ""
    pointer = (first.get("source") or {}).get("pointer", "")
    where = f"THG {method} {path}"
    options = {"status": status, "code": code, "detail": detail, "pointer": pointer}
    if status == 429 or status >= 500:
        return RetryableError(
            f"{where} returned HTTP {status} {code}".rstrip(),
            retry_after=_retry_after(response),
            **options,
        )
    if status == 401:
        return errors.InvalidClient(
            f"{where} was refused with a fresh token (401 {code}). Check the client "
            "ID and secret with THG support.",
            **options,
        )
    if status == 403 and code == "ConnectionNotActive":
        return errors.ConnectionNotActive(
            "THG has not activated the connection yet (403 ConnectionNotActive). "
            "Send the hub username and password to THG support and wait for them "
            "to activate it.",
            **options,
        )
    if status == 404:
        return errors.NotFound(f"{where}: not found ({detail})", **options)
    if status == 409:
        return errors.Conflict(f"{where}: {detail or 'conflict'}", **options)
    if status == 400 and code == "HistoryLimitExceeded":
        return errors.HistoryLimitExceeded(
            f"{where}: {detail or 'updated_from is more than 183 days back'}. THG's "
            "API keeps 6 months of history; ask THG support for older orders.",
            **options,
        )
    if status == 400:
        suffix = f" at {pointer}" if pointer else ""
        return errors.ValidationFailed(f"{where}: {detail}{suffix}", **options)
    return PermanentError(f"{where} returned HTTP {status} {code}: {detail}", **options)
