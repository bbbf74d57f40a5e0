"""The demo org's OAuth web server flow, driven over HTTP like a browser and a client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from core.demo_org import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, DEMO_ORG_ID, DEMO_USERNAME
from tests.demo_org_fixtures import TEST_CALLBACK_URL, DemoOrgHandle, demo_org, demo_org_server, pkce_pair  # noqa: F401


def exchange(demo_org: DemoOrgHandle, code: str, verifier: str | None, **overrides: str) -> requests.Response:
    data = {
        "grant_type": "authorization_code", "code": code, "client_id": DEMO_CONSUMER_KEY,
        "client_secret": DEMO_CONSUMER_SECRET, "redirect_uri": TEST_CALLBACK_URL,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(overrides)
    return requests.post(f"{demo_org.url}/services/oauth2/token", data=data, timeout=10)


def refresh(demo_org: DemoOrgHandle, refresh_token: str, secret: str = DEMO_CONSUMER_SECRET) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": DEMO_CONSUMER_KEY, "client_secret": secret}
    return requests.post(f"{demo_org.url}/services/oauth2/token", data=data, timeout=10)


@pytest.fixture
def approved_code(demo_org: DemoOrgHandle) -> tuple[str, str]:
    """An authorization code approved on the consent page, with its PKCE verifier."""
    verifier, challenge = pkce_pair()
    return demo_org.authorize_code(TEST_CALLBACK_URL, challenge, "state-1"), verifier


def test_consent_page_names_app_scopes_and_user(demo_org: DemoOrgHandle) -> None:
    _, challenge = pkce_pair()
    params = {
        "response_type": "code", "client_id": DEMO_CONSUMER_KEY, "redirect_uri": TEST_CALLBACK_URL,
        "scope": "api refresh_token", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256",
    }
    page = requests.get(f"{demo_org.url}/services/oauth2/authorize", params=params, timeout=10)

    assert page.status_code == 200
    assert "Allow access?" in page.text
    assert "Demo Booking Console" in page.text
    assert "Manage user data via APIs (api)" in page.text
    assert DEMO_USERNAME in page.text
    assert 'value="allow"' in page.text
    assert 'value="deny"' in page.text


def test_allow_redirects_with_code_and_state(demo_org: DemoOrgHandle) -> None:
    _, challenge = pkce_pair()

    location = demo_org.authorize(TEST_CALLBACK_URL, challenge, "xyz")

    assert location.startswith(TEST_CALLBACK_URL + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["xyz"]
    assert len(query["code"][0]) > 20


def test_deny_redirects_with_access_denied(demo_org: DemoOrgHandle) -> None:
    _, challenge = pkce_pair()

    location = demo_org.authorize(TEST_CALLBACK_URL, challenge, "xyz", decision="deny")

    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"]
    assert query["error_description"] == ["end-user denied authorization"]
    assert query["state"] == ["xyz"]
    assert "code" not in query


def test_consent_form_token_is_single_use(demo_org: DemoOrgHandle) -> None:
    _, challenge = pkce_pair()
    params = {
        "response_type": "code", "client_id": DEMO_CONSUMER_KEY, "redirect_uri": TEST_CALLBACK_URL,
        "state": "s", "code_challenge": challenge,
    }
    page = requests.get(f"{demo_org.url}/services/oauth2/authorize", params=params, timeout=10)
    form_token = page.text.split('name="form_token" value="')[1].split('"')[0]
    decision = {"form_token": form_token, "decision": "allow"}

    first = requests.post(f"{demo_org.url}/services/oauth2/authorize", data=decision, allow_redirects=False, timeout=10)
    second = requests.post(f"{demo_org.url}/services/oauth2/authorize", data=decision, allow_redirects=False, timeout=10)

    assert first.status_code == 302
    assert second.status_code == 400
    assert "invalid_request" in second.text


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"client_id": "unknown-client"}, "invalid_client_id"),
        ({"redirect_uri": "http://127.0.0.1/not-registered"}, "redirect_uri_mismatch"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"scope": "api chatter_api"}, "invalid_scope"),
    ],
)
def test_authorize_errors_show_error_page(demo_org: DemoOrgHandle, overrides: dict[str, str], error: str) -> None:
    _, challenge = pkce_pair()
    params = {
        "response_type": "code", "client_id": DEMO_CONSUMER_KEY, "redirect_uri": TEST_CALLBACK_URL,
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256", **overrides,
    }

    page = requests.get(f"{demo_org.url}/services/oauth2/authorize", params=params, allow_redirects=False, timeout=10)

    assert page.status_code == 400
    assert "Location" not in page.headers
    assert f'<code id="error">{error}</code>' in page.text


def test_callback_urls_can_change_at_runtime(demo_org: DemoOrgHandle) -> None:
    _, challenge = pkce_pair()
    demo_org.set_callback_urls(["https://console.example/oauth/salesforce/callback"])

    code = demo_org.authorize_code("https://console.example/oauth/salesforce/callback", challenge, "s")

    assert code
    with pytest.raises(AssertionError, match="redirect_uri_mismatch"):
        demo_org.authorize_code(TEST_CALLBACK_URL, challenge, "s")


def test_code_exchange_returns_salesforce_token_fields(demo_org: DemoOrgHandle, approved_code: tuple[str, str]) -> None:
    code, verifier = approved_code

    response = exchange(demo_org, code, verifier)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert "expires_in" not in body
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == demo_org.url
    assert body["id"] == f"{demo_org.url}/id/{DEMO_ORG_ID}/0058d0000000001AAA"
    assert body["scope"] == "api refresh_token id"
    assert body["refresh_token"]
    assert body["issued_at"].isdigit()
    assert len(body["issued_at"]) == 13
    expected = hmac.new(DEMO_CONSUMER_SECRET.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256).digest()
    assert body["signature"] == base64.b64encode(expected).decode()


def test_client_secret_by_http_basic_is_accepted(demo_org: DemoOrgHandle, approved_code: tuple[str, str]) -> None:
    code, verifier = approved_code
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": TEST_CALLBACK_URL, "code_verifier": verifier}

    response = requests.post(
        f"{demo_org.url}/services/oauth2/token", data=data, auth=(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET), timeout=10
    )

    assert response.status_code == 200


def test_code_is_single_use(demo_org: DemoOrgHandle, approved_code: tuple[str, str]) -> None:
    code, verifier = approved_code
    assert exchange(demo_org, code, verifier).status_code == 200

    second = exchange(demo_org, code, verifier)

    assert second.status_code == 400
    assert second.json() == {"error": "invalid_grant", "error_description": "invalid authorization code"}


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        ({"client_id": "unknown-client"}, "invalid_client_id", "client identifier invalid"),
        ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
        ({"redirect_uri": "http://127.0.0.1:8501/oauth/salesforce/callback"}, "redirect_uri_mismatch",
         "redirect_uri must match configuration"),
        ({"code_verifier": "not-the-verifier-0000000000000000000000000000"}, "invalid_request", "invalid code verifier"),
        ({"code": "made-up-code"}, "invalid_grant", "invalid authorization code"),
        ({"grant_type": "password"}, "unsupported_grant_type", "grant type not supported"),
    ],
)
def test_code_exchange_errors(
    demo_org: DemoOrgHandle, approved_code: tuple[str, str], overrides: dict[str, str], error: str, description: str
) -> None:
    code, verifier = approved_code
    overrides = dict(overrides)
    code = overrides.pop("code", code)

    response = exchange(demo_org, code, verifier, **overrides)

    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_missing_verifier_fails_as_invalid_grant(demo_org: DemoOrgHandle, approved_code: tuple[str, str]) -> None:
    code, _ = approved_code

    response = exchange(demo_org, code, None)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


def test_code_expires_after_15_minutes(tmp_path) -> None:
    from datetime import UTC, datetime, timedelta

    from core.demo_org import create_demo_org_app
    from tests.servers import serve

    now = [datetime(2026, 3, 1, 9, 0, tzinfo=UTC)]
    app = create_demo_org_app(tmp_path / "org.db", callback_urls=[TEST_CALLBACK_URL], clock=lambda: now[0])
    with serve(app) as url:
        org = DemoOrgHandle(url, tmp_path / "org.db")
        verifier, challenge = pkce_pair()
        code = org.authorize_code(TEST_CALLBACK_URL, challenge, "s")
        now[0] += timedelta(minutes=15, seconds=1)

        response = exchange(org, code, verifier)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_refresh_issues_new_access_token_without_refresh_token(demo_org: DemoOrgHandle) -> None:
    tokens = demo_org.issue_tokens()

    response = refresh(demo_org, tokens["refresh_token"])

    assert response.status_code == 200
    body = response.json()
    assert body["access_token"] != tokens["access_token"]
    assert "refresh_token" not in body
    assert body["instance_url"] == demo_org.url
    usable = requests.get(f"{demo_org.url}/services/data/v66.0/limits",
                          headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10)
    assert usable.status_code == 200


def test_refresh_with_wrong_secret_is_invalid_client(demo_org: DemoOrgHandle) -> None:
    tokens = demo_org.issue_tokens()

    response = refresh(demo_org, tokens["refresh_token"], secret="wrong")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


def test_no_refresh_token_without_refresh_scope(demo_org: DemoOrgHandle) -> None:
    tokens = demo_org.issue_tokens(scope="api id")

    assert "refresh_token" not in tokens
    assert tokens["scope"] == "api id"


def test_revoking_refresh_token_kills_its_access_tokens(demo_org: DemoOrgHandle) -> None:
    tokens = demo_org.issue_tokens()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    revoked = requests.post(f"{demo_org.url}/services/oauth2/revoke", data={"token": tokens["refresh_token"]}, timeout=10)

    assert revoked.status_code == 200
    assert revoked.content == b""
    call = requests.get(f"{demo_org.url}/services/data/v66.0/limits", headers=headers, timeout=10)
    assert call.status_code == 401
    assert call.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    again = refresh(demo_org, tokens["refresh_token"])
    assert again.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}


def test_revoking_unknown_token_is_invalid_token(demo_org: DemoOrgHandle) -> None:
    response = requests.post(f"{demo_org.url}/services/oauth2/revoke", data={"token": secrets.token_urlsafe(16)}, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_token"


def test_userinfo_and_identity_describe_the_admin(demo_org: DemoOrgHandle) -> None:
    tokens = demo_org.issue_tokens()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    userinfo = requests.get(f"{demo_org.url}/services/oauth2/userinfo", headers=headers, timeout=10).json()
    identity = requests.get(tokens["id"], headers=headers, timeout=10).json()

    assert userinfo["preferred_username"] == DEMO_USERNAME
    assert userinfo["name"] == "Demo Admin"
    assert userinfo["organization_id"] == DEMO_ORG_ID
    assert userinfo["urls"]["rest"] == f"{demo_org.url}/services/data/v{{version}}/"
    assert identity["username"] == DEMO_USERNAME
    assert identity["display_name"] == "Demo Admin"
    assert identity["email"] == "admin@demo-org.example"
    assert identity["user_id"] == "0058d0000000001AAA"
    assert identity["urls"]["query"] == f"{demo_org.url}/services/data/v{{version}}/query/"


def test_identity_rejects_bad_token(demo_org: DemoOrgHandle) -> None:
    response = requests.get(
        f"{demo_org.url}/id/{DEMO_ORG_ID}/0058d0000000001AAA", headers={"Authorization": "Bearer nope"}, timeout=10
    )

    assert response.status_code == 403
    assert response.text == "Bad_OAuth_Token"


def test_forced_token_error(demo_org: DemoOrgHandle) -> None:
    tokens = demo_org.issue_tokens()
    demo_org.set_faults(token_error="invalid_grant")

    response = refresh(demo_org, tokens["refresh_token"])

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
