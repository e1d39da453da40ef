"""The Diagnose page and the last report on the connector page."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from connectors.models import DoctorReport, SyncRun
from connectors.thg.sandbox import services as sandbox
from connectors.thg.sandbox.models import SandboxListing
from tests.e2e.thg_world import TEE

from .conftest import offline_connector

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _diagnose_url(connector):
    return reverse("admin:connectors_connector_diagnose", args=[connector.pk])


def test_diagnose_page_lists_findings_and_stores_the_report(world, admin_client):
    sandbox.deactivate(world.account)

    response = admin_client.get(_diagnose_url(world.connector))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Diagnose THG Doctor</h1>" in page
    assert 'data-code="thg_not_activated"' in page
    assert "Saved but no data flows" in page
    assert "<strong>handshake:</strong> not_activated" in page
    assert "Next step: Send the username &#x27;thg-e2e&#x27;" in page
    report = DoctorReport.objects.get(connector=world.connector)
    assert report.trigger == DoctorReport.Trigger.ADMIN
    assert report.error_count >= 1


def test_connector_page_links_diagnose_and_shows_last_report(world, admin_client):
    change_url = reverse("admin:connectors_connector_change", args=[world.connector.pk])
    before = admin_client.get(change_url).content.decode()
    sandbox.deactivate(world.account)
    admin_client.get(_diagnose_url(world.connector))

    after = admin_client.get(change_url).content.decode()

    assert f'href="{_diagnose_url(world.connector)}" class="diagnose-link"' in before
    assert 'id="doctor-summary"' not in before
    assert 'id="doctor-summary"' in after
    assert "(diagnose page):" in after
    assert '<li class="error">Saved but no data flows: THG accepts' in after


def test_diagnose_page_offers_resync_and_queues_it(world, admin_client):
    SandboxListing.objects.filter(account=world.account, upc=TEE).delete()
    page = admin_client.get(_diagnose_url(world.connector)).content.decode()
    assert 'name="resync" value="Force inventory resync"' in page

    response = admin_client.post(_diagnose_url(world.connector), {"resync": "1"})

    assert response.status_code == 302
    assert response.url == _diagnose_url(world.connector)
    run = SyncRun.objects.get(connector=world.connector, stream="inventory")
    assert run.trigger == SyncRun.Trigger.ADMIN
    assert run.fetched == 3


def test_resync_needs_the_run_sync_permission(world, client):
    user = get_user_model().objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_connector"))
    client.force_login(user)

    page = client.get(_diagnose_url(world.connector))
    rejected = client.post(_diagnose_url(world.connector), {"resync": "1"})

    assert page.status_code == 200
    assert 'name="resync"' not in page.content.decode()
    assert rejected.status_code == 403
    assert not SyncRun.objects.filter(stream="inventory").exists()


def test_diagnose_page_needs_view_permission(client):
    connector = offline_connector()
    user = get_user_model().objects.create_user("nobody", is_staff=True)
    client.force_login(user)

    response = client.get(_diagnose_url(connector))

    assert response.status_code == 403
    assert not DoctorReport.objects.exists()
