from django.core.management.base import BaseCommand, CommandError

from connectors.models import Connector
from connectors.thg.connection import check_connection

from ._helpers import get_connector


class Command(BaseCommand):
    help = (
        "Get a token and make one data call for a THG connector, then say which "
        "case holds: unknown realm, invalid client ID or secret, not activated "
        "by THG yet, or connected. Exits non-zero unless connected."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The connector's name.")

    def handle(self, *args, name, **options):
        connector = get_connector(name)
        if connector.kind != Connector.Kind.THG:
            raise CommandError(f"{connector} is not a THG connector.")
        result = check_connection(connector)
        if not result.ok:
            raise CommandError(f"{connector}: {result.case}: {result.message}")
        self.stdout.write(self.style.SUCCESS(f"{connector}: {result.message}"))
