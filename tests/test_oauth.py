"""OAuth web-server flow: login URL checks, pending authorizations, the flow against the demo org, the callback route."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.auth.audit import REDACTED
from core.config import load_settings
from core.demo_org import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, DEMO_ORG_ID, DEMO_USERNAME
from core.i18n import load_catalog, translate
from core.runtime import Runtime, build_runtime
from core.salesforce.connection import open_client
from core.salesforce.errors import ApiDisabledError, OAuthError, ReconnectRequired
from core.salesforce.oauth import (
    LOGIN_PRODUCTION,
    ClientCredentials,
    LOGIN_SANDBOX,
    LoginUrlError,
    callback_error_code,
    callback_error_key,
    complete_authorization,
    disconnect,
    handle_callback_error,
    normalize_login_url,
    parse_issued_at,
    refresh_access_token,
    save_credentials,
    start_authorization,
)
from core.secrets import Secret, SecretBox
from core.store.db import session_scope
from core.store.models import AuditEvent, ConnectionStatus, OAuthState, SalesforceConnection, Team
from core.web.oauth_callback import oauth_routes
from tests.demo_org_fixtures import demo_org, demo_org_server  # noqa: F401

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CALLBACK = "http://127.0.0.1:8501/oauth/salesforce/callback"
CONSUMER_KEY = "3MVG9unit-test-consumer-key"
CONSUMER_SECRET = "unit-test-consumer-secret"


@pytest.fixture
def team_id(empty_store: Engine) -> int:
    with session_scope(empty_store) as session:
        team = Team(slug="sales", name="Sales", created_at=NOW)
        session.add(team)
        session.flush()
        return team.id


@pytest.fixture
def team_with_credentials(empty_store: Engine, box: SecretBox, team_id: int) -> int:
    save_credentials(empty_store, box, team_id, "https://acme.my.salesforce.com", CONSUMER_KEY, CONSUMER_SECRET)
    return team_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://login.salesforce.com", LOGIN_PRODUCTION),
        ("https://login.salesforce.com/", LOGIN_PRODUCTION),
        ("https://test.salesforce.com/services/oauth2/authorize", LOGIN_SANDBOX),
        ("  https://Acme.my.salesforce.com/lightning/page/home  ", "https://acme.my.salesforce.com"),
        ("acme.my.salesforce.com", "https://acme.my.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com/", "https://acme--uat.sandbox.my.salesforce.com"),
        ("https://acme-dev-ed.develop.my.salesforce.com", "https://acme-dev-ed.develop.my.salesforce.com"),
    ],
)
def test_normalize_login_url_accepts_salesforce_hosts(raw, expected):
    assert normalize_login_url(raw) == expected


def test_normalize_login_url_accepts_explicit_demo_org():
    demo = "http://localhost:8501/demo-org"

    assert normalize_login_url("http://localhost:8501/demo-org/", extra_allowed=[demo]) == demo


@pytest.mark.parametrize(
    ("raw", "key", "match"),
    [
        ("http://login.salesforce.com", "oauth.login_url.not_https", "does not use https"),
        ("http://localhost:8501/demo-org", "oauth.login_url.not_https", "does not use https"),
        ("https://evil.example.com", "oauth.login_url.unknown_host", "not a Salesforce login host"),
        ("https://acme.my.salesforce.com.evil.example", "oauth.login_url.unknown_host", "not a Salesforce login host"),
        ("https://login.salesforce.com:8443", "oauth.login_url.unknown_host", "not a Salesforce login host"),
        ("https://acme.lightning.force.com", "oauth.login_url.lightning", "https://acme.my.salesforce.com"),
        ("", "oauth.login_url.empty", "empty"),
    ],
)
def test_normalize_login_url_rejects_with_example(raw, key, match):
    with pytest.raises(LoginUrlError, match=match) as raised:
        normalize_login_url(raw)

    assert isinstance(raised.value, ValueError)
    assert raised.value.message_key == key
    assert "https://" in str(raised.value)
    assert translate(key, "ja", **raised.value.params) != key


def test_save_credentials_encrypts_secret(empty_store, box, team_with_credentials):
    with empty_store.connect() as db:
        row = db.execute(text("SELECT * FROM salesforceconnection")).mappings().one()

    assert row["consumer_key"] == CONSUMER_KEY
    assert CONSUMER_SECRET not in str(dict(row))
    assert box.decrypt(row["consumer_secret_enc"]).reveal() == CONSUMER_SECRET


def test_start_authorization_stores_state_and_pkce(empty_store, box, team_with_credentials):
    url = start_authorization(empty_store, box, team_with_credentials, CALLBACK, NOW)

    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://acme.my.salesforce.com/services/oauth2/authorize"
    assert query["response_type"] == "code"
    assert query["client_id"] == CONSUMER_KEY
    assert query["redirect_uri"] == CALLBACK
    assert query["scope"] == "api refresh_token"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43

    with session_scope(empty_store) as session:
        pending = session.get(OAuthState, query["state"])
    assert pending.team_id == team_with_credentials
    assert pending.redirect_uri == CALLBACK
    assert pending.expires_at == NOW + timedelta(minutes=10)
    assert "code_verifier" not in url
    assert len(box.decrypt(pending.code_verifier_enc).reveal()) == 64


def test_start_authorization_deletes_expired_states(empty_store, box, team_with_credentials):
    start_authorization(empty_store, box, team_with_credentials, CALLBACK, NOW)
    start_authorization(empty_store, box, team_with_credentials, CALLBACK, NOW + timedelta(minutes=11))

    with session_scope(empty_store) as session:
        states = session.exec(select(OAuthState)).all()
    assert len(states) == 1
    assert states[0].expires_at == NOW + timedelta(minutes=21)


def test_start_authorization_without_credentials(empty_store, box, team_id):
    with pytest.raises(OAuthError) as raised:
        start_authorization(empty_store, box, team_id, CALLBACK, NOW)

    assert raised.value.error_code == "credentials_missing"
    assert raised.value.next_step_key == "sf_next.credentials_missing"


def test_complete_authorization_rejects_unknown_state(empty_store, box, team_with_credentials):
    with pytest.raises(OAuthError) as raised:
        complete_authorization(empty_store, box, "made-up-state", "code", NOW)

    assert raised.value.error_code == "state_invalid"
    assert raised.value.next_step_key == "sf_next.state_invalid"


def test_complete_authorization_rejects_expired_state_and_deletes_it(empty_store, box, team_with_credentials):
    url = start_authorization(empty_store, box, team_with_credentials, CALLBACK, NOW)
    state = parse_qs(urlsplit(url).query)["state"][0]

    with pytest.raises(OAuthError) as raised:
        complete_authorization(empty_store, box, state, "code", NOW + timedelta(minutes=10))

    assert raised.value.error_code == "state_expired"
    with session_scope(empty_store) as session:
        assert session.get(OAuthState, state) is None


def test_open_client_without_connection(empty_store, box, team_with_credentials):
    with pytest.raises(ReconnectRequired, match="status: disconnected"):
        open_client(empty_store, box, team_with_credentials)


@pytest.mark.parametrize(
    ("error", "code"),
    [("access_denied", "access_denied"), ("access-denied", "access_denied"), ("<script>", "invalid_request")],
)
def test_handle_callback_error(error, code):
    exc = handle_callback_error(error, "end-user denied authorization")

    assert exc.error_code == code
    assert callback_error_code(exc) == code
    assert "end-user denied authorization" in exc.message


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("access_denied", "sf_next.access_denied"),
        ("api_disabled_for_org", "sf_next.API_DISABLED_FOR_ORG"),
        ("transport_error", "sf_next.family.TransportError"),
        ("something_new", "sf_next.family.OAuthError"),
    ],
)
def test_callback_error_key(code, key):
    assert callback_error_key(code) == key
    assert key in load_catalog()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1767225600000", datetime(2026, 1, 1, tzinfo=UTC)),
        ("1767225600", datetime(2026, 1, 1, tzinfo=UTC)),
        (None, None),
    ],
)
def test_parse_issued_at_accepts_milliseconds_and_seconds(raw, expected):
    assert parse_issued_at(raw) == expected


def test_save_credentials_with_new_key_drops_tokens(empty_store, box, team_with_credentials):
    with session_scope(empty_store) as session:
        row = session.exec(select(SalesforceConnection)).one()
        row.access_token_enc = box.encrypt("access")
        row.refresh_token_enc = box.encrypt("refresh")
        row.status = ConnectionStatus.CONNECTED
        session.add(row)

    save_credentials(empty_store, box, team_with_credentials, "https://acme.my.salesforce.com", "3MVG9other", "s")

    with session_scope(empty_store) as session:
        row = session.exec(select(SalesforceConnection)).one()
    assert row.access_token_enc is None
    assert row.refresh_token_enc is None
    assert row.status == ConnectionStatus.DISCONNECTED


# The flow against the demo org served on a loopback port.

DEMO_CALLBACK = "http://127.0.0.1:8501/oauth/salesforce/callback"


def _authorize(engine, box, team_id, demo_org, redirect_uri=DEMO_CALLBACK, registered_uri=None) -> tuple[str, str]:
    """Start an authorization, press Allow on the demo org's page, and return (state, code)."""
    url = start_authorization(engine, box, team_id, redirect_uri, NOW)
    query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    code = demo_org.authorize_code(registered_uri or redirect_uri, query["code_challenge"], query["state"])
    return query["state"], code


