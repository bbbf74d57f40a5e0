"""Account screen, team plan, first-owner set-up form and lockout time, through the dashboard."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from core.auth.audit import Actor
from core.auth.demo_users import seed_demo_users
from core.auth.members import invite_member, suggest_team_slug
from core.auth.sessions import has_temporary_password, sign_in
from core.auth.users import create_user
from core.runtime import Runtime
from core.store.db import session_scope
from core.store.models import AuditEvent, Membership, Plan, Role, Team, User
from core.teams import create_team
from streamlit.testing.v1 import AppTest

from tests.page_support import DASHBOARD, NOW, SESSION_TOKEN_KEY, open_page, page_runtime, session_token_for, texts

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "purple otter climbs the hill"


@pytest.fixture
def owner_runtime(tmp_path: Path) -> Runtime:
    """Outside demo mode: team Sales Tokyo on the Free plan, owned by hanako@example.com with PASSWORD."""
    with page_runtime(tmp_path, APP_DEMO="0") as runtime:
        team = create_team(runtime.engine, "Sales Tokyo", "sales-tokyo", NOW)
        user = create_user(runtime.engine, "hanako@example.com", "Hanako Sato", PASSWORD, NOW)
        with session_scope(runtime.engine) as session:
            session.add(Membership(team_id=team.id, user_id=user.id, role=Role.OWNER, created_at=NOW))
        yield runtime


def user_id_of(runtime: Runtime, email: str) -> int:
    with session_scope(runtime.engine) as session:
        return session.exec(select(User.id).where(User.email == email)).one()


def team_of(runtime: Runtime, slug: str) -> Team:
    with session_scope(runtime.engine) as session:
        return session.exec(select(Team).where(Team.slug == slug)).one()


def open_as(runtime: Runtime, email: str, page: str | None = None, language: str = "en") -> AppTest:
    """Run the dashboard with a live session of the user with email, and switch to page."""
    app = AppTest.from_file(DASHBOARD, default_timeout=30)
    app.session_state["language"] = language
    app.session_state[SESSION_TOKEN_KEY] = session_token_for(runtime.engine, user_id_of(runtime, email))
    app.run()
    if page is not None:
        app.switch_page(page).run()
    return app


def invite(runtime: Runtime, email: str, role: Role) -> str:
    """Invite email into Sales Tokyo as hanako; return the temporary password."""
    owner = Actor(user_id_of(runtime, "hanako@example.com"), "hanako@example.com")
    team = team_of(runtime, "sales-tokyo")
    result = invite_member(runtime.engine, owner, team.id, email, role, NOW)
    return result.temporary_password.reveal()


def fill_setup(app: AppTest, *, password: str = PASSWORD, repeated: str | None = None, slug: str = "") -> None:
    app.text_input(key="setup_name").input("Hanako Sato")
    app.text_input(key="setup_email").input("hanako@example.com")
    app.text_input(key="setup_password").input(password)
    app.text_input(key="setup_password_again").input(password if repeated is None else repeated)
    app.text_input(key="setup_team_name").input("Sales Tokyo 2")
    app.text_input(key="setup_team_slug").input(slug)


# --- team plan ------------------------------------------------------------------------------------


def test_owner_changes_team_plan(owner_runtime):
    app = open_as(owner_runtime, "hanako@example.com", "pages/members.py")
    picker = app.selectbox(key=f"team_plan_{team_of(owner_runtime, 'sales-tokyo').id}")
    assert picker.value == "free"
    assert not picker.disabled

    picker.select("team")
    app.button(key="FormSubmitter:team_plan-Save plan").click().run()

    assert not app.exception
    assert "Team Sales Tokyo is now on the Team plan." in texts(app)
    assert team_of(owner_runtime, "sales-tokyo").plan == Plan.TEAM
    with session_scope(owner_runtime.engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "team.plan_changed")).one()
    assert event.before == {"plan": "free"}
    assert event.after == {"plan": "team"}


def test_plan_unlocks_account_engagement(owner_runtime):
    app = open_as(owner_runtime, "hanako@example.com", "pages/members.py")
    app.selectbox(key=f"team_plan_{team_of(owner_runtime, 'sales-tokyo').id}").select("team")
    app.button(key="FormSubmitter:team_plan-Save plan").click().run()

    app.switch_page("pages/account_engagement.py").run()

    assert not app.exception
    assert "needs the Team plan or higher" not in texts(app)


def test_admin_sees_plan_read_only(owner_runtime):
    invite(owner_runtime, "ken@example.com", Role.ADMIN)
    app = open_as(owner_runtime, "ken@example.com", "pages/members.py")

    picker = app.selectbox(key=f"team_plan_{team_of(owner_runtime, 'sales-tokyo').id}")
    assert picker.disabled
    assert app.button(key="FormSubmitter:team_plan-Save plan").disabled
    assert "Changing it needs the Owner role or higher" in texts(app)


# --- first-owner set-up -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Sales Tokyo", "sales-tokyo"),
        ("  Inside Sales (APAC) #2 ", "inside-sales-apac-2"),
        ("Vertrieb Köln", "vertrieb-k-ln"),
        ("東京営業", ""),
        ("東京 Sales", "sales"),
        ("x" * 70, "x" * 64),
    ],
)
def test_team_slug_suggestion(name, slug):
    assert suggest_team_slug(name) == slug


def test_setup_suggests_team_id_from_name(tmp_path):
    with page_runtime(tmp_path, APP_DEMO="0") as runtime:
        app = open_page(None, email=None)
        fill_setup(app)
        app.button[0].click().run()

        assert not app.exception
        assert team_of(runtime, "sales-tokyo-2").name == "Sales Tokyo 2"
        assert "Created the owner hanako@example.com and team Sales Tokyo 2 (team ID sales-tokyo-2)." in texts(app)
        assert any("/auth/session?ticket=" in block.value for block in app.markdown)


def test_setup_shows_every_error_at_once(tmp_path):
    with page_runtime(tmp_path, APP_DEMO="0") as runtime:
        app = open_page(None, email=None)
        fill_setup(app, password="short", repeated="shorter", slug="Not a slug!")
        app.button[0].click().run()

        assert not app.exception
        [error] = app.error
        assert "Use a password of at least 12 characters" in error.value
        assert "The two passwords differ." in error.value
        assert 'The team ID "not a slug!" is invalid.' in error.value
        assert error.value.index("The two passwords differ.") < error.value.index("The team ID")
        with session_scope(runtime.engine) as session:
            assert session.exec(select(User)).all() == []


# --- lockout ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "shown_time"),
    [("en", "2030-01-02 03:04:05 UTC"), ("ja", "2030-01-02 12:04:05 JST")],
)
def test_lockout_time_names_zone(owner_runtime, language, shown_time):
    with session_scope(owner_runtime.engine) as session:
        user = session.exec(select(User).where(User.email == "hanako@example.com")).one()
        user.failed_sign_ins = 5
        user.locked_until = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        session.add(user)

    app = open_page(None, language, email=None)
    app.text_input(key="sign_in_email").input("hanako@example.com")
    app.text_input(key="sign_in_password").input(PASSWORD)
    app.button[0].click().run()

    assert not app.exception
    assert shown_time in app.error[0].value


# --- account page -----------------------------------------------------------------------------------


def change_password_on_page(app: AppTest, current: str, new: str, repeated: str | None = None) -> AppTest:
    app.text_input(key="account_current_password").input(current)
    app.text_input(key="account_new_password").input(new)
    app.text_input(key="account_repeat_password").input(new if repeated is None else repeated)
    return app.button(key="FormSubmitter:change_password-Change password").click().run()


def test_account_changes_password(owner_runtime):
    app = open_as(owner_runtime, "hanako@example.com", "pages/account.py")
    change_password_on_page(app, PASSWORD, NEW_PASSWORD)

    assert not app.exception
    assert "Your password was changed." in texts(app)
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert sign_in(owner_runtime.engine, "hanako@example.com", NEW_PASSWORD, later).ok
    assert not sign_in(owner_runtime.engine, "hanako@example.com", PASSWORD, later + timedelta(minutes=1)).ok


def test_account_rejects_wrong_current_password(owner_runtime):
    app = open_as(owner_runtime, "hanako@example.com", "pages/account.py")
    change_password_on_page(app, "not the password", NEW_PASSWORD)

    assert not app.exception
    assert app.error[0].value == "The current password is wrong. Enter it again."
    assert sign_in(owner_runtime.engine, "hanako@example.com", PASSWORD, datetime.now(UTC)).ok


def test_account_rejects_different_repeat(owner_runtime):
    app = open_as(owner_runtime, "hanako@example.com", "pages/account.py")
    change_password_on_page(app, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!")

    assert app.error[0].value == "The two passwords differ. Enter the same password twice."
    assert sign_in(owner_runtime.engine, "hanako@example.com", PASSWORD, datetime.now(UTC)).ok


def test_invited_user_sees_password_note(owner_runtime):
    temporary = invite(owner_runtime, "ken@example.com", Role.MEMBER)
    ken = user_id_of(owner_runtime, "ken@example.com")
    assert has_temporary_password(owner_runtime.engine, ken)

    app = open_as(owner_runtime, "ken@example.com")
    assert app.title[0].value == "Salesforce connection"
    assert "temporary password from your invitation" in app.warning[0].value

    app.switch_page("pages/account.py").run()
    change_password_on_page(app, temporary, NEW_PASSWORD)
    assert not app.exception
    assert not has_temporary_password(owner_runtime.engine, ken)

    app.switch_page("dashboard.py").run()
    assert app.title[0].value == "Salesforce connection"
    assert "temporary password" not in texts(app)


def test_first_owner_has_no_temporary_password(owner_runtime):
    app = open_as(owner_runtime, "hanako@example.com")

    assert not has_temporary_password(owner_runtime.engine, user_id_of(owner_runtime, "hanako@example.com"))
    assert "temporary password" not in texts(app)


def test_member_creates_own_team(owner_runtime):
    invite(owner_runtime, "ken@example.com", Role.MEMBER)
    app = open_as(owner_runtime, "ken@example.com", "pages/account.py")
    app.text_input(key="account_team_name").input("Sales Osaka")
    app.button(key="FormSubmitter:account_new_team-Create team").click().run()

    assert not app.exception
    assert "Created team Sales Osaka (team ID sales-osaka) with you as its owner." in texts(app)
    osaka = team_of(owner_runtime, "sales-osaka")
    with session_scope(owner_runtime.engine) as session:
        membership = session.exec(
            select(Membership).where(
                Membership.team_id == osaka.id, Membership.user_id == user_id_of(owner_runtime, "ken@example.com")
            )
        ).one()
    assert membership.role == Role.OWNER
    # AppTest runs a page switched to without the dashboard; its sidebar shows after a run from the top.
    app.switch_page("dashboard.py").run()
    picker = app.sidebar.selectbox(key="team_id")
    assert picker.value == osaka.id
    assert picker.options == ["Sales Osaka (Owner)", "Sales Tokyo (Member)"]


def test_new_team_rejects_taken_id(owner_runtime):
    app = open_as(owner_runtime, "hanako@example.com", "pages/account.py")
    app.text_input(key="account_team_name").input("Sales Tokyo")
    app.button(key="FormSubmitter:account_new_team-Create team").click().run()

    assert not app.exception
    assert app.error[0].value == 'The team ID "sales-tokyo" is already in use. Choose another one.'
    assert app.text_input(key="account_team_name").value == "Sales Tokyo"


def test_demo_account_explains_missing_password(tmp_path):
    with page_runtime(tmp_path) as runtime:
        team = create_team(runtime.engine, "Demo Sales", "demo", NOW)
        seed_demo_users(runtime.engine, team.id, NOW)
        app = open_as(runtime, "owner@demo.example", "pages/account.py")

    assert not app.exception
    assert app.info[0].value.startswith("Demo accounts have no password")
