"""TikTok Shop failures, sorted into the hub's retryable, authentication and
permanent classes.

TikTok responds to every call with ``{code, message, request_id, data}``; a
``code`` other than 0 is a failure whatever the HTTP status. One code,
36009004, covers an invalid token, an invalid app key, a timestamp out of
window, a missing signature and an unexpected shop cipher, so
:func:`error_for` sorts it by its message.
"""

from connectors.errors import (
    AuthenticationError,
    ChannelError,
    PermanentError,
    RetryableError,
)

CODE_EXPIRED_TOKEN = 105002
CODE_SCOPE_DENIED = 105005
CODE_INVALID_SIGNATURE = 106001
CODE_MISSING_SHOP_CIPHER = 106013
CODE_INVALID_AUTH_CODE = 36004004
CODE_THROTTLED = 36009002
CODE_INTERNAL_ERROR = 36009003
CODE_INVALID_REQUEST = 36009004
CODE_REQUEST_TIMEOUT = 36009007
CODE_IP_NOT_ALLOWED = 36009033


class TikTokError(ChannelError):
    """Mixed into every TikTok error; ``request_id`` is TikTok's request id."""

    def __init__(self, message: str, *, request_id: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.request_id = request_id


class TikTokRetryableError(TikTokError, RetryableError):
    """A TikTok failure worth trying again later."""


class ConnectionFailedError(TikTokRetryableError):
    """No response from TikTok: a connection error or a timeout."""


class ThrottledError(TikTokRetryableError):
    """TikTok throttled the app (HTTP 429 or code 36009002)."""


class ServerError(TikTokRetryableError):
    """TikTok failed internally (36009003, 36009007 or HTTP 5xx)."""


class TikTokAuthenticationError(TikTokError, AuthenticationError):
    """TikTok rejected the app's or the seller's credentials."""


class ExpiredTokenError(TikTokAuthenticationError):
    """The access token has expired (105002); a refresh fixes it."""


class InvalidTokenError(TikTokAuthenticationError):
    """TikTok does not know the access token (36009004)."""


class InvalidAppKeyError(TikTokAuthenticationError):
    """TikTok does not know the app key (36009004)."""


class InvalidSignatureError(TikTokAuthenticationError):
    """The sign parameter does not match (106001): usually a wrong app secret."""


class InvalidAuthCodeError(TikTokAuthenticationError):
    """The auth code is invalid, used or expired (36004004)."""


class RefreshFailedError(TikTokAuthenticationError):
    """TikTok rejected the refresh token; the seller must authorize again."""


class AccessDeniedError(TikTokAuthenticationError):
    """The app lacks the API scope (105005) or calls from an IP not allowed."""


class TikTokPermanentError(TikTokError, PermanentError):
    """TikTok rejected this request; sending it again unchanged will not help."""


class InvalidTimestampError(TikTokPermanentError):
    """The timestamp is outside TikTok's window (5 min back, 30 s ahead)."""


class ShopCipherError(TikTokPermanentError):
    """A shop cipher missing where required (106013), or sent where not allowed."""


def _sort_invalid_request(message: str):
    """Pick the class of a 36009004 response from the words of its message."""
    text = message.lower()
    if "timestamp" in text:
        return InvalidTimestampError
    if "shop_cipher" in text or "shop_id" in text or "identifier" in text:
        return ShopCipherError
    if "access_token" in text or "access-token" in text:
        return InvalidTokenError
    if "app_key" in text:
        return InvalidAppKeyError
    if "signature" in text or "sign " in text:
        return InvalidSignatureError
    return TikTokPermanentError


def error_for(
    *,
    status: int | None,
    code: int | None,
    message: str,
    request_id: str = "",
    retry_after: float | None = None,
) -> TikTokError:
    """Build the typed error for a TikTok response that is not a success."""
    detail = message or ""
    if code == CODE_THROTTLED or status == 429:
        error_class = ThrottledError
    elif code in (CODE_INTERNAL_ERROR, CODE_REQUEST_TIMEOUT) or (
        status is not None and status >= 500 and not code
    ):
        error_class = ServerError
    elif code == CODE_EXPIRED_TOKEN:
        error_class = ExpiredTokenError
    elif code == CODE_INVALID_SIGNATURE:
        error_class = InvalidSignatureError
    elif code == CODE_MISSING_SHOP_CIPHER:
        error_class = ShopCipherError
    elif code == CODE_INVALID_AUTH_CODE:
        error_class = InvalidAuthCodeError
    elif code in (CODE_SCOPE_DENIED, CODE_IP_NOT_ALLOWED):
        error_class = AccessDeniedError
    elif code == CODE_INVALID_REQUEST:
        error_class = _sort_invalid_request(detail)
    elif status is not None and status >= 500:
        error_class = ServerError
    else:
        error_class = TikTokPermanentError

    text = f"TikTok Shop returned code {code}"
    if status is not None:
        text += f" (HTTP {status})"
    text += f": {detail or 'no message'}"
    if request_id:
        text += f" [request id {request_id}]"
    hint = _HINTS.get(error_class)
    if hint:
        text += f". {hint}"
    kwargs = {"status": status, "code": "" if code is None else str(code)}
    if issubclass(error_class, RetryableError):
        kwargs["retry_after"] = retry_after
    return error_class(text, detail=detail, request_id=request_id, **kwargs)


_HINTS = {
    InvalidSignatureError: "Check that the app secret on the connector belongs "
    "to its app key.",
    InvalidAppKeyError: "Check the app key on the connector.",
    InvalidTokenError: "Connect the shop again from the connector page.",
    InvalidAuthCodeError: "The code is used or older than 30 minutes; connect again.",
    InvalidTimestampError: "Check this server's clock (NTP).",
    AccessDeniedError: "Add the API package to the app in TikTok Partner "
    "Center, or allow this server's IP address.",
}