def _stored(engine) -> SalesforceConnection:
    with session_scope(engine) as session:
        return session.exec(select(SalesforceConnection)).one()


@pytest.fixture
def demo_team(empty_store, box, team_id, demo_org) -> int:
    """A team with the demo org's credentials saved but not yet connected."""
    save_credentials(empty_store, box, team_id, demo_org.url, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET)
    return team_id


@pytest.fixture
def connected_team(empty_store, box, demo_team, demo_org) -> int:
    """A team connected to the demo org through the whole web-server flow."""
    state, code = _authorize(empty_store, box, demo_team, demo_org)
    complete_authorization(empty_store, box, state, code, NOW)
    return demo_team


def test_flow_stores_identity_and_usage(empty_store, box, demo_team, demo_org):
    state, code = _authorize(empty_store, box, demo_team, demo_org)

    returned = complete_authorization(empty_store, box, state, code, NOW)

    stored = _stored(empty_store)
    assert returned.id == stored.id
    assert stored.status == ConnectionStatus.CONNECTED
    assert stored.instance_url == demo_org.url
    assert stored.org_id == DEMO_ORG_ID
    assert stored.username == DEMO_USERNAME
    assert stored.user_id.startswith("005")
    assert stored.api_version == "66.0"
    assert stored.connected_at == NOW
    assert stored.api_usage_max == 15000
    assert stored.api_usage_used is not None
    assert stored.api_usage_at == NOW
    assert stored.last_error_code is None


