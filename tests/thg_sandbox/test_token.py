import base64

from connectors.thg.sandbox.models import SandboxToken

from .conftest import CLIENT_ID, CLIENT_SECRET, TOKEN_PATH


def test_token_success_body(client, account):
    response = client.post(
        TOKEN_PATH,
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "expires_in",
        "refresh_expires_in",
        "token_type",
        "not-before-policy",
        "scope",
    }
    assert body["expires_in"] == 300
    assert body["refresh_expires_in"] == 0
    assert body["token_type"] == "Bearer"
    assert body["not-before-policy"] == 0
    assert body["scope"] == "profile email"
    token = SandboxToken.objects.get(value=body["access_token"])
    assert token.account == account
    lifetime = (token.expires_at - token.created_at).total_seconds()
    assert 299 <= lifetime <= 300


def test_token_with_basic_client_auth(client, account):
    credentials = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()

    response = client.post(
        TOKEN_PATH,
        {"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {credentials}"},
    )

    assert response.status_code == 200
    assert SandboxToken.objects.filter(value=response.json()["access_token"]).exists()


def test_token_works_while_inactive(client, account):
    account.active = False
    account.save()

    response = client.post(
        TOKEN_PATH,
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )

    assert response.status_code == 200


def test_token_wrong_secret_401(client, account):
    response = client.post(
        TOKEN_PATH,
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": "wrong",
        },
    )

    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Invalid client or Invalid client credentials",
    }
    assert SandboxToken.objects.count() == 0


def test_token_wrong_client_id_401(client, account):
    response = client.post(
        TOKEN_PATH,
        {
            "grant_type": "client_credentials",
            "client_id": "someone-else",
            "client_secret": CLIENT_SECRET,
        },
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert SandboxToken.objects.count() == 0


def test_token_unknown_realm_404(client, account):
    response = client.post(
        "/sandbox/thg/realms/nowhere/protocol/openid-connect/token",
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )

    assert response.status_code == 404
    assert response.json() == {"error": "Realm does not exist"}
    assert SandboxToken.objects.count() == 0


def test_token_unsupported_grant_type_400(client, account):
    response = client.post(
        TOKEN_PATH,
        {
            "grant_type": "password",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unsupported_grant_type"
    assert "client_credentials" in body["error_description"]
    assert SandboxToken.objects.count() == 0


def test_token_missing_grant_type_400(client, account):
    response = client.post(
        TOKEN_PATH, {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Missing form parameter: grant_type",
    }
    assert SandboxToken.objects.count() == 0


def test_token_get_405(client, account):
    response = client.get(TOKEN_PATH)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
