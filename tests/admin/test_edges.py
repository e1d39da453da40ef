"""The edges of the hub: throttled authentication on the inbound endpoints,
the set of views exempt from CSRF, and the deployment checks."""

import base64
import importlib
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from connectors.models import Connector, InboundEvent
from inventory.models import WarehouseIntegration

pytestmark = pytest.mark.django_db

BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def thg():
    connector = Connector.objects.create(
        kind=Connector.Kind.THG, name="THG edge", inbound_username="thg"
    )
    connector.set_inbound_password("right-password")
    connector.save()
    return connector


def _basic(password):
    return "Basic " + base64.b64encode(f"thg:{password}".encode()).decode()


def _post_event(client, connector, password, address="10.0.0.1"):
    return client.post(
        f"/integrations/thg/{connector.key}/events",
        b'{"id": "E-1", "type": "order.created"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=_basic(password),
        REMOTE_ADDR=address,
    )


# Throttling of failed authentication.


def test_thg_events_429_after_five_failures(client, thg, caplog):
    statuses = [_post_event(client, thg, "wrong").status_code for _ in range(5)]

    with caplog.at_level(logging.WARNING, logger="connectors.inbound"):
        blocked = _post_event(client, thg, "right-password")

    assert statuses == [401] * 5
    assert blocked.status_code == 429
    assert 590 <= int(blocked["Retry-After"]) <= 600
    assert blocked.json()["error"]["code"] == "too_many_failed_authentications"
    assert not InboundEvent.objects.exists()


def test_throttle_logs_once_when_limit_reached(client, thg, caplog):
    with caplog.at_level(logging.WARNING, logger="connectors.inbound"):
        for _ in range(7):
            _post_event(client, thg, "wrong")

    warnings = [r for r in caplog.records if "failed authentications" in r.message]
    assert len(warnings) == 1


def test_throttle_is_per_client_address(client, thg):
    for _ in range(5):
        _post_event(client, thg, "wrong", address="10.0.0.1")

    other = _post_event(client, thg, "right-password", address="10.0.0.2")

    assert other.status_code == 202
    assert InboundEvent.objects.count() == 1


def test_four_failures_still_accept_right_credentials(client, thg):
    for _ in range(4):
        _post_event(client, thg, "wrong")

    response = _post_event(client, thg, "right-password")

    assert response.status_code == 202


@override_settings(INBOUND_AUTH_FAILURE_WINDOW=1)
def test_throttle_ends_with_window(client, thg):
    import time

    for _ in range(5):
        _post_event(client, thg, "wrong")
    time.sleep(1.1)

    response = _post_event(client, thg, "right-password")

    assert response.status_code == 202


def test_warehouse_api_429_after_five_failures(client):
    integration = WarehouseIntegration.objects.create(name="3PL")
    token = integration.issue_token()
    integration.save()

    statuses = [
        client.get(
            "/api/warehouse/shipments?location=x",
            HTTP_AUTHORIZATION="Bearer wrong-token",
        ).status_code
        for _ in range(5)
    ]
    blocked = client.get(
        "/api/warehouse/shipments?location=x", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert statuses == [401] * 5
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    integration.refresh_from_db()
    assert integration.last_used_at is None


def test_tiktok_webhook_429_after_five_failures(client):
    connector = Connector.objects.create(
        kind=Connector.Kind.TIKTOK_SHOP,
        name="TikTok edge",
        tiktok_app_key="key",
        tiktok_app_secret="app-secret-value",
    )
    url = f"/integrations/tiktok/{connector.key}/webhooks"

    statuses = [
        client.post(
            url, b"{}", content_type="application/json", HTTP_AUTHORIZATION="bad"
        ).status_code
        for _ in range(5)
    ]
    blocked = client.post(
        url, b"{}", content_type="application/json", HTTP_AUTHORIZATION="bad"
    )

    assert statuses == [401] * 5
    assert blocked.status_code == 429
    assert not InboundEvent.objects.exists()


def test_admin_login_is_not_throttled_by_inbound_counter(client, thg):
    for _ in range(6):
        _post_event(client, thg, "wrong")

    response = client.get("/admin/login/", REMOTE_ADDR="10.0.0.1")

    assert response.status_code == 200


# CSRF.

INBOUND_VIEWS = {
    "thg:events",
    "tiktok:webhooks",
    "warehouse_api:stock-snapshots",
    "warehouse_api:shipments",
    "warehouse_api:fulfillments",
}


def _exempt_views(patterns, prefix="", namespace=""):
    """Yield (route, view name) of every csrf_exempt view under ``patterns``."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}{pattern.namespace}:"
            yield from _exempt_views(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            if getattr(pattern.callback, "csrf_exempt", False):
                yield route, f"{namespace}{pattern.name}"


def test_only_inbound_and_sandbox_views_are_csrf_exempt():
    exempt = list(_exempt_views(get_resolver().url_patterns))

    outside_sandbox = {
        name for route, name in exempt if not route.startswith("sandbox/")
    }
    in_sandbox = [route for route, name in exempt if route.startswith("sandbox/")]

    assert outside_sandbox == INBOUND_VIEWS
    assert in_sandbox


def test_without_sandbox_only_inbound_views_are_csrf_exempt():
    import config.urls

    try:
        with override_settings(SANDBOX_ENABLED=False):
            urls = importlib.reload(config.urls)
            exempt = {name for _, name in _exempt_views(urls.urlpatterns)}
            routes = [route for route, _ in _exempt_views(urls.urlpatterns)]
    finally:
        importlib.reload(config.urls)

    assert exempt == INBOUND_VIEWS
    assert not [route for route in routes if route.startswith("sandbox/")]


def test_inbound_views_match_throttled_views():
    from connectors.inbound import INBOUND_URL_NAMES

    assert INBOUND_URL_NAMES == INBOUND_VIEWS


# Deployment.


def test_check_deploy_passes_with_production_settings(tmp_path):
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "junction.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "SANDBOX_ENABLED": "false",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stderr


def test_production_settings_are_secure(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_PRELOAD, "
        "s.ALLOWED_HOSTS, s.CACHES['default']['BACKEND'])"
    )
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "junction.example.com",
        "REDIS_URL": "redis://127.0.0.1:6379/3",
    }

    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "True",
        "True",
        "True",
        "31536000",
        "True",
        "['junction.example.com']",
        "django.core.cache.backends.redis.RedisCache",
    ]
