"""Users, the first owner, invitations, removals, roles, plans, shared orgs and the demo users."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.auth.accounts import (
    REFRESH_TOKENS_PER_USER_AND_APP,
    change_role,
    create_first_owner,
    create_user,
    has_users,
    invite_member,
    list_members,
    normalise_email,
    org_sharing,
    remove_member,
    seed_demo_users,
    set_team_plan,
    teams_for_user,
    teams_sharing_org,
)
from core.auth.audit import Actor
from core.auth.errors import (
    AlreadyMemberError,
    EmailTakenError,
    InvalidEmailError,
    InvalidPlanError,
    InvalidRoleError,
    LastOwnerError,
    MemberNotFoundError,
    SetupClosedError,
    WeakPasswordError,
)
from core.auth.permissions import Action, PermissionDenied, require
from core.auth.sessions import sign_in
from core.store.db import session_scope
from core.store.models import BookingPage, ConnectionStatus, Membership, Plan, Role, SalesforceConnection, Team, User
from core.teams import TeamSettingError
from tests.auth_fixtures import (  # noqa: F401
    NOW,
    PASSWORD,
    add_membership,
    add_team,
    audit_rows,
    role_team,
    signed_up_user,
)

ORG_ID = "00D000000000001EAA"
SALESFORCE_USER = "005000000000001AAA"


def stored_role(engine, team_id: int, user_id: int) -> str | None:
    with session_scope(engine) as session:
        membership = session.exec(
            select(Membership).where(Membership.team_id == team_id, Membership.user_id == user_id)
        ).first()
        return membership.role if membership else None


def add_page(engine, team_id: int, owner_user_id: int | None, uid: str = "ETINTRO") -> int:
    with session_scope(engine) as session:
        page = BookingPage(
            team_id=team_id, owner_user_id=owner_user_id, name="Intro call", event_type_uid=uid, updated_at=NOW
        )
        session.add(page)
        session.flush()
        return page.id


def page_owner(engine, page_id: int) -> int | None:
    with session_scope(engine) as session:
        return session.get(BookingPage, page_id).owner_user_id


def connect(
    engine,
    team_id: int,
    org_id: str = ORG_ID,
    *,
    user_id: str = SALESFORCE_USER,
    consumer_key: str = "key-1",
    status: ConnectionStatus = ConnectionStatus.CONNECTED,
) -> None:
    with session_scope(engine) as session:
        session.add(
            SalesforceConnection(
                team_id=team_id,
                login_url="https://login.salesforce.com",
                consumer_key=consumer_key,
                consumer_secret_enc="encrypted",
                org_id=org_id,
                user_id=user_id,
                status=status,
            )
        )


# Email addresses


def test_email_is_trimmed_and_lower_cased():
    assert normalise_email("  Hanako.Sato+Sales@Example.CO.JP \n") == "hanako.sato+sales@example.co.jp"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "hanako",
        "hanako@",
        "@example.com",
        "hanako@example",
        "hanako sato@example.com",
        "hanako@@example.com",
        "hanako@example..com",
        ".hanako@example.com",
        "hanako@-example.com",
        "x" * 65 + "@example.com",
        "hanako@" + "a" * 250 + ".com",
        "hanako@example.com\nBcc: x@example.com",
    ],
)
def test_invalid_email_is_rejected(raw):
    with pytest.raises(InvalidEmailError) as raised:
        normalise_email(raw)

    assert raised.value.message_key == "auth_core.error.invalid_email"


# Users


def test_create_user_stores_hash_not_password(empty_store):
    user = create_user(empty_store, " Ken.Suzuki@Example.com", " Ken Suzuki ", PASSWORD, NOW)

    assert user.email == "ken.suzuki@example.com"
    assert user.display_name == "Ken Suzuki"
    with session_scope(empty_store) as session:
        stored = session.get(User, user.id)
    assert stored.password_hash.startswith("$argon2id$")
    [event] = audit_rows(empty_store, "user.created")
    assert event.after == {"email": user.email, "display_name": "Ken Suzuki", "sign_in": "password"}


def test_create_user_rejects_taken_email_in_any_case(empty_store, signed_up_user):
    with pytest.raises(EmailTakenError) as raised:
        create_user(empty_store, "HANAKO.SATO@example.com", "Another Hanako", PASSWORD, NOW)

    assert raised.value.params == {"email": "hanako.sato@example.com"}


def test_create_user_rejects_weak_password(empty_store):
    with pytest.raises(WeakPasswordError):
        create_user(empty_store, "ken@example.com", "Ken", "short", NOW)

    assert has_users(empty_store) is False
    assert audit_rows(empty_store) == []


# The first owner


def test_first_owner_gets_a_team(empty_store):
    assert has_users(empty_store) is False

    created = create_first_owner(empty_store, "Owner@Example.com", "First Owner", PASSWORD, "Sales", "sales", NOW)

    assert has_users(empty_store) is True
    assert created.user.email == "owner@example.com"
    assert created.team.slug == "sales"
    assert created.adopted_teams == []
    assert teams_for_user(empty_store, created.user.id) == [(created.team, Role.OWNER)]
    assert sign_in(empty_store, "owner@example.com", PASSWORD, NOW).ok


def test_first_owner_adopts_teams_without_members(empty_store):
    older = add_team(empty_store, "older-team")

    created = create_first_owner(empty_store, "owner@example.com", "First Owner", PASSWORD, "Sales", "sales", NOW)

    assert [team.id for team in created.adopted_teams] == [older]
    assert stored_role(empty_store, older, created.user.id) == Role.OWNER
    assert {event.team_id for event in audit_rows(empty_store, "member.added")} == {older, created.team.id}


def test_first_owner_only_once(empty_store):
    create_first_owner(empty_store, "owner@example.com", "First Owner", PASSWORD, "Sales", "sales", NOW)

    with pytest.raises(SetupClosedError):
        create_first_owner(empty_store, "intruder@example.com", "Intruder", PASSWORD, "Other", "other", NOW)

    with session_scope(empty_store) as session:
        assert len(session.exec(select(User)).all()) == 1


def test_first_owner_invalid_slug_creates_nothing(empty_store):
    with pytest.raises(TeamSettingError) as raised:
        create_first_owner(empty_store, "owner@example.com", "First Owner", PASSWORD, "Sales", "Sales Team!", NOW)

    assert raised.value.message_key == "nav.team.error.slug"
    assert has_users(empty_store) is False


# Invitations


def test_invite_creates_account_with_temporary_password(role_team):
    admin = role_team.actor(Role.ADMIN)

    invited = invite_member(role_team.engine, admin, role_team.id, " New.Person@Example.com", Role.MANAGER, NOW)

    assert invited.member.email == "new.person@example.com"
    assert invited.member.role == Role.MANAGER
    assert invited.temporary_password is not None
    assert sign_in(role_team.engine, "new.person@example.com", invited.temporary_password.reveal(), NOW).ok
    [event] = audit_rows(role_team.engine, "member.invited")
    assert event.actor_user_id == admin.user_id
    assert event.team_id == role_team.id
    assert event.after == {"email": "new.person@example.com", "role": "manager", "account": "created"}
    assert invited.temporary_password.reveal() not in str(event.after)


def test_invite_links_existing_user(role_team, signed_up_user):
    invited = invite_member(
        role_team.engine, role_team.actor(Role.OWNER), role_team.id, signed_up_user.email, "member", NOW
    )

    assert invited.temporary_password is None
    assert invited.member.user_id == signed_up_user.id
    assert stored_role(role_team.engine, role_team.id, signed_up_user.id) == Role.MEMBER


def test_invite_existing_member_is_rejected(role_team):
    member = role_team.users[Role.MEMBER]

    with pytest.raises(AlreadyMemberError) as raised:
        invite_member(role_team.engine, role_team.actor(Role.ADMIN), role_team.id, member.email, Role.ADMIN, NOW)

    assert raised.value.message_key == "auth_core.error.already_member"
    assert stored_role(role_team.engine, role_team.id, member.id) == Role.MEMBER


def test_invite_unknown_role_is_rejected(role_team):
    with pytest.raises(InvalidRoleError):
        invite_member(role_team.engine, role_team.actor(Role.ADMIN), role_team.id, "x@example.com", "boss", NOW)


def test_admin_cannot_invite_an_owner(role_team):
    with pytest.raises(PermissionDenied) as raised:
        invite_member(role_team.engine, role_team.actor(Role.ADMIN), role_team.id, "x@example.com", Role.OWNER, NOW)

    assert raised.value.decision.reason_params == {"role": "admin", "required_role": "owner"}
    assert has_account(role_team.engine, "x@example.com") is False
    [refused] = audit_rows(role_team.engine, "member.invited")
    assert refused.outcome == "refused"
    assert refused.after["reason"] == "auth.denied.role"


def test_owner_can_invite_an_owner(role_team):
    invited = invite_member(
        role_team.engine, role_team.actor(Role.OWNER), role_team.id, "co-owner@example.com", Role.OWNER, NOW
    )

    assert invited.member.role == Role.OWNER


def has_account(engine, email: str) -> bool:
    with session_scope(engine) as session:
        return session.exec(select(User).where(User.email == email)).first() is not None


# Removals


def test_admin_removes_member_and_their_pages_lose_owner(role_team):
    member = role_team.users[Role.MEMBER]
    page_id = add_page(role_team.engine, role_team.id, member.id)

    remove_member(role_team.engine, role_team.actor(Role.ADMIN), role_team.id, member.id, NOW)

    assert stored_role(role_team.engine, role_team.id, member.id) is None
    assert page_owner(role_team.engine, page_id) is None
    [event] = audit_rows(role_team.engine, "member.removed")
    assert event.before == {"email": member.email, "role": "member"}
    assert event.after == {"booking_pages_unassigned": 1}


def test_last_owner_cannot_be_removed(role_team):
    owner = role_team.users[Role.OWNER]

    with pytest.raises(LastOwnerError) as raised:
        remove_member(role_team.engine, role_team.actor(Role.OWNER), role_team.id, owner.id, NOW)

    assert raised.value.message_key == "auth_core.error.last_owner"
    assert raised.value.params == {"email": owner.email}
    assert stored_role(role_team.engine, role_team.id, owner.id) == Role.OWNER
    [refused] = audit_rows(role_team.engine, "member.removed")
    assert refused.outcome == "refused"
    assert refused.after == {"reason": "auth_core.error.last_owner"}


def test_admin_cannot_remove_an_owner(role_team):
    second = create_user(role_team.engine, "second.owner@example.com", "Second Owner", None, NOW)
    add_membership(role_team.engine, role_team.id, second.id, Role.OWNER)

    with pytest.raises(PermissionDenied):
        remove_member(role_team.engine, role_team.actor(Role.ADMIN), role_team.id, second.id, NOW)

    assert stored_role(role_team.engine, role_team.id, second.id) == Role.OWNER


def test_owner_removes_another_owner(role_team):
    second = create_user(role_team.engine, "second.owner@example.com", "Second Owner", None, NOW)
    add_membership(role_team.engine, role_team.id, second.id, Role.OWNER)

    remove_member(role_team.engine, role_team.actor(Role.OWNER), role_team.id, second.id, NOW)

    assert stored_role(role_team.engine, role_team.id, second.id) is None


def test_remove_non_member_is_not_found(role_team, signed_up_user):
    with pytest.raises(MemberNotFoundError):
        remove_member(role_team.engine, role_team.actor(Role.ADMIN), role_team.id, signed_up_user.id, NOW)


# Roles


def test_admin_changes_role_with_audit(role_team):
    member = role_team.users[Role.MEMBER]

    changed = change_role(role_team.engine, role_team.actor(Role.ADMIN), role_team.id, member.id, "manager", NOW)

    assert changed.role == Role.MANAGER
    assert stored_role(role_team.engine, role_team.id, member.id) == Role.MANAGER
    [event] = audit_rows(role_team.engine, "member.role_changed")
    assert event.before == {"role": "member"}
    assert event.after == {"role": "manager"}
    assert event.target == member.email


def test_same_role_changes_nothing(role_team):
    member = role_team.users[Role.MEMBER]

    change_role(role_team.engine, role_team.actor(Role.ADMIN), role_team.id, member.id, Role.MEMBER, NOW)

    assert audit_rows(role_team.engine, "member.role_changed") == []


def test_last_owner_cannot_be_demoted(role_team):
    owner = role_team.users[Role.OWNER]

    with pytest.raises(LastOwnerError):
        change_role(role_team.engine, role_team.actor(Role.OWNER), role_team.id, owner.id, Role.ADMIN, NOW)

    assert stored_role(role_team.engine, role_team.id, owner.id) == Role.OWNER
    [refused] = audit_rows(role_team.engine, "member.role_changed")
    assert refused.outcome == "refused"


def test_owner_steps_down_after_naming_another(role_team):
    owner = role_team.users[Role.OWNER]
    admin = role_team.users[Role.ADMIN]
    actor = role_team.actor(Role.OWNER)

    change_role(role_team.engine, actor, role_team.id, admin.id, Role.OWNER, NOW)
    change_role(role_team.engine, actor, role_team.id, owner.id, Role.ADMIN, NOW)

    assert stored_role(role_team.engine, role_team.id, admin.id) == Role.OWNER
    assert stored_role(role_team.engine, role_team.id, owner.id) == Role.ADMIN


def test_admin_cannot_promote_to_owner(role_team):
    member = role_team.users[Role.MEMBER]

    with pytest.raises(PermissionDenied):
        change_role(role_team.engine, role_team.actor(Role.ADMIN), role_team.id, member.id, Role.OWNER, NOW)

    assert stored_role(role_team.engine, role_team.id, member.id) == Role.MEMBER


def test_admin_cannot_demote_an_owner(role_team):
    owner = role_team.users[Role.OWNER]

    with pytest.raises(PermissionDenied):
        change_role(role_team.engine, role_team.actor(Role.ADMIN), role_team.id, owner.id, Role.MEMBER, NOW)

    assert stored_role(role_team.engine, role_team.id, owner.id) == Role.OWNER


def test_change_role_of_non_member_is_not_found(role_team, signed_up_user):
    with pytest.raises(MemberNotFoundError):
        change_role(role_team.engine, role_team.actor(Role.ADMIN), role_team.id, signed_up_user.id, Role.ADMIN, NOW)


# Refusals of members and managers


@pytest.mark.parametrize("role", [Role.MEMBER, Role.MANAGER])
def test_member_and_manager_cannot_manage_members(role_team, role):
    engine, team_id = role_team.engine, role_team.id
    actor = role_team.actor(role)
    target = role_team.users[Role.ADMIN].id
    attempts = [
        lambda: invite_member(engine, actor, team_id, "x@example.com", Role.MEMBER, NOW),
        lambda: remove_member(engine, actor, team_id, target, NOW),
        lambda: change_role(engine, actor, team_id, target, Role.MEMBER, NOW),
    ]

    for attempt in attempts:
        with pytest.raises(PermissionDenied) as raised:
            attempt()
        assert raised.value.decision.reason_key == "auth.denied.role"

    refused = audit_rows(engine, Action.MANAGE_MEMBERS.value)
    assert [event.outcome for event in refused] == ["refused"] * 3
    assert {event.actor_user_id for event in refused} == {actor.user_id}
    assert refused[0].after == {"reason": "auth.denied.role", "role": role.value, "required_role": "admin"}
    assert stored_role(engine, team_id, target) == Role.ADMIN
    assert has_account(engine, "x@example.com") is False


@pytest.mark.parametrize(
    "action", [Action.MANAGE_CONNECTION, Action.EDIT_BOOKING_PAGE, Action.RETRY_SYNC, Action.SEND_TEST_BOOKING]
)
def test_member_writes_are_refused_and_audited(role_team, action):
    member = role_team.actor(Role.MEMBER)

    with pytest.raises(PermissionDenied):
        require(role_team.engine, member, role_team.id, action, NOW, target="booking page 1")

    [refused] = audit_rows(role_team.engine, action.value)
    assert refused.outcome == "refused"
    assert refused.actor_user_id == member.user_id
    assert refused.team_id == role_team.id
    assert refused.target == "booking page 1"


def test_outsider_is_refused_as_not_member(role_team, signed_up_user):
    outsider = Actor(signed_up_user.id, signed_up_user.email)

    with pytest.raises(PermissionDenied) as raised:
        require(role_team.engine, outsider, role_team.id, Action.VIEW_SETTINGS, NOW)

    assert raised.value.decision.reason_key == "auth.denied.not_member"


# Listing


def test_list_members_owners_first(role_team):
    members = list_members(role_team.engine, role_team.id)

    assert [member.role for member in members] == [Role.OWNER, Role.ADMIN, Role.MANAGER, Role.MEMBER]
    assert members[0].email == "owner@example.com"


def test_teams_for_user_across_teams(role_team):
    manager = role_team.users[Role.MANAGER]
    other = add_team(role_team.engine, "field-sales", Plan.FREE)
    add_membership(role_team.engine, other, manager.id, Role.OWNER)

    teams = teams_for_user(role_team.engine, manager.id)

    assert [(team.slug, role) for team, role in teams] == [("field-sales", Role.OWNER), ("inside-sales", Role.MANAGER)]
    assert teams[0][0].plan == Plan.FREE
    assert teams_for_user(role_team.engine, 9999) == []


# Plans


def test_owner_changes_plan(role_team):
    team = set_team_plan(role_team.engine, role_team.actor(Role.OWNER), role_team.id, "enterprise", NOW)

    assert team.plan == Plan.ENTERPRISE
    [event] = audit_rows(role_team.engine, "team.plan_changed")
    assert event.before == {"plan": "team"}
    assert event.after == {"plan": "enterprise"}


def test_admin_cannot_change_plan(role_team):
    with pytest.raises(PermissionDenied):
        set_team_plan(role_team.engine, role_team.actor(Role.ADMIN), role_team.id, Plan.FREE, NOW)

    with session_scope(role_team.engine) as session:
        assert session.get(Team, role_team.id).plan == Plan.TEAM


def test_unknown_plan_is_rejected(role_team):
    with pytest.raises(InvalidPlanError):
        set_team_plan(role_team.engine, role_team.actor(Role.OWNER), role_team.id, "platinum", NOW)


# Teams sharing one Salesforce org


def test_teams_sharing_org(empty_store):
    tokyo = add_team(empty_store, "tokyo")
    osaka = add_team(empty_store, "osaka")
    nagoya = add_team(empty_store, "nagoya")
    other_org = add_team(empty_store, "other-org")
    add_team(empty_store, "not-connected")
    connect(empty_store, tokyo)
    connect(empty_store, osaka, user_id="005000000000002AAA")
    connect(empty_store, nagoya, status=ConnectionStatus.DISCONNECTED)
    connect(empty_store, other_org, org_id="00D000000000002EAA")

    assert [team.slug for team in teams_sharing_org(empty_store, tokyo)] == ["osaka"]
    assert [team.slug for team in teams_sharing_org(empty_store, osaka)] == ["tokyo"]
    assert teams_sharing_org(empty_store, other_org) == []
    assert teams_sharing_org(empty_store, nagoya) == []


def test_org_sharing_counts_refresh_tokens_of_one_user_and_app(empty_store):
    teams = [add_team(empty_store, f"team-{number}") for number in range(REFRESH_TOKENS_PER_USER_AND_APP + 1)]
    for team_id in teams[:-1]:
        connect(empty_store, team_id)
    connect(empty_store, teams[-1], consumer_key="another-app")

    sharing = org_sharing(empty_store, teams[0])

    assert sharing.org_id == ORG_ID
    assert len(sharing.teams) == REFRESH_TOKENS_PER_USER_AND_APP
    assert sharing.same_user_and_app == REFRESH_TOKENS_PER_USER_AND_APP
    assert sharing.at_limit is True
    assert org_sharing(empty_store, teams[-1]).at_limit is False


# Demo users


def test_seed_demo_users_is_idempotent(empty_store):
    team_id = add_team(empty_store, "demo")
    intro = add_page(empty_store, team_id, None, uid="ETDEMOINTRO")
    other = add_page(empty_store, team_id, None, uid="ETDEMOPRODUCT")

    seed_demo_users(empty_store, team_id, NOW)
    seed_demo_users(empty_store, team_id, NOW)

    members = list_members(empty_store, team_id)
    assert [(member.email, member.role, member.display_name) for member in members] == [
        ("owner@demo.example", Role.OWNER, "Demo Owner"),
        ("admin@demo.example", Role.ADMIN, "Demo Admin"),
        ("manager@demo.example", Role.MANAGER, "Demo Manager"),
        ("member@demo.example", Role.MEMBER, "Demo Member"),
    ]
    assert page_owner(empty_store, intro) == members[3].user_id
    assert page_owner(empty_store, other) is None
    assert len(audit_rows(empty_store, "demo.users_seeded")) == 1
    with session_scope(empty_store) as session:
        assert len(session.exec(select(User)).all()) == 4


def test_demo_intro_page_id_matches_demo_seed():
    from core.auth.demo_users import INTRO_EVENT_TYPE_UID
    from core.demo_seed import INTRO_EVENT_TYPE_UID as SEEDED_UID

    assert INTRO_EVENT_TYPE_UID == SEEDED_UID