def test_flow_stores_tokens_encrypted(empty_store, box, connected_team, tmp_path):
    stored = _stored(empty_store)
    access = box.decrypt(stored.access_token_enc).reveal()
    refresh = box.decrypt(stored.refresh_token_enc).reveal()

    with empty_store.connect() as db:
        row = str(dict(db.execute(text("SELECT * FROM salesforceconnection")).mappings().one()))
    database_bytes = b"".join(path.read_bytes() for path in tmp_path.glob("app.db*"))

    assert access and refresh
    assert access not in row
    assert refresh not in row
    assert access.encode() not in database_bytes
    assert refresh.encode() not in database_bytes


def test_state_works_only_once(empty_store, box, demo_team, demo_org):
    state, code = _authorize(empty_store, box, demo_team, demo_org)
    complete_authorization(empty_store, box, state, code, NOW)

    with pytest.raises(OAuthError) as raised:
        complete_authorization(empty_store, box, state, code, NOW)

    assert raised.value.error_code == "state_invalid"


def test_client_refreshes_after_forced_expiry(empty_store, box, connected_team, demo_org):
    client = open_client(empty_store, box, connected_team)
    client.limits()
    token_before = box.decrypt(_stored(empty_store).access_token_enc).reveal()

    demo_org.set_faults(expire_tokens=True)
    limits = client.limits()

    stored = _stored(empty_store)
    assert limits["DailyApiRequests"]["Max"] == 15000
    assert box.decrypt(stored.access_token_enc).reveal() != token_before
    assert stored.status == ConnectionStatus.CONNECTED
    assert stored.api_usage_used == 15000 - limits["DailyApiRequests"]["Remaining"]


