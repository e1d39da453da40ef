"""Junction settings, read from the environment through django-environ.

Every variable is described in `.env.example`. With nothing set, Junction
runs on a SQLite file in the project folder and django-q2's ORM broker.
"""

import base64
import hashlib
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

_DEVELOPMENT_SECRET_KEY = "django-insecure-junction-development-only"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is missing. Set SECRET_KEY in the environment or in .env "
            "(for example with `python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'`), or set DEBUG=true for a "
            "development run."
        )
    SECRET_KEY = _DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Keys that encrypt secrets stored on models (Fernet keys, comma-separated).
# The first key encrypts; every key decrypts, so a key can be rotated by
# putting the new one first and running `manage.py rotate_secrets`.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG and SECRET_KEY != _DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is missing. Generate a key with `python -c "
            "'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'` and set it in the environment."
        )
    # Development only: a key derived from the development SECRET_KEY.
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    ]

INSTALLED_APPS = [
    # The admin site with the dashboard as its index (config.admin).
    "config.apps.JunctionAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "import_export",
    "simple_history",
    "connectors",
    "connectors.thg",
    "connectors.thg.sandbox",
    "connectors.tiktok",
    "connectors.tiktok.sandbox",
    "catalog",
    "inventory",
    "orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records the user behind each change in the history tables.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Answers 429 to a client that keeps failing the inbound endpoints'
    # authentication, before the view checks any credential.
    "connectors.inbound.FailedAuthThrottleMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE takes
    # the write lock at BEGIN, so a transaction waits for the busy timeout
    # instead of failing with "database is locked" when it first writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# The sandbox marketplaces (fakes of the THG and TikTok Shop APIs) are
# mounted under /sandbox/ only when this is on: in the demo and in tests.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)
# Base URL the demo points its connectors at; the demo command fills it in.
JUNCTION_PUBLIC_URL = env.str("JUNCTION_PUBLIC_URL", default="http://127.0.0.1:8000")

# Outbound HTTP to channels: (connect, read) timeouts in seconds.
CHANNEL_HTTP_TIMEOUT = (
    env.float("CHANNEL_CONNECT_TIMEOUT", default=5.0),
    env.float("CHANNEL_READ_TIMEOUT", default=30.0),
)

# Retries inside one sync run: attempts per call, and the back-off (seconds)
# that doubles from the base delay up to the maximum, plus jitter.
CHANNEL_RETRY_ATTEMPTS = env.int("CHANNEL_RETRY_ATTEMPTS", default=5)
CHANNEL_RETRY_BASE_DELAY = env.float("CHANNEL_RETRY_BASE_DELAY", default=0.5)
CHANNEL_RETRY_MAX_DELAY = env.float("CHANNEL_RETRY_MAX_DELAY", default=30.0)
# A sync run's lease on its stream; a run whose worker died loses it after
# this many seconds, and the next run resumes from the committed cursor.
SYNC_LEASE_SECONDS = env.int("SYNC_LEASE_SECONDS", default=300)

REDIS_URL = env.str("REDIS_URL", default="")

# The cache holds the failed-authentication counters of the inbound endpoints.
# LocMem keeps them per process: with several web processes or machines, set
# REDIS_URL so that every process counts the same failures.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "junction",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "junction",
        }
    }
# After this many failed authentications from one client IP on one inbound
# endpoint within the window (seconds), the endpoint answers 429 with
# Retry-After until the window ends.
INBOUND_AUTH_FAILURE_LIMIT = env.int("INBOUND_AUTH_FAILURE_LIMIT", default=5)
INBOUND_AUTH_FAILURE_WINDOW = env.int("INBOUND_AUTH_FAILURE_WINDOW", default=600)
Q_CLUSTER = {
    "name": "junction",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 600,
    # retry must exceed timeout, or django-q2 hands a running task to a
    # second worker; the `connectors.E001` check enforces it.
    "retry": 720,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 500,
    "ack_failures": True,
    "label": "Tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# History of products, Channel Options, mappings, connectors, locations and
# routing rules. Reverting from a history page is off: a historical row has
# no secrets, so restoring it would wipe a connector's credentials.
SIMPLE_HISTORY_REVERT_DISABLED = True

# Error pages and error mails hide settings, request parameters and local
# variables whose names look secret, and connection URLs with passwords.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.reporting.SecretsReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "connectors.logging.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # The header only allows preloading: a browser preloads the host once it
    # is submitted to the HSTS preload list.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_HTTPONLY = True
    CSRF_COOKIE_HTTPONLY = True
