"""What a connector's page tells the merchant: what is left to do, what is off."""

from dataclasses import dataclass

from .models import Connector


@dataclass(frozen=True)
class Step:
    text: str
    done: bool


def next_steps(connector: Connector) -> list[Step]:
    """The set-up steps of a connector, in order, each marked done or not."""
    connected = connector.status == Connector.Status.CONNECTED
    if connector.kind == Connector.Kind.THG:
        credentials = bool(
            connector.thg_realm
            and connector.thg_client_id
            and connector.thg_client_secret
        )
        hub_login = bool(connector.inbound_username and connector.inbound_password_hash)
        return [
            Step(
                "Enter the THG realm, client ID and client secret from THG support "
                "(Connection screen).",
                credentials,
            ),
            Step(
                "Create the username and password THG will use to call the hub "
                "(Connection screen).",
                hub_login,
            ),
            Step(
                "Send the username, the password and the events URL to THG support.",
                connected,
            ),
            Step(
                "Wait for THG to activate the connection: the status turns "
                "'connected' on the first data call or event that succeeds.",
                connected,
            ),
        ]
    return [
        Step(
            "Enter the app key, app secret and service id from TikTok Shop Partner "
            "Center (Connection screen).",
            bool(connector.tiktok_app_key and connector.tiktok_app_secret),
        ),
        Step(
            "Press Connect and authorize the shop on TikTok.",
            bool(connector.tiktok_access_token),
        ),
        Step(
            "Check that the shop shown is the one you sell on.",
            bool(connector.tiktok_shop_cipher) and connected,
        ),
    ]


def switched_off(connector: Connector) -> list[str]:
    """Say, for each stream or direction that is off, what does not move."""
    notes = []
    if not connector.orders_enabled:
        notes.append("Orders in are off: no orders are pulled from the channel.")
    if not connector.returns_inbound:
        notes.append("Returns in are off: returns made on the channel do not arrive.")
    if not connector.returns_outbound:
        notes.append(
            "Returns out are off: returns and receipts recorded in the hub are not "
            "sent to the channel."
        )
    if not connector.inventory_enabled:
        notes.append("Inventory out is off: stock totals are not pushed.")
    if not connector.fulfillments_enabled:
        notes.append("Fulfillments out are off: shipments are not sent.")
    if not connector.locations_enabled:
        notes.append("Locations are off: channel warehouses are not checked.")
    return notes
