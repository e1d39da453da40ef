"""Settings for the test suite: the project's settings with the sandbox on."""

import os

os.environ.setdefault("SECRET_KEY", "junction-test-suite-only")
os.environ.setdefault(
    "FIELD_ENCRYPTION_KEYS", "bWOArfiYm8NLwjAeIEFUhSJKIyVM-IPYnIsm6ssc9Lw="
)
os.environ["SANDBOX_ENABLED"] = "true"

from config.settings import *  # noqa: E402, F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run inline, in the caller's thread, unless a test starts a cluster.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405
