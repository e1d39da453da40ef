"""Access tokens: the Keycloak-style token call and bearer checks."""

import base64
import binascii
import datetime as dt
import hmac
import logging
import secrets

from django.db.models import F
from django.utils import timezone

from .errors import APIError
from .models import SandboxAccount, SandboxToken

logger = logging.getLogger(__name__)

EXPIRES_IN = 300
#: Expired tokens are deleted once they are this old.
EXPIRED_TOKEN_RETENTION = dt.timedelta(hours=1)


class TokenError(Exception):
    """A token call that fails; ``body`` is Keycloak's error body."""

    def __init__(self, status: int, body: dict):
        super().__init__(body.get("error_description") or body["error"])
        self.status = status
        self.body = body


def client_credentials(
    form: dict, authorization: str | None
) -> tuple[str | None, str | None]:
    """Return the client ID and secret from the form or from HTTP Basic auth."""
    client_id = form.get("client_id")
    client_secret = form.get("client_secret")
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return client_id, client_secret
        basic_id, _, basic_secret = decoded.partition(":")
        client_id = client_id or basic_id
        client_secret = client_secret or basic_secret
    return client_id, client_secret


def find_realm_account(realm: str) -> SandboxAccount | None:
    """Return an account in ``realm``, which the fault settings are read from."""
    return SandboxAccount.objects.filter(realm=realm).order_by("pk").first()


def issue_token(
    realm: str,
    grant_type: str | None,
    client_id: str | None,
    client_secret: str | None,
) -> dict:
    """Check a client-credentials request and return the token response body.

    Raises :class:`TokenError` with Keycloak's status and body for an unknown
    realm (404), a missing grant type (400), wrong client credentials (401)
    or a grant type other than ``client_credentials`` (400).
    """
    if not SandboxAccount.objects.filter(realm=realm).exists():
        raise TokenError(404, {"error": "Realm does not exist"})
    if not grant_type:
        raise TokenError(
            400,
            {
                "error": "invalid_request",
                "error_description": "Missing form parameter: grant_type",
            },
        )

    account = SandboxAccount.objects.filter(realm=realm, client_id=client_id).first()
    if account is None or not hmac.compare_digest(
        account.client_secret.encode(), (client_secret or "").encode()
    ):
        logger.warning(
            "THG sandbox realm %s: token request rejected: invalid credentials "
            "for client %r",
            realm,
            client_id,
        )
        raise TokenError(
            401,
            {
                "error": "invalid_client",
                "error_description": "Invalid client or Invalid client credentials",
            },
        )
    if grant_type != "client_credentials":
        raise TokenError(
            400,
            {
                "error": "unsupported_grant_type",
                "error_description": f"Unsupported grant_type {grant_type!r}: "
                "this client supports client_credentials only.",
            },
        )

    now = timezone.now()
    SandboxToken.objects.filter(
        account=account, expires_at__lt=now - EXPIRED_TOKEN_RETENTION
    ).delete()
    token = SandboxToken.objects.create(
        account=account,
        value=secrets.token_urlsafe(32),
        expires_at=now + dt.timedelta(seconds=EXPIRES_IN),
    )
    logger.info("THG sandbox account %s: token issued", account)
    return {
        "access_token": token.value,
        "expires_in": EXPIRES_IN,
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "scope": "profile email",
    }


def _unauthorized(detail: str, error: str | None = None) -> APIError:
    challenge = 'Bearer realm="thg"'
    if error:
        challenge += f', error="{error}", error_description="{detail}"'
    return APIError(
        401,
        "UnauthorizedException",
        detail,
        headers={"WWW-Authenticate": challenge},
    )


def authenticate(authorization: str | None) -> tuple[SandboxAccount, bool]:
    """Return the account of a bearer token and whether it expired by calls.

    Raises a 401 :class:`APIError` for a missing, unknown or expired token.
    The second value is true when the token has just run out of its
    ``token_lifetime_calls``: the call is then rejected and counted as a
    ``token_expired`` fault by the caller.
    """
    if not authorization or not authorization.startswith("Bearer "):
        raise _unauthorized(
            "The Authorization header is missing or is not a Bearer token. "
            "Get a token from the token endpoint and send "
            "'Authorization: Bearer <token>'."
        )
    value = authorization[len("Bearer ") :].strip()
    token = SandboxToken.objects.select_related("account").filter(value=value).first()
    if token is None:
        raise _unauthorized(
            "The bearer token is not valid. Get a new token from the token endpoint.",
            "invalid_token",
        )
    if token.expires_at <= timezone.now():
        raise _unauthorized(
            "The bearer token has expired. Get a new token from the token endpoint.",
            "invalid_token",
        )

    account = token.account
    limit = account.token_lifetime_calls
    if limit:
        SandboxToken.objects.filter(pk=token.pk).update(api_calls=F("api_calls") + 1)
        token.refresh_from_db(fields=["api_calls"])
        if token.api_calls > limit:
            SandboxToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
            return account, True
    return account, False


def expired_by_calls_error() -> APIError:
    return _unauthorized(
        "The bearer token has expired. Get a new token from the token endpoint.",
        "invalid_token",
    )
