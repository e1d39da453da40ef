"""List every identifier problem; exit non-zero if there is one."""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from catalog.audit import RECENT_DAYS, audit_identifiers
from catalog.management.commands.import_mappings import connector_named
from catalog.models import Product
from connectors.models import Connector


class Command(BaseCommand):
    help = (
        "Audit product identifiers: shared UPCs and Channel SKUs, SKUs that "
        "differ only by case or spaces, products the connector's strategy "
        "cannot match, identifiers the strategy does not use, Channel SKUs on "
        "parent products and TikTok seller SKUs that match no master SKU. "
        "Prints one line per problem and exits with status 1 if there is "
        "any, so it can gate a go-live."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "name",
            nargs="?",
            help="Audit only this connector (the catalog-wide checks always run).",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=RECENT_DAYS,
            help="How many days of TikTok order lines to read for seller SKUs "
            f"(default {RECENT_DAYS}).",
        )

    def handle(self, *args, **options):
        connector = connector_named(options["name"]) if options["name"] else None
        findings = audit_identifiers(connector, days=options["days"])

        names = dict(Connector.objects.values_list("pk", "name"))
        product_ids = {pk for finding in findings for pk in finding.product_ids}
        skus = dict(Product.objects.filter(pk__in=product_ids).values_list("pk", "sku"))
        for finding in findings:
            where = names.get(finding.connector_id, "catalog")
            products = ", ".join(
                f"{skus.get(pk, '?')} (#{pk})" for pk in finding.product_ids
            )
            self.stdout.write(
                f"[{finding.kind}] {where} | {finding.value} | "
                f"{products or '-'} | {finding.message}"
            )

        if not findings:
            self.stdout.write(self.style.SUCCESS("No identifier problems found."))
            return
        counts = Counter(finding.kind for finding in findings)
        detail = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
        raise CommandError(
            f"Identifier audit found {len(findings)} problems ({detail})."
        )
