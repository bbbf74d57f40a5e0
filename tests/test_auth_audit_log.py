"""Reading a team's audit trail: who may, what it includes, paging, filters and masked secrets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.auth.accounts import change_role, create_user, invite_member
from core.auth.audit import REDACTED, Actor, record_audit
from core.auth.audit_log import ACCOUNT_ACTIONS, audit_action_key, list_audit_events
from core.auth.permissions import PermissionDenied
from core.auth.sessions import sign_in
from core.i18n import load_catalog
from core.store.db import session_scope
from core.store.models import Role
from tests.auth_fixtures import NOW, PASSWORD, add_membership, add_team, audit_rows, role_team  # noqa: F401


def test_admin_sees_changes_and_member_sign_ins(role_team):
    engine, team_id = role_team.engine, role_team.id
    admin = role_team.actor(Role.ADMIN)
    outsider = create_user(engine, "outsider@example.com", "Outsider", PASSWORD, NOW)
    other_team = add_team(engine, "other-team")
    add_membership(engine, other_team, outsider.id, Role.OWNER)

    sign_in(engine, "owner@example.com", PASSWORD, NOW)
    sign_in(engine, "outsider@example.com", PASSWORD, NOW)
    change_role(engine, admin, team_id, role_team.users[Role.MEMBER].id, Role.MANAGER, NOW)
    with session_scope(engine) as session:
        record_audit(session, actor=Actor.system(), action="team.created", now=NOW, team_id=other_team)

    entries = list_audit_events(engine, admin, team_id, NOW)

    assert [(entry.action, entry.actor_email) for entry in entries] == [
        ("member.role_changed", "admin@example.com"),
        ("auth.sign_in", "owner@example.com"),
    ]
    assert entries[0].before == {"role": "member"}
    assert entries[0].after == {"role": "manager"}


@pytest.mark.parametrize("role", [Role.MEMBER, Role.MANAGER])
def test_member_and_manager_cannot_read_audit(role_team, role):
    with pytest.raises(PermissionDenied):
        list_audit_events(role_team.engine, role_team.actor(role), role_team.id, NOW)

    [refused] = audit_rows(role_team.engine, "view_audit")
    assert refused.outcome == "refused"


def test_audit_pages_back_newest_first(role_team):
    engine, owner = role_team.engine, role_team.actor(Role.OWNER)
    for number in range(5):
        invite_member(engine, owner, role_team.id, f"person{number}@example.com", Role.MEMBER, NOW)

    first = list_audit_events(engine, owner, role_team.id, NOW, limit=2, action_prefix="member.")
    second = list_audit_events(
        engine, owner, role_team.id, NOW, limit=2, action_prefix="member.", before_id=first[-1].id
    )

    assert [entry.target for entry in first] == ["person4@example.com", "person3@example.com"]
    assert [entry.target for entry in second] == ["person2@example.com", "person1@example.com"]


def test_audit_filters_by_outcome(role_team):
    engine = role_team.engine
    with pytest.raises(PermissionDenied):
        invite_member(engine, role_team.actor(Role.MEMBER), role_team.id, "x@example.com", Role.MEMBER, NOW)
    invite_member(engine, role_team.actor(Role.ADMIN), role_team.id, "y@example.com", Role.MEMBER, NOW)

    refused = list_audit_events(engine, role_team.actor(Role.ADMIN), role_team.id, NOW, outcome="refused")

    assert [(entry.action, entry.actor_email) for entry in refused] == [("manage_members", "member@example.com")]


def test_audit_prefix_is_literal(role_team):
    engine = role_team.engine
    with session_scope(engine) as session:
        record_audit(session, actor=Actor.system(), action="member_x", now=NOW, team_id=role_team.id)

    entries = list_audit_events(engine, role_team.actor(Role.ADMIN), role_team.id, NOW, action_prefix="member_")

    assert [entry.action for entry in entries] == ["member_x"]
    assert list_audit_events(engine, role_team.actor(Role.ADMIN), role_team.id, NOW, action_prefix="member%") == []


def test_audit_masks_secret_values(role_team):
    engine = role_team.engine
    with session_scope(engine) as session:
        record_audit(
            session,
            actor=role_team.actor(Role.MANAGER),
            action="connection.credentials_saved",
            now=NOW + timedelta(seconds=1),
            team_id=role_team.id,
            before={"consumer_key": "3MVG9-old", "consumer_secret": "old-secret"},
            after={"consumer_key": "3MVG9-new", "consumer_secret": "new-secret", "nested": {"refresh_token": "5Aep"}},
        )

    [entry] = list_audit_events(engine, role_team.actor(Role.OWNER), role_team.id, NOW)

    assert entry.before == {"consumer_key": "3MVG9-old", "consumer_secret": REDACTED}
    assert entry.after == {
        "consumer_key": "3MVG9-new",
        "consumer_secret": REDACTED,
        "nested": {"refresh_token": REDACTED},
    }


def test_account_actions_have_names_in_both_languages():
    catalog = load_catalog()

    missing = [action for action in ACCOUNT_ACTIONS if audit_action_key(action) not in catalog]

    assert missing == []
    assert audit_action_key("connection.connected") is None


def test_recorded_actions_are_listed(role_team):
    engine, owner = role_team.engine, role_team.actor(Role.OWNER)
    invite_member(engine, owner, role_team.id, "z@example.com", Role.MEMBER, NOW)
    sign_in(engine, "owner@example.com", "wrong password!", NOW)

    recorded = {event.action for event in audit_rows(engine)}

    assert recorded <= set(ACCOUNT_ACTIONS)
