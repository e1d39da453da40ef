"""The sandbox's responses on the wire: TikTok's envelope, errors, page tokens.

Codes and messages follow TikTok's common-errors page. Where TikTok
documents no code (invalid parameters, seller-shipping rules), the sandbox
uses 36009004 for request parameters and the ``SANDBOX_*`` codes below.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time

from django.conf import settings
from django.http import JsonResponse

THROTTLED = 36009002
INVALID_REQUEST = 36009004
INVALID_PATH = 36009009
INVALID_METHOD = 36009010
BODY_NOT_JSON = 36009022
EXPIRED_TOKEN = 105002
INVALID_SIGN = 106001
MISSING_SHOP_CIPHER = 106013
INVALID_AUTH_CODE = 36004004
NOT_YOUR_ORDER = 21008111
STOCK_INVALID = 12019024
SELLER_SKUS_TOO_MANY = 12019027
WAREHOUSES_NOT_ALL_LISTED = 12019028
SKU_ID_REQUIRED = 12052036
PRODUCT_NOT_EDITABLE = 12052048
SEARCH_TOO_DEEP = 12052180
CHECK_FAILED = 12052990
WAREHOUSE_NOT_FOUND = 12052097
# No documented codes: the sandbox's own, in TikTok's fulfillment range.
SANDBOX_NOT_SHIPPABLE = 21011001
SANDBOX_PROVIDER_NOT_AVAILABLE = 21011002
SANDBOX_LINE_NOT_SHIPPABLE = 21011003

MAX_STOCK = 99999
SEARCH_LIMIT = 10000


class SandboxError(Exception):
    """A failure the sandbox returns in TikTok's envelope."""

    def __init__(self, code: int, message: str, status: int = 200):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def invalid_parameter(text: str) -> SandboxError:
    return SandboxError(INVALID_REQUEST, f"Invalid parameter. {text}")


def request_id() -> str:
    """Make an id like TikTok's: a UTC timestamp, then 20 hex digits."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(10).upper()


def envelope(data=None, *, code=0, message="Success", status=200) -> JsonResponse:
    return JsonResponse(
        {"code": code, "message": message, "request_id": request_id(), "data": data},
        status=status,
        json_dumps_params={"separators": (",", ":")},
    )


def error_response(error: SandboxError) -> JsonResponse:
    return envelope(None, code=error.code, message=error.message, status=error.status)


def compact_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# Page tokens --------------------------------------------------------------

# Three bytes that encode to "+/+/" in standard base64, so every token the
# sandbox issues contains both characters that need URL-encoding.
_TOKEN_PREFIX = b"\xfb\xff\xbf"


def _token_key() -> bytes:
    return hashlib.sha256(
        b"tiktok-sandbox-page-token" + settings.SECRET_KEY.encode()
    ).digest()


def fingerprint(*parts) -> str:
    """Hash the filters and sort of a search, to tie page tokens to them."""
    return hashlib.sha256(compact_json(parts)).hexdigest()[:16]


def make_page_token(offset: int, search_fingerprint: str) -> str:
    payload = f"{offset}:{search_fingerprint}".encode()
    mac = hmac.new(_token_key(), payload, hashlib.sha256).digest()[:12]
    return base64.b64encode(_TOKEN_PREFIX + mac + payload).decode()


def read_page_token(token: str, search_fingerprint: str) -> int:
    """Return the offset a page token stands for; reject a forged or reused one."""
    if not token:
        return 0
    try:
        raw = base64.b64decode(token, validate=True)
    except ValueError as exc:
        raise invalid_parameter(
            "The page_token is not a token this API issued."
        ) from exc
    mac, payload = raw[3:15], raw[15:]
    expected = hmac.new(_token_key(), payload, hashlib.sha256).digest()[:12]
    if raw[:3] != _TOKEN_PREFIX or not hmac.compare_digest(mac, expected):
        raise invalid_parameter("The page_token is not a token this API issued.")
    offset_text, _, token_fingerprint = payload.decode().partition(":")
    if token_fingerprint != search_fingerprint:
        raise invalid_parameter(
            "The page_token belongs to a search with other filters; keep the "
            "filters and the sort identical between pages."
        )
    return int(offset_text)


def paginate(queryset, *, page_size: int, page_token: str, search_fingerprint: str):
    """Slice one page; return (rows, next_page_token, total_count)."""
    offset = read_page_token(page_token, search_fingerprint)
    total = queryset.count()
    rows = list(queryset[offset : offset + page_size])
    next_offset = offset + len(rows)
    next_token = (
        make_page_token(next_offset, search_fingerprint) if next_offset < total else ""
    )
    return rows, next_token, total
