"""The Connection page: credentials, the OAuth hand-off and the connected view."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

from urllib.parse import urlsplit

import pytest
import requests
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.demo_org import (
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_ORG_ID,
    DEMO_USERNAME,
)
from core.runtime import Runtime
from core.salesforce import oauth
from core.salesforce.connection import refresh_connection
from core.store.db import session_scope
from core.store.models import ConnectionStatus, OAuthState, Role, SalesforceConnection
from core.teams import create_team, list_teams
from core.web.auth_routes import SESSION_COOKIE
from core.web.oauth_callback import CONNECTION_PAGE
from tests.page_support import (
    DASHBOARD,
    NOW,
    SESSION_TOKEN_KEY,
    TEST_USER_EMAIL,
    allow_in_demo_org,
    connect_to_demo_org,
    ensure_member,
    open_page,
    page_runtime,
    serve_demo_console,
    session_token_for,
    texts,
)

PAGE = "pages/connection.py"
CALLBACK = "http://127.0.0.1:8599/oauth/salesforce/callback"


@pytest.fixture
def team_runtime(tmp_path: Path) -> Runtime:
    with page_runtime(tmp_path, APP_PUBLIC_URL="http://127.0.0.1:8599", APP_DEMO="1") as runtime:
        create_team(runtime.engine, "Sales Tokyo", "sales-tokyo", NOW)
        yield runtime


def stored_connection(runtime: Runtime) -> SalesforceConnection | None:
    with session_scope(runtime.engine) as session:
        return session.exec(select(SalesforceConnection)).first()


def test_first_run_asks_for_a_team(tmp_path):
    with page_runtime(tmp_path, APP_DEMO="0") as runtime:
        app = open_page(None)
        app.text_input[0].input("Sales Tokyo")
        app.text_input[1].input("sales-tokyo")
        app.button[0].click().run()

        assert not app.exception
        assert "Callback URL to register" in texts(app)
        assert [team.slug for team in list_teams(runtime.engine)] == ["sales-tokyo"]


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "How to create the External Client App"), ("ja", "外部クライアントアプリケーションの作成手順")],
)
def test_setup_shows_callback_url(team_runtime, language, heading):
    app = open_page(PAGE, language)

    assert not app.exception
    assert CALLBACK in [code.value for code in app.code]
    assert app.expander[0].label == heading
    assert f"`{CALLBACK}`" in app.expander[0].markdown[0].value


def test_demo_org_option_only_in_demo_mode(tmp_path):
    with page_runtime(tmp_path, APP_DEMO="0") as runtime:
        create_team(runtime.engine, "Sales", "sales", NOW)
        app = open_page(PAGE)

    assert app.radio(key="environment").options == [
        "Production or Developer Edition (https://login.salesforce.com)",
        "Sandbox (https://test.salesforce.com)",
        "My Domain URL",
    ]


def pending_authorization(runtime: Runtime) -> OAuthState:
    with session_scope(runtime.engine) as session:
        return session.exec(select(OAuthState)).one()


def test_connect_keeps_credentials_pending(team_runtime):
    app = open_page(PAGE)
    app.radio(key="environment").set_value("production")
    app.text_input(key="consumer_key").input("3MVGkey")
    app.text_input(key="consumer_secret").input("consumer-secret-1")
    app.button(key="connect").click().run()

    assert not app.exception
    links = [block.value for block in app.markdown if "target=\"_self\"" in block.value]
    assert len(links) == 1
    assert 'href="https://login.salesforce.com/services/oauth2/authorize?' in links[0]
    assert "code_challenge_method=S256" in links[0]
    # Nothing is saved on the connection until Salesforce accepts the credentials.
    assert stored_connection(team_runtime) is None
    pending = pending_authorization(team_runtime)
    assert pending.redirect_uri == CALLBACK
    assert pending.login_url == "https://login.salesforce.com"
    assert pending.consumer_key == "3MVGkey"
    assert team_runtime.box.decrypt(pending.consumer_secret_enc).reveal() == "consumer-secret-1"


def test_empty_secret_uses_saved_one(team_runtime):
    team_id = list_teams(team_runtime.engine)[0].id
    oauth.save_credentials(
        team_runtime.engine, team_runtime.box, team_id, "https://test.salesforce.com", "3MVGkey", "consumer-secret-1"
    )
    app = open_page(PAGE)
    app.text_input(key="consumer_key").input("3MVGotherkey")
    app.text_input(key="consumer_secret").input("")
    app.button(key="connect").click().run()

    assert not app.exception
    assert not app.error
    assert "A Consumer Secret is stored" in texts(app)
    pending = pending_authorization(team_runtime)
    assert pending.login_url == "https://test.salesforce.com"
    assert pending.consumer_key == "3MVGotherkey"
    assert team_runtime.box.decrypt(pending.consumer_secret_enc).reveal() == "consumer-secret-1"
    assert stored_connection(team_runtime).consumer_key == "3MVGkey"


def test_missing_secret_is_reported(team_runtime):
    app = open_page(PAGE, "ja")
    app.text_input(key="consumer_key").input("3MVGkey")
    app.button(key="connect").click().run()

    expected = "外部クライアントアプリケーションのコンシューマーの秘密を入力してください。"
    assert [error.value for error in app.error] == [expected]
    assert stored_connection(team_runtime) is None


def test_invalid_my_domain_is_explained(team_runtime):
    app = open_page(PAGE)
    app.radio(key="environment").set_value("my_domain").run()
    app.text_input[0].input("https://acme.lightning.force.com")
    app.text_input(key="consumer_key").input("3MVGkey")
    app.text_input(key="consumer_secret").input("consumer-secret-1")
    app.button(key="connect").click().run()

    assert not app.exception
    assert "https://acme.my.salesforce.com" in app.error[0].value
    assert stored_connection(team_runtime) is None


@pytest.mark.parametrize("language", ["en", "ja"])
def test_oauth_error_shows_next_step_with_callback(team_runtime, language):
    app = open_page(None, language)
    app.switch_page(PAGE)
    app.query_params["oauth_error"] = "redirect_uri_mismatch"
    app.run()

    assert not app.exception
    assert "redirect_uri_mismatch" in app.error[0].value
    assert any(CALLBACK in info.value for info in app.info)


@pytest.fixture
def demo_console(tmp_path: Path) -> Iterator[tuple[Runtime, str]]:
    with serve_demo_console(tmp_path) as (runtime, public_url):
        create_team(runtime.engine, "Demo Sales", "demo", NOW)
        yield runtime, public_url


def link_target(app) -> str:
    [anchor] = [block.value for block in app.markdown if 'target="_self"' in block.value and "authorize" in block.value]
    return html.unescape(anchor.split('href="', 1)[1].split('"', 1)[0])


@pytest.mark.parametrize("language", ["en", "ja"])
def test_demo_org_connects_through_page(demo_console, language):
    runtime, public_url = demo_console
    app = open_page(PAGE, language)
    app.radio(key="environment").set_value("demo")
    app.text_input(key="consumer_key").input(DEMO_CONSUMER_KEY)
    app.text_input(key="consumer_secret").input(DEMO_CONSUMER_SECRET)
    app.button(key="connect").click().run()

    with requests.Session() as http:
        # The callback completes only in the browser of the user who pressed Connect.
        http.cookies.set(SESSION_COOKIE, app.session_state[SESSION_TOKEN_KEY])
        callback = allow_in_demo_org(http, link_target(app))
        redirect = http.get(callback, allow_redirects=False, timeout=30)
    assert redirect.headers["location"] == "/connection?oauth=ok"

    app.query_params["oauth"] = "ok"
    app.run()

    assert not app.exception
    assert DEMO_ORG_ID in app.success[0].value
    assert DEMO_USERNAME in app.success[0].value
    assert f"`{DEMO_ORG_ID}`" in texts(app)
    expected_status = "Status: connected" if language == "en" else "状態: 接続済み"
    assert expected_status in texts(app)
    assert app.get("progress")


def test_disconnect_asks_then_revokes(demo_console):
    runtime, _ = demo_console
    team_id = list_teams(runtime.engine)[0].id
    connect_to_demo_org(runtime, team_id)
    app = open_page(PAGE)
    app.button(key="disconnect").click().run()
    assert stored_connection(runtime).status == ConnectionStatus.CONNECTED

    app.button(key="disconnect_yes").click().run()

    assert not app.exception
    assert app.success[0].value == "Disconnected from Salesforce."
    connection = stored_connection(runtime)
    assert connection.refresh_token_enc is None
    assert connection.status == ConnectionStatus.DISCONNECTED


def test_usage_check_reads_org_limits(demo_console):
    runtime, _ = demo_console
    team_id = list_teams(runtime.engine)[0].id
    connect_to_demo_org(runtime, team_id)
    app = open_page(PAGE, "ja")
    app.button(key="check_usage").click().run()

    assert not app.exception
    assert not app.error
    connection = stored_connection(runtime)
    assert connection.api_usage_max == 15000
    assert "1 日の上限 15,000 件中" in app.get("progress")[0].proto.text


def test_oauth_error_text_is_not_rendered(team_runtime):
    app = open_page(None)
    app.switch_page(PAGE)
    app.query_params["oauth_error"] = "[Open](https://attacker.example)"
    app.run()

    assert not app.exception
    assert "attacker.example" not in texts(app)
    assert "invalid_request" in app.error[0].value


def test_wrong_secret_on_reconnect_keeps_connection(demo_console):
    runtime, _ = demo_console
    team_id = list_teams(runtime.engine)[0].id
    connect_to_demo_org(runtime, team_id)
    good_secret = stored_connection(runtime).consumer_secret_enc
    app = open_page(PAGE)
    app.radio(key="environment").set_value("demo")
    app.text_input(key="consumer_key").input(DEMO_CONSUMER_KEY)
    app.text_input(key="consumer_secret").input("not-the-secret")
    app.button(key="connect").click().run()

    with requests.Session() as http:
        http.cookies.set(SESSION_COOKIE, app.session_state[SESSION_TOKEN_KEY])
        callback = allow_in_demo_org(http, link_target(app))
        redirect = http.get(callback, allow_redirects=False, timeout=30)
    assert redirect.headers["location"] == "/connection?oauth_error=invalid_client"

    connection = stored_connection(runtime)
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.consumer_secret_enc == good_secret
    # The refresh token still works with the saved secret.
    refreshed = refresh_connection(runtime.engine, runtime.box, team_id)
    assert refreshed.reveal()

    app.query_params["oauth_error"] = "invalid_client"
    app.run()

    assert not app.exception
    assert "invalid_client" in app.error[0].value
    assert "Status: connected" in texts(app)
    assert "Nothing was changed: the team stays connected to org" in texts(app)


def test_failed_refresh_shows_new_status_at_once(demo_console):
    runtime, _ = demo_console
    team_id = list_teams(runtime.engine)[0].id
    connect_to_demo_org(runtime, team_id)
    app = open_page(PAGE)
    assert "Status: connected" in texts(app)
    refresh = runtime.box.decrypt(stored_connection(runtime).refresh_token_enc).reveal()
    # Revoking the refresh token also ends the access tokens issued from it.
    requests.post(
        f"{runtime.settings.demo_org_url}/services/oauth2/revoke", data={"token": refresh}, timeout=10
    ).raise_for_status()

    app.button(key="check_usage").click().run()

    assert not app.exception
    assert stored_connection(runtime).status == ConnectionStatus.NEEDS_RECONNECT
    assert "Status: connected" not in texts(app)
    assert "Status: reconnect required (invalid_grant)" in app.warning[0].value
    assert any("invalid_grant" in error.value for error in app.error)


def registered_paths(app) -> dict[str, str]:
    """Return the script of each URL path the navigation registered (AppTest's record of st.navigation)."""
    return {
        str(info.get("url_pathname")): Path(str(info.get("script_path") or "")).name
        for info in app._registered_pages.values()
    }


def test_callback_redirect_lands_on_a_page_path(team_runtime):
    app = open_page(None)

    # Streamlit serves the default page at "/" only, so the redirect's path must belong to another page.
    path = urlsplit(CONNECTION_PAGE).path.strip("/")
    assert registered_paths(app)[path] == "connection.py"
    assert registered_paths(app)[""] != "connection.py"


def test_root_url_forwards_to_connection(team_runtime):
    app = AppTest.from_file(DASHBOARD, default_timeout=30)
    user_id = ensure_member(team_runtime.engine, TEST_USER_EMAIL, Role.OWNER)
    app.session_state[SESSION_TOKEN_KEY] = session_token_for(team_runtime.engine, user_id)
    app.query_params["oauth_error"] = "access_denied"
    app.run()

    assert not app.exception
    assert app.title[0].value == "Salesforce connection"
    assert "access_denied" in app.error[0].value


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.MANAGER])
def test_managers_and_above_may_change_connection(demo_console, role):
    runtime, _ = demo_console
    connect_to_demo_org(runtime, list_teams(runtime.engine)[0].id)

    app = open_page(PAGE, email=f"{role.value}@example.com", role=role)

    assert not app.exception
    assert app.button(key="connect").disabled is False
    assert app.button(key="disconnect").disabled is False
    assert app.text_input(key="consumer_secret").disabled is False
    assert "You can view this page" not in texts(app)


def test_member_sees_why_controls_are_off(demo_console):
    runtime, _ = demo_console
    connect_to_demo_org(runtime, list_teams(runtime.engine)[0].id)

    app = open_page(PAGE, "ja", email="member@example.com", role=Role.MEMBER)

    assert not app.exception
    reason = "現在のロール（メンバー）ではこの変更はできません。マネージャー以上のロールが必要です。"
    for key in ("connect", "disconnect"):
        assert app.button(key=key).disabled is True
        assert app.button(key=key).help == reason
    assert app.text_input(key="consumer_secret").disabled is True
    assert reason in [caption.value for caption in app.caption]
    assert "このページは閲覧のみできます" in texts(app)