def test_revoked_refresh_token_marks_needs_reconnect(empty_store, box, connected_team, demo_org):
    client = open_client(empty_store, box, connected_team)
    refresh = box.decrypt(_stored(empty_store).refresh_token_enc).reveal()
    # Revoking the refresh token also ends the access tokens issued from it.
    demo_org.http.post(f"{demo_org.url}/services/oauth2/revoke", data={"token": refresh}, timeout=10).raise_for_status()

    with pytest.raises(ReconnectRequired) as raised:
        client.limits()

    stored = _stored(empty_store)
    assert raised.value.error_code == "invalid_grant"
    assert raised.value.next_step_key == "sf_next.invalid_grant"
    assert stored.status == ConnectionStatus.NEEDS_RECONNECT
    assert stored.last_error_code == "invalid_grant"
    with pytest.raises(ReconnectRequired, match="status: needs_reconnect"):
        open_client(empty_store, box, connected_team)


def test_disconnect_revokes_refresh_token(empty_store, box, connected_team, demo_org):
    refresh = box.decrypt(_stored(empty_store).refresh_token_enc)

    disconnect(empty_store, box, connected_team)

    stored = _stored(empty_store)
    assert stored.access_token_enc is None
    assert stored.refresh_token_enc is None
    assert stored.status == ConnectionStatus.DISCONNECTED
    with pytest.raises(OAuthError) as raised:
        refresh_access_token(demo_org.url, DEMO_CONSUMER_KEY, Secret(DEMO_CONSUMER_SECRET), refresh)
    assert raised.value.error_code == "invalid_grant"


def test_wrong_consumer_secret_is_invalid_client(empty_store, box, team_id, demo_org):
    save_credentials(empty_store, box, team_id, demo_org.url, DEMO_CONSUMER_KEY, "not-the-secret")
    state, code = _authorize(empty_store, box, team_id, demo_org)

    with pytest.raises(OAuthError) as raised:
        complete_authorization(empty_store, box, state, code, NOW)

    assert raised.value.error_code == "invalid_client"
    assert raised.value.status == 400
    assert raised.value.next_step_key == "sf_next.invalid_client"
    next_step = translate(raised.value.next_step_key, "en", **raised.value.next_step_params)
    assert "Consumer Secret" in next_step
    assert "External Client App Manager" in next_step
    assert _stored(empty_store).status == ConnectionStatus.DISCONNECTED
    assert _stored(empty_store).last_error_code is None


def test_unregistered_callback_is_redirect_uri_mismatch(empty_store, box, demo_team, demo_org):
    other = "http://localhost:8501/oauth/salesforce/callback"
    state, code = _authorize(empty_store, box, demo_team, demo_org, registered_uri=other)

    with pytest.raises(OAuthError) as raised:
        complete_authorization(empty_store, box, state, code, NOW)

    assert raised.value.error_code == "redirect_uri_mismatch"
    next_step = translate(raised.value.next_step_key, "ja", **raised.value.next_step_params)
    assert DEMO_CALLBACK in next_step


