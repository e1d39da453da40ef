"""Re-encrypt every stored secret under the first of FIELD_ENCRYPTION_KEYS."""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models.functions import Cast

from connectors.crypto import EncryptedTextField, rotate

BATCH_SIZE = 500


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    """Return (model, field name) for every EncryptedTextField of every model."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def rotate_field(model, field_name: str) -> int:
    """Re-encrypt one field in every row; return the rows rewritten.

    The stored token is read as text (not decrypted), re-encrypted with
    :func:`connectors.crypto.rotate` and written back as text, batch by
    batch, each row locked while its batch runs. Empty values stay empty.
    """
    raw = Cast(field_name, output_field=models.TextField())
    last_pk = None
    rotated = 0
    while True:
        with transaction.atomic():
            rows = model._default_manager.exclude(**{field_name: ""})
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(
                rows.select_for_update()
                .order_by("pk")
                .annotate(stored_token=raw)
                .values_list("pk", "stored_token")[:BATCH_SIZE]
            )
            for pk, token in batch:
                if not token:
                    continue
                new_token = models.Value(rotate(token), output_field=models.TextField())
                model._default_manager.filter(pk=pk).update(**{field_name: new_token})
                rotated += 1
        if len(batch) < BATCH_SIZE:
            return rotated
        last_pk = batch[-1][0]


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field of every model under the first key "
        "of FIELD_ENCRYPTION_KEYS. Put the new key first, keep the old ones "
        "after it, run this, then remove the old keys."
    )

    def handle(self, *args, **options):
        from cryptography.fernet import InvalidToken

        total = 0
        for model, field_name in encrypted_fields():
            try:
                count = rotate_field(model, field_name)
            except InvalidToken as exc:
                raise CommandError(
                    f"{model._meta.label}.{field_name} contains a value that no key "
                    "in FIELD_ENCRYPTION_KEYS can decrypt. Add the key it was "
                    "encrypted with to the list and run this again."
                ) from exc
            total += count
            if options["verbosity"] >= 2:
                self.stdout.write(f"{model._meta.label}.{field_name}: {count} rows")
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {total} values under the first key.")
        )
