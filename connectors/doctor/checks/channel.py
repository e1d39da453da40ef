"""Checks that talk to the channel: activation, credentials and tokens."""

from datetime import timedelta

from django.db.models import Max
from django.urls import reverse

from connectors.errors import RetryableError
from connectors.models import Connector, InboundEvent, Stream, SyncState

from ..findings import Finding, Severity

ACTIVATION = "activation"
CREDENTIALS = "credentials"
TOKEN_EXPIRY = "token_expiry"

NOT_FLOWING = "Saved but no data flows"
INVALID_CREDENTIALS = "Invalid credentials"
UNREACHABLE = "The channel cannot be reached"
TOKENS = "Tokens near expiry"

#: Warn this long before TikTok's refresh token (the authorization) expires.
REFRESH_TOKEN_WARNING = timedelta(days=30)


def missing_thg_credentials(connector: Connector) -> list[str]:
    """Return the labels of the THG connection values that are empty."""
    return [
        label
        for label, value in [
            ("THG realm", connector.thg_realm),
            ("THG client ID", connector.thg_client_id),
            ("THG client secret", connector.thg_client_secret),
        ]
        if not value
    ]


def thg_handshake_ok(ctx) -> bool:
    """Return whether THG issued a token and served a data call in this run."""
    if missing_thg_credentials(ctx.connector):
        return False
    return ctx.thg_handshake().ok


def tiktok_callable(connector: Connector) -> bool:
    """Return whether a signed, shop-scoped call to TikTok is worth trying."""
    return bool(
        connector.tiktok_access_token
        and connector.tiktok_shop_cipher
        and connector.status != Connector.Status.NEEDS_REAUTHORIZATION
    )


def _urls(connector: Connector) -> dict:
    if connector.is_thg:
        from connectors.thg.client import PRODUCTION_API_URL, PRODUCTION_AUTH_URL
    else:
        from connectors.tiktok.client import PRODUCTION_API_URL, PRODUCTION_AUTH_URL
    return {
        "auth_url": connector.auth_url or PRODUCTION_AUTH_URL,
        "api_url": connector.api_url or PRODUCTION_API_URL,
    }


# Saved but no data flows.


def check_activation(ctx) -> list[Finding]:
    """Find a connector that is set up but that the channel does not serve yet."""
    if ctx.connector.is_thg:
        return _thg_activation(ctx)
    return _tiktok_authorization(ctx)


def _thg_activation(ctx) -> list[Finding]:
    from connectors.thg.connection import Case

    connector = ctx.connector
    if missing_thg_credentials(connector):
        return []
    handshake = ctx.thg_handshake()
    events = InboundEvent.objects.filter(connector=connector)
    last_event = events.order_by("-received_at").values_list("received_at", flat=True)
    # Only these streams call THG on every successful run.
    last_pull = SyncState.objects.filter(
        connector=connector, stream__in=[Stream.ORDERS, Stream.LOCATIONS]
    ).aggregate(newest=Max("last_success_at"))["newest"]
    events_url = reverse("thg:events", args=[connector.key])
    has_hub_login = bool(connector.inbound_username and connector.inbound_password_hash)
    evidence = {
        "handshake": str(handshake.case),
        "last_successful_pull": last_pull,
        "events_received": events.count(),
        "last_event_at": last_event.first(),
        "hub_username": connector.inbound_username or None,
        "events_url": events_url,
    }
    if handshake.case == Case.NOT_ACTIVATED:
        send = (
            f"Send the username {connector.inbound_username!r}, its password and "
            f"the events URL {events_url} to THG support, and ask them to "
            "activate the connection."
        )
        if not has_hub_login:
            send = (
                "Create the username and password THG uses to call the hub "
                "(Connection screen), then send them with the events URL "
                f"{events_url} to THG support, and ask them to activate the "
                "connection."
            )
        return [
            Finding(
                check=ACTIVATION,
                code="thg_not_activated",
                severity=Severity.ERROR,
                title=NOT_FLOWING,
                message="THG accepts the realm, client ID and secret, but returns "
                "403 ConnectionNotActive on data calls: THG support has not "
                "activated the connection, so no orders are pulled and no events "
                "arrive.",
                next_step=send + " The status turns 'connected' on the first data "
                "call or event that succeeds.",
                evidence=evidence,
            )
        ]
    if not handshake.ok:
        return []
    if not has_hub_login:
        return [
            Finding(
                check=ACTIVATION,
                code="thg_no_hub_login",
                severity=Severity.WARNING,
                title=NOT_FLOWING,
                message="The connector has no username and password for THG's "
                "calls into the hub, so every event THG sends is rejected with "
                "401 and orders arrive only with the scheduled pull.",
                next_step="Create the username and password on the Connection "
                "screen and send them with the events URL to THG support.",
                evidence=evidence,
            )
        ]
    if not evidence["events_received"]:
        return [
            Finding(
                check=ACTIVATION,
                code="thg_no_events",
                severity=Severity.INFO,
                title=NOT_FLOWING,
                message="THG serves data calls, but has sent no event to the hub "
                "yet. Orders still arrive with the scheduled pull; events make "
                "them arrive at once.",
                next_step="If orders arrive late, check with THG support that they "
                f"have the events URL {events_url} and the hub username.",
                evidence=evidence,
            )
        ]
    return []


