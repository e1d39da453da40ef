"""Encryption of secrets stored on models.

Values are encrypted with Fernet (AES-128-CBC with an HMAC) under the keys in
``settings.FIELD_ENCRYPTION_KEYS``. The first key encrypts; all of them
decrypt, which is what makes key rotation possible.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes). Generate one with "
            "`Fernet.generate_key()`."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS. "
            "Add the key it was encrypted with back to the list."
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the first key."""
    return fernet().rotate(token.encode()).decode()


def mask(value: str) -> str:
    """Show that a secret is set without showing it: the last 2 characters."""
    if not value:
        return ""
    if len(value) < 8:
        return "•" * 6
    return "•" * 6 + value[-2:]


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; Python code sees the plain value.

    The column holds the Fernet token, so the value cannot be filtered on.
    Empty strings are stored as they are, which lets "not set" be queried.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
