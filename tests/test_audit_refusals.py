"""Refused and failed attempts in the audit trail and in refusal messages: translated, with what was tried and whom to ask."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from core.auth.accounts import change_role, seed_demo_users
from core.auth.audit import Actor
from core.auth.errors import AuthError
from core.auth.members import set_team_plan
from core.auth.permissions import Action, PermissionDenied
from core.runtime import Runtime
from core.store.db import session_scope
from core.store.models import AuditEvent, Plan, Role, Team, User
from core.teams import create_team, set_webhook_secret
from tests.page_support import NOW, open_page, page_runtime

SECRET = "whsec_0123456789abcdef"


@pytest.fixture
def demo_team(tmp_path: Path) -> Runtime:
    """Team Demo Sales (Team plan) with the four demo users, one for each role."""
    with page_runtime(tmp_path, APP_DEMO="1") as runtime:
        team = create_team(runtime.engine, "Demo Sales", "demo", NOW)
        with session_scope(runtime.engine) as session:
            stored = session.get(Team, team.id)
            stored.plan = Plan.TEAM
            session.add(stored)
        seed_demo_users(runtime.engine, team.id, NOW)
        yield runtime


def demo_actor(runtime: Runtime, role: Role) -> Actor:
    email = f"{role.value}@demo.example"
    with session_scope(runtime.engine) as session:
        return Actor(session.exec(select(User.id).where(User.email == email)).one(), email)


@pytest.fixture
def refused_attempts(demo_team: Runtime) -> Runtime:
    """The demo team after the member tried to set the webhook secret and the owner to demote themselves."""
    with pytest.raises(PermissionDenied):
        set_webhook_secret(demo_team.engine, demo_team.box, 1, SECRET, NOW, actor=demo_actor(demo_team, Role.MEMBER))
    owner = demo_actor(demo_team, Role.OWNER)
    with pytest.raises(AuthError):
        change_role(demo_team.engine, owner, 1, owner.user_id, Role.ADMIN, NOW)
    return demo_team


def refused_changes(app) -> dict[str, str]:
    table = app.dataframe[0].value
    rows = zip(table["user"].tolist(), table["change"].tolist(), table["outcome"].tolist())
    return {user: change for user, change, outcome in rows if outcome in ("Refused", "拒否")}


def test_refusal_reason_is_translated(refused_attempts):
    app = open_page("pages/audit.py", email="admin@demo.example", role=Role.ADMIN)

    assert not app.exception
    changes = refused_changes(app)
    member = changes["member@demo.example"].splitlines()
    assert member[0] == "Tried to: Edit booking pages (webhook signing secret)"
    assert member[1] == "Reason: their role (Member) is below the required Manager role"
    owner = changes["owner@demo.example"]
    assert "owner@demo.example is the team's last owner" in owner
    assert "auth.denied" not in "".join(changes.values())
    assert "auth_core." not in "".join(changes.values())


def test_refusal_reason_in_japanese(refused_attempts):
    app = open_page("pages/audit.py", "ja", email="admin@demo.example", role=Role.ADMIN)

    member = refused_changes(app)["member@demo.example"]
    assert "試みた操作: 予約ページの編集（webhook signing secret）" in member
    assert "ロール（メンバー）が必要なロール（マネージャー）に達していません" in member
    assert "最後のオーナー" in refused_changes(app)["owner@demo.example"]


def test_admin_refusal_names_owners(demo_team):
    manager = demo_actor(demo_team, Role.MANAGER)
    app = open_page("pages/members.py", email="admin@demo.example", role=Role.ADMIN)
    app.selectbox(key="change_member").set_value(manager.user_id).run()
    app.selectbox(key=f"change_role_{manager.user_id}").set_value("owner")
    app.button(key="change_submit").click().run()

    assert not app.exception
    message = app.error[0].value
    assert message.startswith("Your role (Admin) cannot make this change. It needs the Owner role or higher.")
    assert message.endswith("Ask Demo Owner (owner@demo.example), who can do this.")


@pytest.mark.parametrize("role", [Role.MEMBER, Role.MANAGER])
def test_audit_url_answers_with_notice(demo_team, role):
    app = open_page(None, email=f"{role.value}@demo.example", role=role)
    app.switch_page("pages/audit.py").run()

    assert not app.exception
    assert not app.dataframe
    [notice] = [warning.value for warning in app.warning]
    assert "This page needs the Admin role or higher" in notice
    assert "Demo Admin (admin@demo.example)" in notice
    assert "Demo Owner (owner@demo.example)" in notice


def test_refused_audit_visit_is_recorded_once(demo_team):
    app = open_page(None, email="member@demo.example", role=Role.MEMBER)
    app.switch_page("pages/audit.py").run()
    app.run()

    with session_scope(demo_team.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.outcome == "refused")).all()
    assert [(event.action, event.actor_email, event.target) for event in events] == [
        (Action.VIEW_AUDIT.value, "member@demo.example", "page /audit")
    ]


def test_members_url_answers_manager(demo_team):
    app = open_page(None, email="manager@demo.example", role=Role.MANAGER)
    app.switch_page("pages/members.py").run()

    assert not app.exception
    assert any("Admin role or higher" in info.value for info in app.info)


def test_connect_failure_has_a_name(demo_team):
    from core.connection_status import PendingConnect, record_connect_failure

    record_connect_failure(demo_team.engine, PendingConnect(1, demo_actor(demo_team, Role.MANAGER)), "invalid_client", NOW)
    app = open_page("pages/audit.py", email="admin@demo.example", role=Role.ADMIN)

    table = app.dataframe[0].value
    row = table["user"].tolist().index("manager@demo.example")
    assert table["action"].tolist()[row] == "Connect to Salesforce (failed)"
    assert table["change"].tolist()[row] == "error_code: invalid_client"


def test_plan_change_shows_plan_names(demo_team):
    set_team_plan(demo_team.engine, demo_actor(demo_team, Role.OWNER), 1, Plan.PRO, NOW)
    app = open_page("pages/audit.py", email="admin@demo.example", role=Role.ADMIN)

    assert not app.exception
    changes = app.dataframe[0].value["change"].tolist()
    assert "plan: Team → Pro" in changes
