from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.models import Connector

pytestmark = pytest.mark.django_db

SETTINGS = {
    "name": "THG live",
    "kind": "thg",
    "identifier_strategy": "B",
    "orders_enabled": "on",
    "returns_direction": "both",
    "inventory_enabled": "on",
    "fulfillments_enabled": "on",
    "locations_enabled": "on",
    "orders_start_date": "",
    "inventory_sku_allowlist": "",
    "sync_runs-TOTAL_FORMS": "0",
    "sync_runs-INITIAL_FORMS": "0",
}


def add_connector(client, **changes):
    return client.post(
        reverse("admin:connectors_connector_add"), {**SETTINGS, **changes}
    )


def test_first_screen_saves_without_reaching_thg_and_opens_the_second(admin_client):
    response = add_connector(admin_client)

    connector = Connector.objects.get(name="THG live")
    assert response.status_code == 302
    assert response.url == reverse(
        "admin:connectors_connector_connection", args=[connector.pk]
    )
    assert connector.status == Connector.Status.DRAFT


def test_start_date_over_six_months_back_is_refused(admin_client):
    too_old = timezone.localdate() - timedelta(days=200)

    response = add_connector(admin_client, orders_start_date=too_old.isoformat())

    assert response.status_code == 200
    assert "THG&#x27;s API limits order history to 6 months" in response.text
    assert not Connector.objects.filter(name="THG live").exists()


def test_second_screen_stores_secret_and_shows_password_once(admin_client):
    add_connector(admin_client)
    connector = Connector.objects.get(name="THG live")
    url = reverse("admin:connectors_connector_connection", args=[connector.pk])

    response = admin_client.post(
        url,
        {
            "thg_realm": "acme",
            "thg_client_id": "hub-client",
            "new_thg_client_secret": "client-secret-from-thg",
            "inbound_username": "thg-acme",
            "generate_inbound_password": "on",
            "api_url": "",
            "auth_url": "",
        },
        follow=True,
    )

    connector.refresh_from_db()
    assert connector.thg_client_secret == "client-secret-from-thg"
    assert connector.status == Connector.Status.AWAITING_ACTIVATION
    shown = [str(m) for m in response.context["messages"] if "password" in str(m)]
    assert len(shown) == 1
    password = shown[0].split("The hub password for THG is ")[1].split(" ")[0]
    assert connector.check_inbound_password(password)
    assert "client-secret-from-thg" not in response.text
    again = admin_client.get(url)
    assert password not in again.text
    assert "client-secret-from-thg" not in again.text
    assert "Set (••••••hg)" in again.text


def test_connector_page_lists_what_is_left_and_what_is_off(admin_client):
    add_connector(admin_client, returns_direction="in")
    connector = Connector.objects.get(name="THG live")

    response = admin_client.get(
        reverse("admin:connectors_connector_change", args=[connector.pk])
    )

    assert "Send the username, the password and the events URL to THG" in (
        response.text
    )
    assert "Wait for THG to activate the connection" in response.text
    assert "Returns out are off" in response.text
    assert f"/integrations/thg/{connector.key}/events" in response.text


def test_bad_location_pairs_are_each_named(admin_client):
    add_connector(admin_client)
    connector = Connector.objects.get(name="THG live")
    data = {
        **SETTINGS,
        "orders_interval_minutes": 5,
        "returns_interval_minutes": 15,
        "inventory_interval_minutes": 15,
        "fulfillments_interval_minutes": 5,
        "locations_interval_minutes": 1440,
        "tiktok_hold_minutes": 60,
        "thg_locations": "Leeds WH-1\nBath:WH-2, Bristol:WH-2",
    }

    response = admin_client.post(
        reverse("admin:connectors_connector_change", args=[connector.pk]), data
    )

    assert response.status_code == 200
    assert "&#x27;Leeds WH-1&#x27; has no colon" in response.text
    assert "&#x27;Bristol:WH-2&#x27; repeats id &#x27;WH-2&#x27;" in response.text
    connector.refresh_from_db()
    assert connector.thg_locations == ""


