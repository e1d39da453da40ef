"""Connecting a TikTok shop: the authorization link and what the callback does.

The ``state`` sent to TikTok is signed with :mod:`django.core.signing`,
names the connector and the staff user who started, and expires after ten
minutes. TikTok sends the seller back to the redirect URL registered in
Partner Center, which must be ``/integrations/tiktok/callback`` on the hub.
"""

import logging
import secrets
from urllib.parse import urlencode

from django.core import signing

from connectors.models import Connector

from . import mapping
from .client import TikTokClient

logger = logging.getLogger(__name__)

STATE_SALT = "connectors.tiktok.oauth.state"
STATE_MAX_AGE = 10 * 60
AUTHORIZE_URL = "https://services.tiktokshop.com/open/authorize"
AUTHORIZE_URL_US = "https://services.us.tiktokshop.com/open/authorize"
LEGACY_AUTHORIZE_URL = "https://auth.tiktok-shops.com/oauth/authorize"


class AuthorizationError(Exception):
    """The connection cannot be completed. The message gives the cause and the fix."""


def make_state(connector: Connector, user, shop_id: str = "") -> str:
    """Sign a state naming the connector, the user and an optional shop."""
    payload = {
        "connector": connector.pk,
        "user": user.pk,
        "shop_id": shop_id,
        "nonce": secrets.token_urlsafe(8),
    }
    return signing.dumps(payload, salt=STATE_SALT)


def read_state(state: str) -> dict:
    """Check a state's signature and age; raise :class:`AuthorizationError`."""
    try:
        return signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise AuthorizationError(
            "The authorization took longer than 10 minutes, so its state expired. "
            "Click Connect again."
        ) from exc
    except signing.BadSignature as exc:
        raise AuthorizationError(
            "The state TikTok sent back is missing or was not issued by this hub. "
            "Start again with Connect on the connector page."
        ) from exc


def authorize_url(connector: Connector, state: str) -> str:
    """Build the seller authorization link.

    With ``auth_url`` set (a sandbox), the page is ``{auth_url}/oauth/authorize``.
    Otherwise it is TikTok's service authorization page (the US one for a US
    shop), or the legacy app-key page when the connector has no service id.
    """
    if connector.tiktok_service_id:
        params = {"service_id": connector.tiktok_service_id, "state": state}
    else:
        params = {"app_key": connector.tiktok_app_key, "state": state}
    if connector.auth_url:
        base = connector.auth_url.rstrip("/") + "/oauth/authorize"
    elif not connector.tiktok_service_id:
        base = LEGACY_AUTHORIZE_URL
    elif connector.tiktok_shop_region.upper() == "US":
        base = AUTHORIZE_URL_US
    else:
        base = AUTHORIZE_URL
    return f"{base}?{urlencode(params)}"


def choose_shop(
    shops: list[mapping.ShopRecord], connector: Connector, wanted_shop_id: str = ""
) -> mapping.ShopRecord:
    """Pick the shop the connector will use.

    Order of preference: the shop asked for when connecting (``shop_id``),
    then the shop the connector already uses, then the first shop listed.
    A shop asked for, or already used, that the grant lacks is an error, so a
    connector moves to another shop only on request.
    """
    if not shops:
        raise AuthorizationError(
            "TikTok Shop authorized no shop for this app. Authorize again and "
            "select a shop."
        )
    listed = ", ".join(f"{shop.id} ({shop.name}, {shop.region})" for shop in shops)
    for wanted, source in (
        (wanted_shop_id, "was requested"),
        (connector.tiktok_shop_id, "is the shop this connector already uses"),
    ):
        if not wanted:
            continue
        for shop in shops:
            if shop.id == wanted:
                return shop
        raise AuthorizationError(
            f"Shop {wanted} {source}, but the authorization covers only: {listed}. "
            "Authorize that shop, or clear the connector's shop id to take the first."
        )
    return shops[0]


def complete_authorization(
    connector: Connector, code: str, *, shop_id: str = "", client=None
) -> mapping.ShopRecord:
    """Exchange ``code``, store both tokens, and store the chosen shop.

    The tokens are stored (encrypted, with absolute expiry times) before the
    shops are listed, because listing them needs the new access token.
    Raises :class:`AuthorizationError` or a TikTok error with the cause.
    """
    if not code:
        raise AuthorizationError(
            "TikTok sent no authorization code back; the seller may have declined. "
            "Click Connect to try again."
        )
    own_client = client is None
    client = client or TikTokClient(connector)
    try:
        tokens = client.exchange_code(code)
        client.store_tokens(tokens)
        shops = [mapping.shop_record(shop) for shop in client.get_authorized_shops()]
    finally:
        if own_client:
            client.close()
    shop = choose_shop(shops, connector, shop_id)
    connector.tiktok_shop_id = shop.id
    connector.tiktok_shop_cipher = shop.cipher
    connector.tiktok_shop_region = shop.region
    connector.save(
        update_fields=[
            "tiktok_shop_id",
            "tiktok_shop_cipher",
            "tiktok_shop_region",
            "updated_at",
        ]
    )
    connector.set_status(Connector.Status.CONNECTED)
    logger.info(
        "Connector %s: connected to TikTok shop %s (%s), %d shops authorized",
        connector.pk,
        shop.id,
        shop.region,
        len(shops),
    )
    return shop
