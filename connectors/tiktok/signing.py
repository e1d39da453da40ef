"""TikTok Shop request signing and webhook signature checks.

Request signing (TikTok's "sign your API request" page, versions 202309 and
later): the URL path, then every query parameter except ``sign`` and
``access_token`` sorted by key as ``key + value`` with decoded values, then
the raw body bytes unless the body is multipart. The secret wraps that
string on both sides and keys an HMAC-SHA256; the digest is lowercase hex.

Webhooks carry ``Authorization: hex(HMAC_SHA256(app_secret, app_key +
raw_body))``: no path, no wrapping.
"""

import hashlib
import hmac
from collections.abc import Mapping

#: Query parameters left out of the signed string.
EXCLUDED_PARAMETERS = frozenset({"sign", "access_token", "x-tts-access-token"})


def is_multipart(content_type: str | None) -> bool:
    """Tell whether a Content-Type is multipart/form-data, ignoring the boundary."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "multipart/form-data"


def string_to_sign(
    path: str,
    query: Mapping[str, str],
    body: bytes = b"",
    content_type: str | None = None,
) -> bytes:
    """Build the unwrapped string that the signature covers.

    ``query`` contains decoded values, as the server sees them after
    percent-decoding. ``body`` is the exact bytes sent.
    """
    parts = [path]
    for key in sorted(query):
        if key in EXCLUDED_PARAMETERS:
            continue
        parts.append(f"{key}{query[key]}")
    base = "".join(parts).encode()
    if body and not is_multipart(content_type):
        base += body
    return base


def sign_request(
    app_secret: str,
    path: str,
    query: Mapping[str, str],
    body: bytes = b"",
    content_type: str | None = None,
) -> str:
    """Return the ``sign`` query parameter for one request."""
    secret = app_secret.encode()
    wrapped = secret + string_to_sign(path, query, body, content_type) + secret
    return hmac.new(secret, wrapped, hashlib.sha256).hexdigest()


def webhook_signature(app_key: str, app_secret: str, raw_body: bytes) -> str:
    """Return the ``Authorization`` header value TikTok sends with a webhook."""
    message = app_key.encode() + raw_body
    return hmac.new(app_secret.encode(), message, hashlib.sha256).hexdigest()


def verify_webhook(
    app_key: str, app_secret: str, raw_body: bytes, authorization: str | None
) -> bool:
    """Check a webhook's ``Authorization`` header in constant time."""
    if not authorization or not app_key or not app_secret:
        return False
    expected = webhook_signature(app_key, app_secret, raw_body).encode()
    received = authorization.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, received)
