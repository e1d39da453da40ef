"""The main flows, run with known secret values: none may appear in a log
line, an admin page or a sync run's error."""

import io
import logging

import pytest
from django.core.management import call_command
from django.urls import reverse

from connectors.logging import RedactSecretsFilter
from connectors.models import SyncRun
from connectors.thg.sandbox import services as sandbox
from connectors.thg.sandbox.models import SandboxToken

from .thg_world import BLUE, PASSWORD, SECRET, build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def log_output():
    """Every log record at DEBUG, through the same filter the console uses."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_no_secret_in_logs_pages_or_errors(live_server, admin_client, log_output):
    world = build_world(live_server.url)
    world.order(("1", BLUE, 2))
    sandbox.register_hub(world.account, world.events_url(), "thg-e2e", PASSWORD)

    call_command("sync", "THG E2E")
    sandbox.activate(world.account)
    # A wrong secret makes the token endpoint refuse it: the error is logged
    # and stored on the run.
    world.connector.thg_client_secret = "wrong-" + SECRET
    world.connector.save()
    from connectors.thg.client import token_cache

    token_cache.clear()
    failed = call_command_failing("sync", "THG E2E")
    pages = [
        admin_client.get(reverse("admin:connectors_connector_changelist")),
        admin_client.get(
            reverse("admin:connectors_connector_change", args=[world.connector.pk])
        ),
        admin_client.get(
            reverse("admin:connectors_connector_connection", args=[world.connector.pk])
        ),
        admin_client.get(reverse("admin:connectors_syncrun_changelist")),
        admin_client.get(reverse("admin:connectors_inboundevent_changelist")),
    ]

    tokens = list(SandboxToken.objects.values_list("value", flat=True))
    secrets = [SECRET, "wrong-" + SECRET, PASSWORD, *tokens]
    assert tokens, "the sync should have obtained tokens"
    assert failed
    logs = log_output.getvalue()
    assert "THG" in logs
    errors = " ".join(SyncRun.objects.values_list("error", flat=True))
    assert "rejected client ID" in errors
    for secret in secrets:
        assert secret not in logs
        assert secret not in errors
        for page in pages:
            assert page.status_code == 200
            assert secret not in page.content.decode()


def call_command_failing(*args) -> bool:
    from django.core.management.base import CommandError

    try:
        call_command(*args)
    except CommandError:
        return True
    return False
