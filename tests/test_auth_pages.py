"""Sign-in, set-up, team switch, members and audit screens, and read-only screens, through the dashboard."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from core.auth.accounts import seed_demo_users
from core.auth.sessions import redeem_ticket
from core.auth.users import create_user
from core.runtime import Runtime
from core.store.db import session_scope
from core.store.models import AuditEvent, BookingPage, Membership, Plan, Role, Team, User
from core.teams import create_team
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.errors import AppTestError

from tests.page_support import (
    DASHBOARD,
    NOW,
    SESSION_TOKEN_KEY,
    ensure_member,
    open_page,
    page_runtime,
    session_token_for,
    texts,
)

PASSWORD = "correct horse battery staple"
TEAM_PAGES = [
    "pages/connection.py",
    "pages/booking_pages.py",
    "pages/sync_log.py",
    "pages/members.py",
    "pages/audit.py",
    "pages/account_engagement.py",
    "pages/routing_log.py",
]


@pytest.fixture
def demo_runtime(tmp_path: Path) -> Runtime:
    """Demo mode with team Demo Sales (Team plan), its Intro call page and the four demo users."""
    with page_runtime(tmp_path, APP_DEMO="1") as runtime:
        team = create_team(runtime.engine, "Demo Sales", "demo", NOW)
        with session_scope(runtime.engine) as session:
            stored = session.get(Team, team.id)
            stored.plan = Plan.TEAM
            session.add(stored)
            session.add(BookingPage(team_id=team.id, name="Intro call", event_type_uid="ETDEMOINTRO", updated_at=NOW))
            session.add(
                BookingPage(team_id=team.id, name="Product demo", event_type_uid="ETDEMOPRODUCT", updated_at=NOW)
            )
        seed_demo_users(runtime.engine, team.id, NOW)
        yield runtime


@pytest.fixture
def password_user(tmp_path: Path) -> Runtime:
    """Outside demo mode: team Sales Tokyo whose owner hanako@example.com has PASSWORD."""
    with page_runtime(tmp_path, APP_DEMO="0") as runtime:
        team = create_team(runtime.engine, "Sales Tokyo", "sales-tokyo", NOW)
        user = create_user(runtime.engine, "hanako@example.com", "Hanako Sato", PASSWORD, NOW)
        with session_scope(runtime.engine) as session:
            session.add(Membership(team_id=team.id, user_id=user.id, role=Role.OWNER, created_at=NOW))
        yield runtime


def session_link(app) -> str:
    """Return the /auth/session URL the page sends the browser to."""
    [anchor] = [block.value for block in app.markdown if "/auth/session?" in block.value]
    return html.unescape(re.search(r'href="([^"]+)"', anchor)[1])


def open_with_token(token: str, page: str | None = None, language: str = "en") -> AppTest:
    """Run the dashboard as the browser holding session token, like a reload after the cookie was set."""
    app = AppTest.from_file(DASHBOARD, default_timeout=30)
    app.session_state["language"] = language
    app.session_state[SESSION_TOKEN_KEY] = token
    app.run()
    if page is not None:
        app.switch_page(page).run()
    return app


def follow_session_link(app, runtime: Runtime, language: str = "en") -> AppTest:
    """Redeem the ticket of the session link as GET /auth/session does, and open the dashboard with the session."""
    ticket = parse_qs(urlsplit(session_link(app)).query)["ticket"][0]
    return open_with_token(redeem_ticket(runtime.engine, ticket, datetime.now(UTC)), language=language)


def audit_actions(runtime: Runtime) -> list[tuple[str, str]]:
    with session_scope(runtime.engine) as session:
        return [(row.action, row.outcome) for row in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


# --- before sign-in ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", TEAM_PAGES)
def test_no_page_reachable_signed_out(demo_runtime, page):
    app = open_page(None, email=None)

    assert not app.exception
    # AppTest switches only to pages the navigation registered, as the browser can. The sign-in
    # page is registered once per team page path, so every known page is the sign-in page.
    with pytest.raises(ValueError, match=r"Known pages: \[(?:'[^']*pages/sign_in.py'(?:, )?)+\]\."):
        app.switch_page(page)


@pytest.mark.parametrize("page", TEAM_PAGES)
def test_stale_page_renders_nothing_signed_out(demo_runtime, page):
    # Signed in once, then the session ends; the next run starts from the page alone.
    user_id = ensure_member(demo_runtime.engine, "owner@demo.example", Role.OWNER)
    token = session_token_for(demo_runtime.engine, user_id)
    app = open_with_token(token, page)
    from core.auth.sessions import sign_out

    sign_out(demo_runtime.engine, token, datetime.now(UTC))
    app.run()

    assert not app.exception
    # Depending on how Streamlit reruns, the page renders nothing or the dashboard shows the sign-in page.
    assert [title.value for title in app.title] in ([], ["Sign in to the console"])
    assert not app.dataframe
    assert "Signed in as" not in texts(app)


def test_signed_out_dashboard_shows_sign_in(password_user):
    app = open_page(None, email=None)

    assert not app.exception
    assert app.title[0].value == "Sign in to the console"
    assert "Salesforce connection" not in texts(app)
    assert [button.key for button in app.button if button.key and button.key.startswith("demo_")] == []


def test_fresh_install_asks_for_first_owner(tmp_path):
    with page_runtime(tmp_path, APP_DEMO="0") as runtime:
        app = open_page(None, "ja", email=None)
        assert app.title[0].value == "最初のオーナーを作成"

        app.text_input(key="setup_name").input("Hanako Sato")
        app.text_input(key="setup_email").input("Hanako@Example.com")
        app.text_input(key="setup_password").input(PASSWORD)
        app.text_input(key="setup_password_again").input(PASSWORD)
        app.text_input(key="setup_team_name").input("Sales Tokyo")
        app.text_input(key="setup_team_slug").input("sales-tokyo")
        app.button[0].click().run()

        assert not app.exception
        assert "/auth/session?ticket=" in session_link(app)
        app = follow_session_link(app, runtime, "ja")
        assert not app.exception
        assert app.title[0].value == "Salesforce 接続"
        with session_scope(runtime.engine) as session:
            user = session.exec(select(User)).one()
            membership = session.exec(select(Membership)).one()
        assert user.email == "hanako@example.com"
        assert membership.role == Role.OWNER


def test_setup_rejects_mismatched_passwords(tmp_path):
    with page_runtime(tmp_path, APP_DEMO="0") as runtime:
        app = open_page(None, email=None)
        app.text_input(key="setup_name").input("Hanako Sato")
        app.text_input(key="setup_email").input("hanako@example.com")
        app.text_input(key="setup_password").input(PASSWORD)
        app.text_input(key="setup_password_again").input(PASSWORD + "!")
        app.text_input(key="setup_team_name").input("Sales Tokyo")
        app.text_input(key="setup_team_slug").input("sales-tokyo")
        app.button[0].click().run()

        assert app.error[0].value == "The two passwords differ. Enter the same password twice."
        with session_scope(runtime.engine) as session:
            assert session.exec(select(User)).all() == []


# --- sign-in ------------------------------------------------------------------------------------


def test_password_sign_in_opens_console(password_user):
    app = open_page(None, email=None)
    app.text_input(key="sign_in_email").input("Hanako@Example.com")
    app.text_input(key="sign_in_password").input(PASSWORD)
    app.button[0].click().run()

    assert not app.exception
    assert app.success[0].value == "Signed in. Opening the console..."
    link = session_link(app)
    assert PASSWORD not in link
    assert parse_qs(urlsplit(link).query)["next"] == ["/"]

    app = follow_session_link(app, password_user)
    assert not app.exception
    assert app.title[0].value == "Salesforce connection"
    assert "Signed in as Hanako Sato (hanako@example.com)" in [caption.value for caption in app.sidebar.caption]
    assert any('href="/auth/sign-out"' in block.value for block in app.sidebar.markdown)
    assert ("auth.sign_in", "done") in audit_actions(password_user)


def test_wrong_password_is_refused_and_audited(password_user):
    app = open_page(None, "ja", email=None)
    app.text_input(key="sign_in_email").input("hanako@example.com")
    app.text_input(key="sign_in_password").input("not the password")
    app.button[0].click().run()

    assert not app.exception
    expected = "メールアドレスまたはパスワードが正しくありません。両方を確認して、もう一度お試しください。"
    assert app.error[0].value == expected
    assert not [block for block in app.markdown if "/auth/session?" in block.value]
    assert ("auth.sign_in_failed", "failed") in audit_actions(password_user)


def test_invalid_ticket_redirect_is_explained(password_user):
    app = open_page(None, email=None)
    app.query_params["auth_error"] = "ticket_invalid"
    app.run()

    assert app.warning[0].value == "The sign-in link expired or was already used. Sign in again."


@pytest.mark.parametrize(
    ("role", "name"),
    [("owner", "Demo Owner"), ("admin", "Demo Admin"), ("manager", "Demo Manager"), ("member", "Demo Member")],
)
def test_demo_buttons_sign_in_each_role(demo_runtime, role, name):
    app = open_page(None, email=None)
    app.button(key=f"demo_{role}").click().run()
    app = follow_session_link(app, demo_runtime)

    assert not app.exception
    assert f"Signed in as {name} ({role}@demo.example)" in [caption.value for caption in app.sidebar.caption]
    assert app.sidebar.selectbox(key="team_id").options == [f"Demo Sales ({role.title()})"]


def test_demo_buttons_absent_outside_demo(password_user):
    app = open_page(None, email=None)

    assert not [button for button in app.button if (button.key or "").startswith("demo_")]


# --- team switch ----------------------------------------------------------------------------------


def test_team_switch_changes_team_and_role(tmp_path):
    with page_runtime(tmp_path, APP_DEMO="0") as runtime:
        tokyo = create_team(runtime.engine, "Sales Tokyo", "sales-tokyo", NOW)
        osaka = create_team(runtime.engine, "Sales Osaka", "sales-osaka", NOW)
        user_id = ensure_member(runtime.engine, "ken@example.com", Role.MANAGER, [tokyo.id])
        ensure_member(runtime.engine, "ken@example.com", Role.MEMBER, [osaka.id])
        app = open_with_token(session_token_for(runtime.engine, user_id))

        picker = app.sidebar.selectbox(key="team_id")
        assert picker.options == ["Sales Osaka (Member)", "Sales Tokyo (Manager)"]
        assert "Connect team Sales Osaka" in texts(app)
        assert any("You can view this page" in info.value for info in app.info)

        picker.set_value(tokyo.id).run()
        assert not app.exception
        assert "Connect team Sales Tokyo" in texts(app)
        assert not [info for info in app.info if "You can view this page" in info.value]


# --- read-only screens ----------------------------------------------------------------------------


def test_member_sees_connection_read_only(demo_runtime):
    app = open_page("pages/connection.py", email="member@demo.example", role=Role.MEMBER)

    assert not app.exception
    notice = next(info.value for info in app.info if "You can view this page" in info.value)
    assert "needs the Manager role or higher, and your role is Member" in notice
    assert "Demo Owner (owner@demo.example)" in notice
    assert "Demo Admin (admin@demo.example)" in notice
    assert app.button(key="connect").disabled
    assert app.text_input(key="consumer_key").disabled


def test_member_sees_own_booking_pages_read_only(demo_runtime):
    app = open_page("pages/booking_pages.py", "ja", email="member@demo.example", role=Role.MEMBER)

    assert not app.exception
    assert app.dataframe[0].value["name"].tolist() == ["Intro call"]
    assert any("閲覧のみできます" in info.value for info in app.info)
    page_id = app.selectbox(key="bp_selected").value
    assert app.button(key=f"bp{page_id}_save").disabled
    assert app.text_input(key=f"bp{page_id}_name").disabled


def test_disabled_save_cannot_be_pressed(demo_runtime):
    app = open_page("pages/booking_pages.py", email="member@demo.example", role=Role.MEMBER)
    page_id = app.selectbox(key="bp_selected").value

    with pytest.raises(AppTestError, match="disabled"):
        app.button(key=f"bp{page_id}_save").click()
    with session_scope(demo_runtime.engine) as session:
        assert session.get(BookingPage, page_id).name == "Intro call"


@pytest.mark.parametrize("role", [Role.MEMBER, Role.MANAGER, Role.ADMIN])
def test_members_and_audit_answer_every_role(demo_runtime, role):
    # The sidebar lists them for admins only; other roles reach them by URL and get a notice.
    app = open_page(None, email=f"{role.value}@demo.example", role=role)

    for page in ("pages/members.py", "pages/audit.py"):
        app.switch_page(page).run()
        assert not app.exception


def test_manager_edits_booking_page(demo_runtime):
    app = open_page("pages/booking_pages.py", email="manager@demo.example", role=Role.MANAGER)
    assert not [info for info in app.info if "You can view this page" in info.value]
    assert app.dataframe[0].value["name"].tolist() == ["Intro call", "Product demo"]


# --- members screen -------------------------------------------------------------------------------


def test_admin_invites_member_and_sees_password_once(demo_runtime):
    app = open_page("pages/members.py", email="admin@demo.example", role=Role.ADMIN)
    assert app.dataframe[0].value["email"].tolist()[:2] == ["owner@demo.example", "admin@demo.example"]

    app.text_input(key="invite_email").input("new.hire@example.com")
    app.selectbox(key="invite_role").set_value("manager")
    app.button[0].click().run()

    assert not app.exception
    assert "Created an account for new.hire@example.com" in app.success[0].value
    [password] = [code.value for code in app.code]
    assert len(password) >= 16
    with session_scope(demo_runtime.engine) as session:
        user = session.exec(select(User).where(User.email == "new.hire@example.com")).one()
        assert password not in (user.password_hash or "")
    app.run()
    assert password not in [code.value for code in app.code]


def test_last_owner_cannot_be_demoted(demo_runtime):
    app = open_page("pages/members.py", "ja", email="owner@demo.example", role=Role.OWNER)
    with session_scope(demo_runtime.engine) as session:
        owner_id = session.exec(select(User.id).where(User.email == "owner@demo.example")).one()
    app.selectbox(key="change_member").set_value(owner_id).run()
    app.selectbox(key=f"change_role_{owner_id}").set_value("admin")
    app.button(key="change_submit").click().run()

    assert not app.exception
    assert "最後のオーナー" in app.error[0].value


def test_admin_cannot_make_an_owner(demo_runtime):
    app = open_page("pages/members.py", email="admin@demo.example", role=Role.ADMIN)
    with session_scope(demo_runtime.engine) as session:
        manager_id = session.exec(select(User.id).where(User.email == "manager@demo.example")).one()
    app.selectbox(key="change_member").set_value(manager_id).run()
    app.selectbox(key=f"change_role_{manager_id}").set_value("owner")
    app.button(key="change_submit").click().run()

    assert not app.exception
    assert app.error[0].value.startswith("Your role (Admin) cannot make this change. It needs the Owner role or higher.")


# --- audit screen ---------------------------------------------------------------------------------


def test_audit_lists_changes_newest_first(demo_runtime):
    app = open_page("pages/members.py", email="admin@demo.example", role=Role.ADMIN)
    app.text_input(key="invite_email").input("new.hire@example.com")
    app.button[0].click().run()

    app.switch_page("pages/audit.py").run()

    assert not app.exception
    table = app.dataframe[0].value
    row = table["target"].tolist().index("new.hire@example.com")
    assert table["user"].tolist()[row] == "admin@demo.example"
    assert "role: Member" in table["change"].tolist()[row]
    times = table["time"].tolist()
    assert times == sorted(times, reverse=True)


def test_audit_filters_by_user(demo_runtime):
    app = open_page("pages/audit.py", email="admin@demo.example", role=Role.ADMIN)
    app.selectbox(key="audit_user").set_value("system").run()

    assert not app.exception
    assert set(app.dataframe[0].value["user"].tolist()) == {"system"}


def test_audit_names_refused_attempt(demo_runtime):
    from core.auth.audit import Actor
    from core.auth.permissions import PermissionDenied
    from core.teams import set_webhook_secret

    member_id = ensure_member(demo_runtime.engine, "member@demo.example", Role.MEMBER)
    with pytest.raises(PermissionDenied):
        set_webhook_secret(
            demo_runtime.engine, demo_runtime.box, 1, "whsec_0123456789abcdef", NOW,
            actor=Actor(member_id, "member@demo.example"),
        )

    app = open_page("pages/audit.py", "ja", email="admin@demo.example", role=Role.ADMIN)

    table = app.dataframe[0].value
    assert table["action"].tolist()[0] == "予約ページの編集"
    assert table["outcome"].tolist()[0] == "拒否"
    assert table["user"].tolist()[0] == "member@demo.example"


# --- single sign-on -------------------------------------------------------------------------------


def test_identity_provider_button_when_configured(password_user):
    app = AppTest.from_file(DASHBOARD, default_timeout=30)
    app.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-cookie-secret",
        "google": {
            "client_id": "client",
            "client_secret": "secret",
            "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
        },
    }
    app.run()

    assert not app.exception
    assert app.button(key="sso_google").label == "Sign in with google"
    assert app.text_input(key="sign_in_password")


def test_identity_sign_in_needs_console_user(password_user):
    from core.auth.single_sign_on import sign_in_with_identity

    known = sign_in_with_identity(password_user.engine, "Hanako@Example.com", True, NOW)
    unknown = sign_in_with_identity(password_user.engine, "stranger@example.com", True, NOW)
    unverified = sign_in_with_identity(password_user.engine, "hanako@example.com", False, NOW)

    assert known.user is not None
    assert known.user.email == "hanako@example.com"
    assert (unknown.user, unknown.error_key) == (None, "auth.sso.unknown_user")
    assert (unverified.user, unverified.error_key) == (None, "auth.sso.not_verified")
    assert ("auth.sign_in", "done") in audit_actions(password_user)


def registered_paths(app: AppTest) -> set[str]:
    """Return the URL paths the navigation registered in the last run (AppTest's record of st.navigation)."""
    return {str(info.get("url_pathname")) for info in app._registered_pages.values()}


def test_signed_out_answers_every_team_path(demo_runtime):
    signed_in = open_page(None, email="owner@demo.example", role=Role.OWNER)
    signed_out = open_page(None, email=None)

    # A signed-out browser sent to any team page's path gets the sign-in page there, not "Page not found".
    team_paths = registered_paths(signed_in) - {""}
    assert "connection" in team_paths
    assert team_paths <= registered_paths(signed_out)