def test_api_disabled_org_gets_edition_next_step(empty_store, box, demo_team, demo_org):
    state, code = _authorize(empty_store, box, demo_team, demo_org)
    demo_org.set_faults(error_code="API_DISABLED_FOR_ORG")

    with pytest.raises(ApiDisabledError) as raised:
        complete_authorization(empty_store, box, state, code, NOW)

    assert raised.value.error_code == "API_DISABLED_FOR_ORG"
    assert raised.value.next_step_key == "sf_next.API_DISABLED_FOR_ORG"
    assert "Professional Edition" in translate(raised.value.next_step_key, "en")
    stored = _stored(empty_store)
    assert stored.status == ConnectionStatus.DISCONNECTED
    assert stored.access_token_enc is None
    assert stored.last_error_code is None


def test_debug_logs_never_contain_tokens(empty_store, box, demo_team, demo_org, caplog):
    caplog.set_level(logging.DEBUG)

    state, code = _authorize(empty_store, box, demo_team, demo_org)
    complete_authorization(empty_store, box, state, code, NOW)
    first = _stored(empty_store)
    client = open_client(empty_store, box, demo_team)
    demo_org.set_faults(expire_tokens=True)
    client.limits()
    second = _stored(empty_store)
    disconnect(empty_store, box, demo_team)

    tokens = {
        box.decrypt(first.access_token_enc).reveal(),
        box.decrypt(first.refresh_token_enc).reveal(),
        box.decrypt(second.access_token_enc).reveal(),
    }
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert len(tokens) == 3
    assert "Salesforce POST /services/oauth2/token -> 200" in caplog.text
    for token in tokens:
        assert token not in logged
    assert code not in logged
    assert DEMO_CONSUMER_SECRET not in logged


def test_reconnect_revokes_replaced_refresh_token(empty_store, box, connected_team, demo_org):
    replaced = box.decrypt(_stored(empty_store).refresh_token_enc)

    state, code = _authorize(empty_store, box, connected_team, demo_org)
    complete_authorization(empty_store, box, state, code, NOW)

    assert box.decrypt(_stored(empty_store).refresh_token_enc).reveal() != replaced.reveal()
    with pytest.raises(OAuthError) as raised:
        refresh_access_token(demo_org.url, DEMO_CONSUMER_KEY, Secret(DEMO_CONSUMER_SECRET), replaced)
    assert raised.value.error_code == "invalid_grant"
    assert open_client(empty_store, box, connected_team).limits()["DailyApiRequests"]["Max"] == 15000


def _authorize_with(engine, box, team_id, demo_org, credentials: ClientCredentials) -> tuple[str, str]:
    """Start an authorization with new credentials, press Allow on the demo org's page, and return (state, code)."""
    url = start_authorization(engine, box, team_id, DEMO_CALLBACK, NOW, credentials=credentials)
    query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    code = demo_org.authorize_code(DEMO_CALLBACK, query["code_challenge"], query["state"])
    return query["state"], code


def _columns(engine) -> dict[str, object]:
    with engine.connect() as db:
        return dict(db.execute(text("SELECT * FROM salesforceconnection")).mappings().one())


def test_new_credentials_wait_for_authorization(empty_store, box, connected_team, demo_org):
    before = _columns(empty_store)

    start_authorization(
        empty_store,
        box,
        connected_team,
        DEMO_CALLBACK,
        NOW,
        credentials=ClientCredentials(demo_org.url, "3MVG9new-key", Secret("new-secret")),
    )

    assert _columns(empty_store) == before
    with session_scope(empty_store) as session:
        pending = session.exec(select(OAuthState)).one()
    assert pending.consumer_key == "3MVG9new-key"
    assert box.decrypt(pending.consumer_secret_enc).reveal() == "new-secret"
    assert "new-secret" not in pending.consumer_secret_enc