def _tiktok_authorization(ctx) -> list[Finding]:
    connector = ctx.connector
    evidence = {
        "status": connector.status,
        "app_key": connector.tiktok_app_key or None,
        "shop_id": connector.tiktok_shop_id or None,
    }
    if not (connector.tiktok_app_key and connector.tiktok_app_secret):
        return [
            Finding(
                check=ACTIVATION,
                code="tiktok_app_missing",
                severity=Severity.ERROR,
                title=NOT_FLOWING,
                message="The connector has no TikTok app key or app secret, so "
                "it cannot sign a call or send the seller to authorize the shop.",
                next_step="Enter the app key, app secret and service id from "
                "TikTok Shop Partner Center on the Connection screen.",
                evidence=evidence,
            )
        ]
    if not connector.tiktok_access_token:
        return [
            Finding(
                check=ACTIVATION,
                code="tiktok_not_authorized",
                severity=Severity.ERROR,
                title=NOT_FLOWING,
                message="The shop has not been authorized: the connector has "
                "no access token, so nothing is pulled from or pushed to TikTok "
                "Shop.",
                next_step="Press Connect on the connector page and authorize the "
                "shop on TikTok.",
                evidence=evidence,
            )
        ]
    if not connector.tiktok_shop_cipher:
        return [
            Finding(
                check=ACTIVATION,
                code="tiktok_no_shop",
                severity=Severity.ERROR,
                title=NOT_FLOWING,
                message="The authorization covers no shop: the connector has no "
                "shop cipher, which every order, stock and warehouse call needs.",
                next_step="Press Connect on the connector page and pick the shop "
                "you sell on.",
                evidence=evidence,
            )
        ]
    return []


# Invalid credentials.


def check_credentials(ctx) -> list[Finding]:
    """Find the credential the channel rejects, as named in its error response."""
    if ctx.connector.is_thg:
        return _thg_credentials(ctx)
    return _tiktok_credentials(ctx)


