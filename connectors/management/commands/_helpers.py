from django.core.management.base import CommandError

from connectors.models import Connector


def get_connector(name: str) -> Connector:
    try:
        return Connector.objects.get(name=name)
    except Connector.DoesNotExist:
        names = ", ".join(Connector.objects.values_list("name", flat=True)) or "none"
        raise CommandError(
            f"No connector is named {name!r}. Connectors: {names}."
        ) from None