def test_wrong_secret_on_reconnect_keeps_connection(empty_store, box, connected_team, demo_org):
    before = _columns(empty_store)
    wrong = ClientCredentials(demo_org.url, DEMO_CONSUMER_KEY, Secret("not-the-secret"))
    state, code = _authorize_with(empty_store, box, connected_team, demo_org, wrong)

    with pytest.raises(OAuthError) as raised:
        complete_authorization(empty_store, box, state, code, NOW)

    assert raised.value.error_code == "invalid_client"
    assert _columns(empty_store) == before
    # The next token refresh still uses the working secret.
    demo_org.set_faults(expire_tokens=True)
    assert open_client(empty_store, box, connected_team).limits()["DailyApiRequests"]["Max"] == 15000
    assert _stored(empty_store).status == ConnectionStatus.CONNECTED


def test_failed_first_connect_saves_nothing(empty_store, box, team_id, demo_org):
    wrong = ClientCredentials(demo_org.url, DEMO_CONSUMER_KEY, Secret("not-the-secret"))
    state, code = _authorize_with(empty_store, box, team_id, demo_org, wrong)

    with pytest.raises(OAuthError, match="invalid_client"):
        complete_authorization(empty_store, box, state, code, NOW)

    with session_scope(empty_store) as session:
        assert session.exec(select(SalesforceConnection)).first() is None


def test_first_connect_saves_credentials(empty_store, box, team_id, demo_org):
    right = ClientCredentials(demo_org.url, DEMO_CONSUMER_KEY, Secret(DEMO_CONSUMER_SECRET))
    state, code = _authorize_with(empty_store, box, team_id, demo_org, right)

    complete_authorization(empty_store, box, state, code, NOW)

    stored = _stored(empty_store)
    assert stored.status == ConnectionStatus.CONNECTED
    assert stored.login_url == demo_org.url
    assert stored.consumer_key == DEMO_CONSUMER_KEY
    assert box.decrypt(stored.consumer_secret_enc).reveal() == DEMO_CONSUMER_SECRET
    with session_scope(empty_store) as session:
        [audit] = session.exec(select(AuditEvent).where(AuditEvent.action == "salesforce.credentials_saved")).all()
    assert audit.after["login_url"] == demo_org.url
    assert audit.after["consumer_key"] == DEMO_CONSUMER_KEY
    assert audit.after["consumer_secret"] == REDACTED


def test_blank_secret_reuses_saved_secret(empty_store, box, connected_team, demo_org):
    state, code = _authorize_with(
        empty_store, box, connected_team, demo_org, ClientCredentials(demo_org.url, f"  {DEMO_CONSUMER_KEY} ")
    )

    complete_authorization(empty_store, box, state, code, NOW)

    stored = _stored(empty_store)
    assert stored.consumer_key == DEMO_CONSUMER_KEY
    assert box.decrypt(stored.consumer_secret_enc).reveal() == DEMO_CONSUMER_SECRET
    with session_scope(empty_store) as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "salesforce.credentials_saved")).all() == []


def test_blank_secret_without_saved_secret_is_rejected(empty_store, box, team_id):
    with pytest.raises(ValueError, match="enter the Consumer Secret"):
        start_authorization(
            empty_store, box, team_id, CALLBACK, NOW, credentials=ClientCredentials(LOGIN_PRODUCTION, "3MVG9key")
        )


def test_pending_row_without_credentials_uses_saved_ones(empty_store, box, connected_team, demo_org):
    state, code = _authorize(empty_store, box, connected_team, demo_org)
    # A pending authorization stored before its table had credential columns.
    with session_scope(empty_store) as session:
        pending = session.get(OAuthState, state)
        pending.consumer_key = None
        pending.consumer_secret_enc = None
        session.add(pending)

    complete_authorization(empty_store, box, state, code, NOW)

    assert _stored(empty_store).status == ConnectionStatus.CONNECTED


