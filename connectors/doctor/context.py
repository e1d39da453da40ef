"""The state the checks of one run share: the connector, the time and the
channel's responses, each fetched at most once per run."""

import logging
from dataclasses import dataclass

from django.utils import timezone

from connectors.errors import ChannelError
from connectors.logging import redact
from connectors.models import Connector

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelAnswer:
    """The result of one call to the channel: a value, or the error raised."""

    value: object = None
    error: ChannelError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def error_text(self) -> str:
        return redact(str(self.error)) if self.error is not None else ""


class DoctorContext:
    """The state of one doctor run on one connector.

    Channel calls go through the connector's own client, once per run: the
    THG handshake (:func:`connectors.thg.connection.check_connection`, which
    also brings the connector's status up to date, as the "Test connection"
    action does), THG's warehouse list and TikTok Shop's warehouse list.
    """

    def __init__(self, connector: Connector, *, now=None):
        self.connector = connector
        self.now = now or timezone.now()
        self._answers: dict[str, object] = {}
        self._clients = []

    def _remember(self, key, fetch):
        if key not in self._answers:
            self._answers[key] = fetch()
        return self._answers[key]

    def close(self) -> None:
        """Close the HTTP sessions the run opened."""
        for client in self._clients:
            client.session.close()
        self._clients.clear()

    # THG.

    def thg_handshake(self):
        """Return the :class:`~connectors.thg.connection.ConnectionCheck`."""
        from connectors.thg.connection import check_connection

        return self._remember("thg_handshake", lambda: check_connection(self.connector))

    def thg_warehouses(self) -> ChannelAnswer:
        """Return THG's warehouse list, or the error; call it after the handshake
        succeeded, so a rejected token is reported once, by the handshake."""
        from connectors.thg.client import THGClient

        def fetch():
            client = THGClient(self.connector, attempts=1)
            self._clients.append(client)
            try:
                return ChannelAnswer(value=client.list_warehouses())
            except ChannelError as exc:
                logger.warning(
                    "Connector %s: doctor could not list THG warehouses: %s",
                    self.connector.pk,
                    redact(str(exc)),
                )
                return ChannelAnswer(error=exc)

        return self._remember("thg_warehouses", fetch)

    # TikTok Shop.

    def tiktok_warehouses(self) -> ChannelAnswer:
        """Return TikTok's warehouse list (mapped records), or the error.

        This signed, shop-scoped call also proves the access token, the app
        key, the app secret and the shop cipher. The client first refreshes
        an access token that is close to expiry.
        """
        from connectors.tiktok import mapping
        from connectors.tiktok.client import TikTokClient

        def fetch():
            client = TikTokClient(self.connector)
            self._clients.append(client)
            try:
                warehouses = client.get_warehouses()
            except ChannelError as exc:
                logger.warning(
                    "Connector %s: doctor could not list TikTok warehouses: %s",
                    self.connector.pk,
                    redact(str(exc)),
                )
                return ChannelAnswer(error=exc)
            return ChannelAnswer(
                value=[mapping.warehouse_record(item) for item in warehouses]
            )

        return self._remember("tiktok_warehouses", fetch)

    # Catalog.

    def audit(self) -> list:
        """Return the identifier audit's findings for this connector (and the
        catalog-wide ones)."""
        from catalog.audit import audit_identifiers

        return self._remember("audit", lambda: audit_identifiers(self.connector))
