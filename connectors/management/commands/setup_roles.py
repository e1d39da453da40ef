from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from connectors.roles import setup_roles


class Command(BaseCommand):
    help = (
        "Create or update the Support and Ops groups with their permissions. "
        "Safe to run again; run it after upgrading Junction."
    )

    def handle(self, *args, **options):
        from django.apps import apps
        from django.contrib.auth.management import create_permissions

        # Permissions of apps migrated without post_migrate (for example by
        # a data migration) may be missing; create them first.
        for app_config in apps.get_app_configs():
            create_permissions(app_config, verbosity=0)
        with transaction.atomic():
            results = setup_roles()
        for result in results:
            action = "created" if result.created else "updated"
            self.stdout.write(
                f"{result.name}: {action}, {result.permissions} permissions."
            )
            for label in result.missing:
                self.stderr.write(f"{result.name}: permission {label} not found.")
        missing = sum(len(result.missing) for result in results)
        if missing:
            raise CommandError(
                f"{missing} permissions were not found: run `manage.py migrate` "
                "first, then this command again."
            )
        self.stdout.write(self.style.SUCCESS(f"{len(results)} roles set up."))