# GET /oauth/salesforce/callback with a Runtime built like the app's.


@pytest.fixture
def console(tmp_path, demo_org) -> tuple[Runtime, TestClient, int]:
    """A runtime with one team holding the demo org's credentials, and a client for the callback route."""
    settings = load_settings(
        {"APP_DATA_DIR": str(tmp_path / "console"), "APP_PUBLIC_URL": "http://127.0.0.1:8501", "APP_DEMO": "0"}
    )
    runtime = build_runtime(settings)
    with session_scope(runtime.engine) as session:
        team = Team(slug="sales", name="Sales", created_at=NOW)
        session.add(team)
        session.flush()
        team_id = team.id
    save_credentials(runtime.engine, runtime.box, team_id, demo_org.url, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET)
    demo_org.set_callback_urls([settings.callback_url])

    with TestClient(Starlette(routes=oauth_routes(runtime, clock=lambda: NOW))) as http:
        yield runtime, http, team_id
    runtime.engine.dispose()


def _callback(http: TestClient, **query: str):
    return http.get("/oauth/salesforce/callback", params=query, follow_redirects=False)


def test_callback_connects_and_redirects(console, demo_org):
    runtime, http, team_id = console
    state, code = _authorize(runtime.engine, runtime.box, team_id, demo_org, redirect_uri=runtime.settings.callback_url)

    response = _callback(http, code=code, state=state)

    assert response.status_code == 303
    assert response.headers["location"] == "/connection?oauth=ok"
    stored = _stored(runtime.engine)
    assert stored.status == ConnectionStatus.CONNECTED
    assert stored.org_id == DEMO_ORG_ID


def test_callback_reports_denied_authorization(console, demo_org):
    runtime, http, team_id = console
    url = start_authorization(runtime.engine, runtime.box, team_id, runtime.settings.callback_url, NOW)
    query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    denied = demo_org.authorize(runtime.settings.callback_url, query["code_challenge"], query["state"], decision="deny")
    denied_query = {name: values[0] for name, values in parse_qs(urlsplit(denied).query).items()}

    response = _callback(http, **denied_query)

    assert denied_query["error"] == "access_denied"
    assert response.status_code == 303
    assert response.headers["location"] == "/connection?oauth_error=access_denied"
    with session_scope(runtime.engine) as session:
        assert session.get(OAuthState, query["state"]) is None


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ({"error": "access_denied", "error_description": "token=abc secret"}, "/connection?oauth_error=access_denied"),
        ({"error": "<script>alert(1)</script>"}, "/connection?oauth_error=invalid_request"),
        ({"code": "aPrxCode", "state": "made-up"}, "/connection?oauth_error=state_invalid"),
        ({"state": "made-up"}, "/connection?oauth_error=invalid_request"),
        ({}, "/connection?oauth_error=invalid_request"),
    ],
)
def test_callback_redirects_with_short_error_code(console, query, location):
    _, http, _ = console

    response = _callback(http, **query)

    assert response.status_code == 303
    assert response.headers["location"] == location


def test_callback_hides_code_on_wrong_secret(console, demo_org):
    runtime, http, team_id = console
    save_credentials(runtime.engine, runtime.box, team_id, demo_org.url, DEMO_CONSUMER_KEY, "not-the-secret")
    state, code = _authorize(runtime.engine, runtime.box, team_id, demo_org, redirect_uri=runtime.settings.callback_url)

    response = _callback(http, code=code, state=state)

    assert response.headers["location"] == "/connection?oauth_error=invalid_client"
    assert code not in response.headers["location"]
    assert state not in response.headers["location"]
    assert _stored(runtime.engine).status == ConnectionStatus.DISCONNECTED

