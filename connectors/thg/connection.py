"""The THG handshake: which of its four cases holds for a connector."""

import enum
from dataclasses import dataclass

from connectors.errors import ChannelError, RetryableError
from connectors.models import Connector

from . import errors
from .client import THGClient


class Case(enum.StrEnum):
    REALM_NOT_FOUND = "realm_not_found"
    INVALID_CLIENT = "invalid_client"
    NOT_ACTIVATED = "not_activated"
    CONNECTED = "connected"
    UNREACHABLE = "unreachable"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class ConnectionCheck:
    case: Case
    message: str

    @property
    def ok(self) -> bool:
        return self.case == Case.CONNECTED


def check_connection(connector: Connector) -> ConnectionCheck:
    """Get a token and make one data call, then say exactly which case holds.

    Updates the connector's status to match: "awaiting activation" while THG
    answers 403 ``ConnectionNotActive``, "connected" once a data call works,
    "needs attention" for wrong credentials.
    """
    missing = [
        label
        for label, value in [
            ("THG realm", connector.thg_realm),
            ("THG client ID", connector.thg_client_id),
            ("THG client secret", connector.thg_client_secret),
        ]
        if not value
    ]
    if missing:
        return ConnectionCheck(
            Case.INCOMPLETE,
            f"Missing {', '.join(missing)}: enter them on the connection screen.",
        )
    client = THGClient(connector, attempts=1)
    client.forget_token()
    try:
        client.fetch_token()
        client.list_warehouses()
    except errors.RealmNotFound as exc:
        connector.set_status(Connector.Status.NEEDS_ATTENTION, str(exc))
        return ConnectionCheck(Case.REALM_NOT_FOUND, str(exc))
    except errors.InvalidClient as exc:
        connector.set_status(Connector.Status.NEEDS_ATTENTION, str(exc))
        return ConnectionCheck(Case.INVALID_CLIENT, str(exc))
    except errors.ConnectionNotActive as exc:
        connector.set_status(Connector.Status.AWAITING_ACTIVATION, str(exc))
        return ConnectionCheck(
            Case.NOT_ACTIVATED,
            "The realm, client ID and secret are valid, but THG has not "
            "activated the connection yet. Send the hub username and password to "
            "THG support and wait for them to activate it.",
        )
    except RetryableError as exc:
        return ConnectionCheck(
            Case.UNREACHABLE, f"THG could not be reached: {exc}. Try again later."
        )
    except ChannelError as exc:
        return ConnectionCheck(Case.UNREACHABLE, f"THG returned an error: {exc}")
    connector.set_status(Connector.Status.CONNECTED)
    return ConnectionCheck(
        Case.CONNECTED, "Connected: THG issued a token and a data call succeeded."
    )
