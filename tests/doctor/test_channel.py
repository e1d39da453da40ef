"""Activation, credentials, reachability and tokens, against the sandboxes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.doctor import Severity, diagnose
from connectors.models import Connector
from connectors.thg.sandbox import services as sandbox
from connectors.tiktok.sandbox.models import SandboxToken

from .conftest import by_code, closed_port_url, offline_tiktok, run_check

# Saved but no data flows.


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_thg_not_activated_is_an_error(world):
    sandbox.deactivate(world.account)

    findings = by_code(diagnose(world.connector).findings)

    finding = findings["thg_not_activated"]
    assert finding.severity == Severity.ERROR
    assert finding.check == "activation"
    assert finding.evidence["handshake"] == "not_activated"
    assert finding.evidence["events_received"] == 0
    assert finding.evidence["last_successful_pull"] is None
    assert finding.evidence["hub_username"] == "thg-e2e"
    events_url = f"/integrations/thg/{world.connector.key}/events"
    assert finding.evidence["events_url"] == events_url
    assert finding.next_step.startswith(
        f"Send the username 'thg-e2e', its password and the events URL {events_url} "
        "to THG support"
    )
    world.connector.refresh_from_db()
    assert world.connector.status == Connector.Status.AWAITING_ACTIVATION


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_not_activated_without_hub_login(world):
    sandbox.deactivate(world.account)
    world.connector.inbound_password_hash = ""
    world.connector.save()

    finding = by_code(run_check(world.connector, "activation"))["thg_not_activated"]

    assert finding.next_step.startswith(
        "Create the username and password THG uses to call the hub"
    )


@pytest.mark.django_db
def test_tiktok_not_authorized_is_an_error():
    connector = offline_tiktok(tiktok_access_token="", status="draft")

    findings = by_code(run_check(connector, "activation"))

    finding = findings["tiktok_not_authorized"]
    assert finding.severity == Severity.ERROR
    assert finding.evidence == {
        "status": "draft",
        "app_key": "doctorappkey",
        "shop_id": "7000000000000000001",
    }
    assert finding.next_step == (
        "Press Connect on the connector page and authorize the shop on TikTok."
    )


# Invalid credentials.


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_thg_unknown_realm_names_the_realm(world):
    world.connector.thg_realm = "no-such-realm"
    world.connector.save()

    findings = by_code(diagnose(world.connector).findings)

    finding = findings["thg_realm_not_found"]
    assert finding.severity == Severity.ERROR
    assert finding.evidence["realm"] == "no-such-realm"
    assert finding.evidence["status"] == 404
    assert finding.evidence["token_endpoint"] == (
        f"{world.base_url}/sandbox/thg/realms/no-such-realm"
        "/protocol/openid-connect/token"
    )
    assert "The realm 'no-such-realm' is wrong" in finding.message
    assert finding.next_step == (
        "Check the realm name with THG support and correct it on the Connection screen."
    )
    assert "thg_not_activated" not in findings


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_thg_wrong_secret_names_client_id_and_secret(world):
    world.connector.thg_client_secret = "wrong-secret-value"
    world.connector.save()

    findings = by_code(diagnose(world.connector).findings)

    finding = findings["thg_invalid_client"]
    assert finding.severity == Severity.ERROR
    assert finding.evidence["client_id"] == "hub"
    assert finding.evidence["client_secret"] == "••••••ue"
    assert finding.evidence["status"] == 401
    assert "the client ID 'hub' or its secret is wrong" in finding.message
    assert "wrong-secret-value" not in str(finding.as_dict())


@pytest.mark.django_db
def test_thg_missing_secret_is_named():
    connector = Connector.objects.create(
        kind=Connector.Kind.THG, name="THG empty", thg_realm="r", thg_client_id="c"
    )

    findings = by_code(run_check(connector, "credentials"))

    finding = findings["thg_credentials_missing"]
    assert finding.severity == Severity.ERROR
    assert finding.evidence == {"missing": ["THG client secret"]}


@pytest.mark.django_db
def test_unreachable_thg_is_a_finding_not_a_crash():
    url = closed_port_url()
    connector = Connector.objects.create(
        kind=Connector.Kind.THG,
        name="THG away",
        status=Connector.Status.CONNECTED,
        thg_realm="r",
        thg_client_id="c",
        thg_client_secret="some-secret-value",
        api_url=url,
        auth_url=url,
    )

    diagnosis = diagnose(connector)

    findings = by_code(diagnosis.findings)
    finding = findings["channel_unreachable"]
    assert finding.severity == Severity.ERROR
    assert finding.title == "The channel cannot be reached"
    assert finding.evidence["api_url"] == url
    assert finding.evidence["auth_url"] == url
    assert "THG could not be reached" in finding.message
    assert "check_failed" not in findings
    assert "thg_warehouse_unlisted" not in findings


@pytest.mark.django_db
def test_unreachable_tiktok_is_a_finding_not_a_crash():
    connector = offline_tiktok()

    diagnosis = diagnose(connector)

    findings = by_code(diagnosis.findings)
    assert findings["channel_unreachable"].severity == Severity.ERROR
    assert "could not be reached" in findings["channel_unreachable"].message
    assert "check_failed" not in findings


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_tiktok_revoked_authorization(tiktok_world):
    SandboxToken.objects.filter(pk=tiktok_world.token.pk).update(revoked=True)

    findings = by_code(diagnose(tiktok_world.connector).findings)

    finding = findings["tiktok_authorization_revoked"]
    assert finding.severity == Severity.ERROR
    assert finding.check == "credentials"
    assert "x-tts-access-token header is invalid" in finding.evidence["answer"]
    assert finding.next_step == (
        "Press Connect on the connector page and authorize the shop on TikTok again."
    )


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_tiktok_expired_authorization(tiktok_world):
    connector = tiktok_world.connector
    SandboxToken.objects.filter(pk=tiktok_world.token.pk).update(revoked=True)
    connector.tiktok_access_token_expires_at = timezone.now() - timedelta(hours=1)
    connector.save()

    findings = by_code(diagnose(connector).findings)

    finding = findings["tiktok_authorization_expired"]
    assert finding.severity == Severity.ERROR
    assert "rejected the renewal of the access token" in finding.message
    connector.refresh_from_db()
    assert connector.status == Connector.Status.NEEDS_REAUTHORIZATION


@pytest.mark.django_db
def test_tiktok_needing_reauthorization_is_not_called():
    connector = offline_tiktok(
        status=Connector.Status.NEEDS_REAUTHORIZATION,
        status_detail="TikTok Shop refused to refresh the access token.",
    )

    findings = by_code(diagnose(connector).findings)

    finding = findings["tiktok_reauthorize"]
    assert finding.severity == Severity.ERROR
    assert finding.message.endswith("refused to refresh the access token.")
    assert "channel_unreachable" not in findings


# Tokens near expiry.


@pytest.mark.django_db
def test_tiktok_refresh_token_expiring_is_a_warning():
    now = timezone.now()
    connector = offline_tiktok(
        tiktok_refresh_token_expires_at=now + timedelta(days=10, hours=1)
    )

    findings = by_code(run_check(connector, "token_expiry", now=now))

    finding = findings["tiktok_refresh_token_expiring"]
    assert finding.severity == Severity.WARNING
    assert "in 10 days" in finding.message
    assert finding.evidence["refresh_token_expires_at"] == (
        connector.tiktok_refresh_token_expires_at
    )


@pytest.mark.django_db
def test_tiktok_refresh_token_expired_is_an_error():
    now = timezone.now()
    connector = offline_tiktok(tiktok_refresh_token_expires_at=now - timedelta(days=1))

    findings = by_code(run_check(connector, "token_expiry", now=now))

    assert findings["tiktok_refresh_token_expired"].severity == Severity.ERROR


@pytest.mark.django_db
def test_tiktok_tokens_far_from_expiry_give_nothing():
    connector = offline_tiktok()

    assert run_check(connector, "token_expiry") == []
