"""Find the coordinates of every location again from its address."""

from django.core.management.base import BaseCommand

from inventory.models import Location


class Command(BaseCommand):
    help = (
        "Geocode each location's address offline (postal code, postal district, "
        "then city; else the typed coordinates) and store where they came from."
    )

    def handle(self, *args, **options):
        counts = {}
        for location in Location.objects.order_by("pk"):
            location.refresh_coordinates()
            location.save(update_fields=["latitude", "longitude", "coordinates_source"])
            source = location.get_coordinates_source_display()
            counts[source] = counts.get(source, 0) + 1
            if options["verbosity"] >= 2:
                self.stdout.write(f"{location.code}: {source}")
        summary = ", ".join(
            f"{count} from {source}" for source, count in counts.items()
        )
        self.stdout.write(f"{sum(counts.values())} locations: {summary or 'none'}.")