def _thg_credentials(ctx) -> list[Finding]:
    from connectors.thg.connection import Case

    connector = ctx.connector
    urls = _urls(connector)
    missing = missing_thg_credentials(connector)
    if missing:
        return [
            Finding(
                check=CREDENTIALS,
                code="thg_credentials_missing",
                severity=Severity.ERROR,
                title=INVALID_CREDENTIALS,
                message=f"{', '.join(missing)} is empty, so the hub cannot get a "
                "token from THG.",
                next_step="Enter the realm, client ID and client secret from THG "
                "support on the Connection screen.",
                evidence={"missing": missing},
            )
        ]
    handshake = ctx.thg_handshake()
    evidence = {
        "realm": connector.thg_realm,
        "client_id": connector.thg_client_id,
        "client_secret": connector.masked_client_secret,
        "token_endpoint": f"{urls['auth_url']}/realms/{connector.thg_realm}"
        "/protocol/openid-connect/token",
        "answer": handshake.message,
    }
    if handshake.case == Case.REALM_NOT_FOUND:
        return [
            Finding(
                check=CREDENTIALS,
                code="thg_realm_not_found",
                severity=Severity.ERROR,
                title=INVALID_CREDENTIALS,
                message=f"The realm {connector.thg_realm!r} is wrong: THG's token "
                "endpoint returns 404 'Realm does not exist'. The client ID and "
                "secret cannot be checked until the realm is right.",
                next_step="Check the realm name with THG support and correct it on "
                "the Connection screen.",
                evidence={**evidence, "status": 404},
            )
        ]
    if handshake.case == Case.INVALID_CLIENT:
        return [
            Finding(
                check=CREDENTIALS,
                code="thg_invalid_client",
                severity=Severity.ERROR,
                title=INVALID_CREDENTIALS,
                message=f"The realm {connector.thg_realm!r} exists, but THG's "
                "token endpoint returns 401 invalid_client: the client ID "
                f"{connector.thg_client_id!r} or its secret is wrong (THG does "
                "not tell which of the two).",
                next_step="Check the client ID and the client secret with THG "
                "support, and enter both again on the Connection screen.",
                evidence={**evidence, "status": 401},
            )
        ]
    if handshake.case == Case.UNREACHABLE:
        return [
            Finding(
                check=CREDENTIALS,
                code="channel_unreachable",
                severity=Severity.ERROR,
                title=UNREACHABLE,
                message=f"The handshake with THG failed: {handshake.message}",
                next_step="Check the API and auth base URLs on the connector and "
                "that this server can reach them, then run the doctor again.",
                evidence={**evidence, **urls},
            )
        ]
    return []


def _tiktok_credentials(ctx) -> list[Finding]:
    connector = ctx.connector
    evidence = {
        "app_key": connector.tiktok_app_key,
        "shop_id": connector.tiktok_shop_id,
        "access_token_expires_at": connector.tiktok_access_token_expires_at,
        "refresh_token_expires_at": connector.tiktok_refresh_token_expires_at,
    }
    if connector.status == Connector.Status.NEEDS_REAUTHORIZATION:
        return [
            Finding(
                check=CREDENTIALS,
                code="tiktok_reauthorize",
                severity=Severity.ERROR,
                title=INVALID_CREDENTIALS,
                message="TikTok Shop no longer accepts the connector's "
                "authorization: "
                + (connector.status_detail or "the token refresh was rejected."),
                next_step="Press Connect on the connector page and authorize the "
                "shop on TikTok again.",
                evidence={**evidence, "status": connector.status},
            )
        ]
    if not tiktok_callable(connector):
        return []
    answer = ctx.tiktok_warehouses()
    if answer.ok:
        return []
    code, message, next_step = _tiktok_problem(
        answer.error, answer.error_text, connector
    )
    title = UNREACHABLE if code == "channel_unreachable" else INVALID_CREDENTIALS
    return [
        Finding(
            check=CREDENTIALS,
            code=code,
            severity=Severity.ERROR,
            title=title,
            message=message,
            next_step=next_step,
            evidence={**evidence, "answer": answer.error_text, **_urls(connector)},
        )
    ]


