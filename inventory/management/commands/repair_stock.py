"""Recompute committed stock from the open allocations."""

from django.core.management.base import BaseCommand, CommandError

from inventory import stock


class Command(BaseCommand):
    help = (
        "Compare each stock level's committed units with the sum of its order "
        "allocations and report every difference; with --apply, fix them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--apply",
            action="store_true",
            help="Set committed to the allocations' sum (writes REPAIR movements).",
        )

    def handle(self, *args, apply=False, **options):
        differences = stock.committed_differences()
        for difference in differences:
            line = (
                f"{difference.sku} at {difference.location}: committed "
                f"{difference.recorded}, allocations {difference.expected}"
            )
            if not difference.fixable:
                line += (
                    f" (cannot fix: on hand {difference.on_hand} is below the "
                    "allocations; adjust the stock first)"
                )
            self.stdout.write(line)
        if not differences:
            self.stdout.write(
                self.style.SUCCESS("Committed stock matches the allocations.")
            )
            return
        unfixable = sum(1 for difference in differences if not difference.fixable)
        if not apply:
            self.stdout.write(
                f"{len(differences)} differences found; run with --apply to fix them."
            )
            return
        fixed = stock.repair_committed(differences)
        self.stdout.write(
            self.style.SUCCESS(f"Fixed {fixed} of {len(differences)} differences.")
        )
        if unfixable:
            raise CommandError(
                f"{unfixable} differences need a stock adjustment first."
            )