def test_backfill_action_queues_runs(admin_client):
    from connectors.models import SyncRun

    add_connector(admin_client)
    connector = Connector.objects.get(name="THG live")
    since = (timezone.localdate() - timedelta(days=10)).isoformat()

    response = admin_client.post(
        reverse("admin:connectors_connector_changelist"),
        {
            "action": "backfill_orders",
            "_selected_action": [connector.pk],
            "since": since,
            "apply": "Queue the backfill",
        },
        follow=True,
    )

    messages = [str(m) for m in response.context["messages"]]
    assert any("Queued 1 backfills on 1 connectors" in m for m in messages)
    # Tasks run inline in tests; the connector has no credentials, so the run
    # is recorded as failed with the cause.
    run = SyncRun.objects.get(connector=connector, stream="backfill")
    assert run.trigger == SyncRun.Trigger.ADMIN


def test_saving_location_pairs_creates_the_locations(admin_client):
    from inventory.models import ExternalLocation

    add_connector(admin_client)
    connector = Connector.objects.get(name="THG live")
    data = {
        **SETTINGS,
        "orders_interval_minutes": 5,
        "returns_interval_minutes": 15,
        "inventory_interval_minutes": 15,
        "fulfillments_interval_minutes": 5,
        "locations_interval_minutes": 1440,
        "tiktok_hold_minutes": 60,
        "thg_locations": "Leeds:WH-LEEDS-01, Bath:WH-BATH-02",
    }

    response = admin_client.post(
        reverse("admin:connectors_connector_change", args=[connector.pk]),
        data,
        follow=True,
    )

    pairs = sorted(
        ExternalLocation.objects.filter(connector=connector).values_list(
            "location__name", "external_id"
        )
    )
    assert pairs == [("Bath", "WH-BATH-02"), ("Leeds", "WH-LEEDS-01")]
    messages = [str(m) for m in response.context["messages"]]
    assert any("THG locations: 2 created, 0 updated" in m for m in messages)


def test_run_again_queues_only_failed_runs(admin_client, monkeypatch):
    from connectors.models import SyncRun

    queued = []
    monkeypatch.setattr(
        "django_q.tasks.async_task", lambda *args, **kwargs: queued.append(args)
    )
    connector = Connector.objects.create(kind="thg", name="THG runs")
    failed = SyncRun.objects.create(
        connector=connector, stream="orders", trigger="schedule", status="failed"
    )
    succeeded = SyncRun.objects.create(
        connector=connector, stream="inventory", trigger="schedule", status="succeeded"
    )

    response = admin_client.post(
        reverse("admin:connectors_syncrun_changelist"),
        {"action": "run_again", "_selected_action": [failed.pk, succeeded.pk]},
        follow=True,
    )

    assert queued == [
        ("connectors.tasks.run_stream_task", connector.pk, "orders", "admin")
    ]
    messages = [str(m) for m in response.context["messages"]]
    assert "Queued 1 stream runs again. 1 selected runs had not failed" in messages[0]


def test_replay_reprocesses_a_failed_event(
    admin_client, django_capture_on_commit_callbacks
):
    from connectors.models import InboundEvent

    connector = Connector.objects.create(
        kind="thg", name="THG replay", status=Connector.Status.AWAITING_ACTIVATION
    )
    event = InboundEvent.objects.create(
        connector=connector,
        external_id="evt_9",
        event_type="connection.activated",
        body='{"id": "evt_9", "type": "connection.activated"}',
        status=InboundEvent.Status.FAILED,
        error="OperationalError: database is locked",
    )

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:connectors_inboundevent_changelist"),
            {"action": "replay", "_selected_action": [event.pk]},
        )

    event.refresh_from_db()
    assert event.status == InboundEvent.Status.PROCESSED
    assert event.attempts == 1
    connector.refresh_from_db()
    assert connector.status == Connector.Status.CONNECTED


def test_backfill_command_names_a_bad_date():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    Connector.objects.create(kind="thg", name="THG dates")

    with pytest.raises(CommandError) as error:
        call_command("backfill_orders", "THG dates", "--since", "notadate")

    assert "--since: 'notadate' is not a date; use YYYY-MM-DD." in str(error.value)