def _tiktok_problem(error, text: str, connector) -> tuple[str, str, str]:
    """Return (code, message, next step) for a failed TikTok call."""
    from connectors.tiktok import errors

    reconnect = (
        "Press Connect on the connector page and authorize the shop on TikTok again."
    )
    if isinstance(error, errors.RefreshFailedError | errors.ExpiredTokenError):
        return (
            "tiktok_authorization_expired",
            "TikTok Shop rejected the renewal of the access token: the seller's "
            "authorization expired or was revoked.",
            reconnect,
        )
    if isinstance(error, errors.InvalidTokenError):
        return (
            "tiktok_authorization_revoked",
            "TikTok Shop rejects the access token as invalid: the seller revoked "
            "the authorization, or authorized the app again elsewhere.",
            reconnect,
        )
    if isinstance(error, errors.InvalidSignatureError):
        return (
            "tiktok_invalid_app_secret",
            "TikTok Shop rejects the request signature: the app secret does not "
            f"belong to app key {connector.tiktok_app_key!r}.",
            "Copy the app secret of this app key from TikTok Shop Partner Center "
            "and enter it on the Connection screen.",
        )
    if isinstance(error, errors.InvalidAppKeyError):
        return (
            "tiktok_invalid_app_key",
            f"TikTok Shop does not know the app key {connector.tiktok_app_key!r}.",
            "Copy the app key from TikTok Shop Partner Center and enter it on the "
            "Connection screen.",
        )
    if isinstance(error, errors.AccessDeniedError):
        return (
            "tiktok_access_denied",
            "TikTok Shop denies the app this call: the app lacks the API scope, "
            "or this server's IP address is not allowed.",
            "Add the logistics API package to the app in TikTok Shop Partner "
            "Center, or allow this server's IP address.",
        )
    if isinstance(error, errors.ShopCipherError):
        return (
            "tiktok_shop_cipher",
            "TikTok Shop rejects the shop cipher stored on the connector.",
            "Press Connect on the connector page and pick the shop again.",
        )
    if isinstance(error, RetryableError):
        return (
            "channel_unreachable",
            f"The call to TikTok Shop failed: {text}",
            "Check the API base URL on the connector and that this server can "
            "reach it, then run the doctor again.",
        )
    return (
        "tiktok_call_failed",
        f"TikTok Shop rejected the warehouse list call: {text}",
        "Read TikTok's message above; if it names a credential, correct it on "
        "the Connection screen.",
    )


# Tokens near expiry.


def check_token_expiry(ctx) -> list[Finding]:
    """Find TikTok tokens that expired or expire soon.

    THG needs no such check: its tokens live minutes and are fetched again
    from the client ID and secret whenever they expire.
    """
    from connectors.tiktok.client import REFRESH_MARGIN

    connector = ctx.connector
    if not connector.tiktok_access_token:
        return []
    access = connector.tiktok_access_token_expires_at
    refresh = connector.tiktok_refresh_token_expires_at
    evidence = {
        "access_token_expires_at": access,
        "refresh_token_expires_at": refresh,
        "now": ctx.now,
    }
    if refresh is not None and refresh <= ctx.now:
        return [
            Finding(
                check=TOKEN_EXPIRY,
                code="tiktok_refresh_token_expired",
                severity=Severity.ERROR,
                title=TOKENS,
                message=f"The seller's authorization (the refresh token) expired "
                f"at {refresh:%Y-%m-%d %H:%M} UTC, so the access token cannot be "
                "renewed.",
                next_step="Press Connect on the connector page and authorize the "
                "shop on TikTok again.",
                evidence=evidence,
            )
        ]
    if refresh is not None and refresh - ctx.now <= REFRESH_TOKEN_WARNING:
        days = (refresh - ctx.now).days
        return [
            Finding(
                check=TOKEN_EXPIRY,
                code="tiktok_refresh_token_expiring",
                severity=Severity.WARNING,
                title=TOKENS,
                message=f"The seller's authorization (the refresh token) expires "
                f"at {refresh:%Y-%m-%d %H:%M} UTC, in {days} days; after that "
                "nothing syncs until the shop is authorized again.",
                next_step="Before then, press Connect on the connector page and "
                "authorize the shop on TikTok again.",
                evidence=evidence,
            )
        ]
    if access is None or access - ctx.now <= REFRESH_MARGIN:
        return [
            Finding(
                check=TOKEN_EXPIRY,
                code="tiktok_access_token_expiring",
                severity=Severity.INFO,
                title=TOKENS,
                message="The access token expires within a day; the client "
                "renews it with the refresh token on the next call.",
                next_step="Nothing to do while the refresh token is valid.",
                evidence=evidence,
            )
        ]
    return []
