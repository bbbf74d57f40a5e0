"""Permission checks in every core write path and the OAuth callback: refusals change nothing and are audited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.auth.audit import Actor
from core.auth.audit_log import AuditFilter, fetch_audit_page
from core.auth.permissions import Action, PermissionDenied
from core.booking_pages import BookingPageSettings, delete_booking_page, list_booking_pages, save_booking_page
from core.config import load_settings
from core.connection_status import (
    disconnect_team,
    read_connection,
    start_connection,
    teams_on_same_org,
    teams_with_same_app,
    update_credentials,
)
from core.demo_org.constants import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from core.runtime import Runtime, build_runtime
from core.salesforce import oauth
from core.salesforce.errors import OAuthError
from core.sample_booking import SampleGuest, send_test_booking
from core.secrets import SecretBox
from core.store.db import session_scope
from core.store.models import (
    BookingPage,
    ConnectionStatus,
    Membership,
    OutboxEvent,
    OutboxStatus,
    Role,
    SalesforceConnection,
    SyncLog,
    SyncOutcome,
    Team,
)
from core.sync.log import SyncLogFilter, count_sync_log, export_sync_log_csv, fetch_sync_log_page
from core.sync.worker import retry_failed
from core.teams import create_team, read_webhook_secret, set_webhook_secret
from core.web.auth_routes import SESSION_COOKIE
from core.web.oauth_callback import oauth_routes
from tests.auth_fixtures import NOW, RoleTeam, add_membership, audit_rows, role_team  # noqa: F401 (fixtures)
from tests.demo_org_fixtures import demo_org, demo_org_server  # noqa: F401 (fixtures)
from tests.page_support import session_token_for

CALLBACK_URL = "http://127.0.0.1:8501/oauth/salesforce/callback"
SECRET = "whsec_0123456789abcdef"


@pytest.fixture
def guarded_team(role_team: RoleTeam, box: SecretBox) -> RoleTeam:
    """The role team with a webhook secret, a booking page and one failed sync log row."""
    with session_scope(role_team.engine) as session:
        team = session.get(Team, role_team.id)
        team.webhook_secret_enc = box.encrypt(SECRET)
        session.add(team)
        page = BookingPage(team_id=role_team.id, name="Intro call", event_type_uid="ETINTRO", updated_at=NOW)
        session.add(page)
        outbox = OutboxEvent(
            team_id=role_team.id,
            dedupe_key="guest_booked:BK1",
            event_type="guest_booked",
            booking_uid="BK1",
            event_type_uid="ETINTRO",
            payload={},
            received_at=NOW,
            next_attempt_at=NOW,
            status=OutboxStatus.FAILED,
        )
        session.add(outbox)
        session.flush()
        session.add(
            SyncLog(
                team_id=role_team.id,
                outbox_id=outbox.id,
                booking_page_id=page.id,
                booking_uid="BK1",
                event_type="guest_booked",
                outcome=SyncOutcome.FAILED,
                error_code="REQUIRED_FIELD_MISSING",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    return role_team


def only_page_id(engine: Engine, team_id: int) -> int:
    [page] = list_booking_pages(engine, team_id)
    return page.id


def only_log_id(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.exec(select(SyncLog.id)).one()


WritePath = Callable[[RoleTeam, SecretBox, Actor, Path], object]

WRITE_PATHS: dict[str, tuple[Action, WritePath]] = {
    "save booking page": (
        Action.EDIT_BOOKING_PAGE,
        lambda team, box, actor, tmp: save_booking_page(
            team.engine,
            team.id,
            BookingPageSettings(name="Changed", event_type_uid="ETINTRO"),
            NOW,
            actor=actor,
            page_id=only_page_id(team.engine, team.id),
        ),
    ),
    "new booking page": (
        Action.EDIT_BOOKING_PAGE,
        lambda team, box, actor, tmp: save_booking_page(
            team.engine, team.id, BookingPageSettings(name="New", event_type_uid="ETNEW"), NOW, actor=actor
        ),
    ),
    "delete booking page": (
        Action.EDIT_BOOKING_PAGE,
        lambda team, box, actor, tmp: delete_booking_page(
            team.engine, team.id, only_page_id(team.engine, team.id), NOW, actor=actor
        ),
    ),
    "webhook secret": (
        Action.EDIT_BOOKING_PAGE,
        lambda team, box, actor, tmp: set_webhook_secret(
            team.engine, box, team.id, "whsec_replaced_by_member", NOW, actor=actor
        ),
    ),
    "credentials": (
        Action.MANAGE_CONNECTION,
        lambda team, box, actor, tmp: update_credentials(
            team.engine, box, team.id, "https://login.salesforce.com", "3MVGkey", "consumer-secret", NOW, actor=actor
        ),
    ),
    "connect": (
        Action.MANAGE_CONNECTION,
        lambda team, box, actor, tmp: start_connection(team.engine, box, team.id, CALLBACK_URL, NOW, actor=actor),
    ),
    "disconnect": (
        Action.MANAGE_CONNECTION,
        lambda team, box, actor, tmp: disconnect_team(team.engine, box, team.id, NOW, actor=actor),
    ),
    "retry": (
        Action.RETRY_SYNC,
        lambda team, box, actor, tmp: retry_failed(team.engine, only_log_id(team.engine), NOW, actor=actor),
    ),
    "test booking": (
        Action.SEND_TEST_BOOKING,
        lambda team, box, actor, tmp: send_test_booking(
            team.engine,
            box,
            load_settings({"APP_DATA_DIR": str(tmp)}),
            team.id,
            only_page_id(team.engine, team.id),
            SampleGuest.NEW_CUSTOMER,
            NOW,
            actor=actor,
        ),
    ),
    "audit trail": (
        Action.VIEW_AUDIT,
        lambda team, box, actor, tmp: fetch_audit_page(team.engine, actor, team.id, AuditFilter(), NOW),
    ),
}


def team_state(team: RoleTeam, box: SecretBox) -> tuple:
    with session_scope(team.engine) as session:
        pages = [(page.name, page.event_type_uid) for page in session.exec(select(BookingPage)).all()]
        outcomes = list(session.exec(select(SyncLog.outcome)).all())
        connections = session.exec(select(SalesforceConnection)).all()
    return pages, outcomes, len(connections), read_webhook_secret(team.engine, box, team.id)


@pytest.mark.parametrize("path", list(WRITE_PATHS))
def test_member_write_is_refused_and_audited(guarded_team, box, tmp_path, path):
    action, write = WRITE_PATHS[path]
    member = guarded_team.actor(Role.MEMBER)
    before = team_state(guarded_team, box)

    with pytest.raises(PermissionDenied) as raised:
        write(guarded_team, box, member, tmp_path)

    assert raised.value.decision.reason_key == "auth.denied.role"
    assert team_state(guarded_team, box) == before
    refusals = [row for row in audit_rows(guarded_team.engine) if row.outcome == "refused"]
    assert [(row.action, row.actor_user_id, row.team_id) for row in refusals] == [
        (action.value, member.user_id, guarded_team.id)
    ]


def test_manager_edits_and_change_is_audited(guarded_team):
    manager = guarded_team.actor(Role.MANAGER)
    page_id = only_page_id(guarded_team.engine, guarded_team.id)

    save_booking_page(
        guarded_team.engine,
        guarded_team.id,
        BookingPageSettings(name="Intro call", event_type_uid="ETINTRO", lead_source="Web"),
        NOW,
        actor=manager,
        page_id=page_id,
    )

    [event] = audit_rows(guarded_team.engine, "booking_page.updated")
    assert event.actor_user_id == manager.user_id
    assert event.before == {"lead_source": None}
    assert event.after == {"lead_source": "Web"}


def test_webhook_secret_audit_hides_value(guarded_team, box):
    set_webhook_secret(
        guarded_team.engine, box, guarded_team.id, "whsec_new_value_123456", NOW, actor=guarded_team.actor(Role.ADMIN)
    )

    [event] = audit_rows(guarded_team.engine, "team.webhook_secret_replaced")
    assert "whsec_new_value_123456" not in repr((event.before, event.after, event.target))


def test_credentials_audit_hides_secret(guarded_team, box):
    update_credentials(
        guarded_team.engine,
        box,
        guarded_team.id,
        "https://login.salesforce.com",
        "3MVGkey",
        "very-secret-consumer-secret",
        NOW,
        actor=guarded_team.actor(Role.MANAGER),
    )

    [event] = audit_rows(guarded_team.engine, "salesforce.credentials_saved")
    assert event.after["consumer_key"] == "3MVGkey"
    assert event.after["consumer_secret"] == "********"
    assert "very-secret-consumer-secret" not in repr(event.after)


def test_owner_of_page_must_be_member(guarded_team):
    from core.booking_pages import BookingPageInvalid

    with pytest.raises(BookingPageInvalid) as raised:
        save_booking_page(
            guarded_team.engine,
            guarded_team.id,
            BookingPageSettings(name="Demo", event_type_uid="ETDEMO", owner_user_id=9999),
            NOW,
            actor=guarded_team.actor(Role.MANAGER),
        )

    assert [problem.message_key for problem in raised.value.problems] == ["auth.error.owner_not_member"]


def test_create_team_makes_creator_owner(empty_store):
    from core.auth.users import create_user

    user = create_user(empty_store, "founder@example.com", "Founder", None, NOW)

    team = create_team(empty_store, "Sales Osaka", "sales-osaka", NOW, owner=Actor(user.id, user.email))

    with session_scope(empty_store) as session:
        membership = session.exec(select(Membership).where(Membership.team_id == team.id)).one()
    assert (membership.user_id, membership.role) == (user.id, Role.OWNER)
    assert [row.team_id for row in audit_rows(empty_store, "team.created")] == [team.id]


# --- sync log visibility ------------------------------------------------------------------


@pytest.fixture
def member_page_logs(guarded_team: RoleTeam) -> RoleTeam:
    """The guarded team with a second page owned by the member and two log rows on it."""
    member_id = guarded_team.users[Role.MEMBER].id
    with session_scope(guarded_team.engine) as session:
        page = BookingPage(
            team_id=guarded_team.id, name="Member page", event_type_uid="ETMEMBER", owner_user_id=member_id,
            updated_at=NOW,
        )
        session.add(page)
        session.flush()
        for number in (2, 3):
            outbox = OutboxEvent(
                team_id=guarded_team.id,
                dedupe_key=f"guest_booked:BK{number}",
                event_type="guest_booked",
                booking_uid=f"BK{number}",
                event_type_uid="ETMEMBER",
                payload={},
                received_at=NOW,
                next_attempt_at=NOW,
            )
            session.add(outbox)
            session.flush()
            session.add(
                SyncLog(
                    team_id=guarded_team.id,
                    outbox_id=outbox.id,
                    booking_page_id=page.id,
                    booking_uid=f"BK{number}",
                    event_type="guest_booked",
                    guest_email=f"guest{number}@example.com",
                    outcome=SyncOutcome.CREATED_LEAD,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    return guarded_team


def test_member_sees_only_own_pages_rows(member_page_logs):
    team = member_page_logs
    member = team.actor(Role.MEMBER)

    page = fetch_sync_log_page(team.engine, team.id, SyncLogFilter(), viewer=member)

    assert sorted(entry.booking_uid for entry in page.entries) == ["BK2", "BK3"]
    assert page.total == 2
    assert count_sync_log(team.engine, team.id, SyncLogFilter(), viewer=team.actor(Role.MANAGER)) == 3


def test_member_export_has_only_own_rows(member_page_logs):
    team = member_page_logs

    exported = export_sync_log_csv(
        team.engine, team.id, SyncLogFilter(), language="en", record_url=lambda s, i: None,
        viewer=team.actor(Role.MEMBER),
    ).decode("utf-8-sig")

    assert "BK2" in exported
    assert "BK1" not in exported


def test_outsider_cannot_read_sync_log(member_page_logs, empty_store):
    from core.auth.users import create_user

    outsider = create_user(empty_store, "outsider@example.com", "Outsider", None, NOW)

    with pytest.raises(PermissionDenied):
        fetch_sync_log_page(
            member_page_logs.engine, member_page_logs.id, SyncLogFilter(), viewer=Actor(outsider.id, outsider.email)
        )


# --- the OAuth callback and teams sharing an org ---------------------------------------------


@pytest.fixture
def callback_runtime(tmp_path: Path, demo_org) -> Runtime:
    """A runtime whose teams use the demo org, with the owner, manager and member of two teams."""
    settings = load_settings({"APP_DATA_DIR": str(tmp_path), "APP_PUBLIC_URL": "http://127.0.0.1:8501"})
    runtime = build_runtime(settings)
    demo_org.set_callback_urls([CALLBACK_URL])
    yield runtime
    runtime.engine.dispose()


def add_role_user(runtime: Runtime, email: str, role: Role, team_ids: list[int]) -> Actor:
    from core.auth.users import create_user

    user = create_user(runtime.engine, email, email.split("@")[0], None, NOW)
    for team_id in team_ids:
        add_membership(runtime.engine, team_id, user.id, role)
    return Actor(user.id, user.email)


def authorize(runtime: Runtime, demo_org, team_id: int, actor: Actor) -> tuple[str, str]:
    """Save the demo credentials and start the authorization as actor; return (state, code)."""
    update_credentials(
        runtime.engine, runtime.box, team_id, demo_org.url, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, NOW, actor=actor
    )
    url = start_connection(runtime.engine, runtime.box, team_id, CALLBACK_URL, NOW, actor=actor)
    query = parse_qs(urlsplit(url).query)
    state = query["state"][0]
    return state, demo_org.authorize_code(CALLBACK_URL, query["code_challenge"][0], state)


def callback(runtime: Runtime, state: str, code: str, token: str | None) -> str:
    client = TestClient(Starlette(routes=oauth_routes(runtime, clock=lambda: NOW)))
    if token is not None:
        client.cookies.set(SESSION_COOKIE, token)
    response = client.get("/oauth/salesforce/callback", params={"state": state, "code": code}, follow_redirects=False)
    return response.headers["location"]


def test_callback_completes_for_starting_user(callback_runtime, demo_org):
    team = create_team(callback_runtime.engine, "Sales", "sales", NOW)
    manager = add_role_user(callback_runtime, "manager@example.com", Role.MANAGER, [team.id])
    state, code = authorize(callback_runtime, demo_org, team.id, manager)

    location = callback(callback_runtime, state, code, session_token_for(callback_runtime.engine, manager.user_id))

    assert location == "/connection?oauth=ok"
    [event] = audit_rows(callback_runtime.engine, "salesforce.connected")
    assert (event.actor_user_id, event.team_id) == (manager.user_id, team.id)
    assert event.after["org_id"] == read_connection(callback_runtime.engine, team.id).org_id


@pytest.mark.parametrize("browser", ["signed_out", "other_user"])
def test_callback_refuses_other_browser(callback_runtime, demo_org, browser):
    team = create_team(callback_runtime.engine, "Sales", "sales", NOW)
    manager = add_role_user(callback_runtime, "manager@example.com", Role.MANAGER, [team.id])
    owner = add_role_user(callback_runtime, "owner@example.com", Role.OWNER, [team.id])
    state, code = authorize(callback_runtime, demo_org, team.id, manager)
    token = session_token_for(callback_runtime.engine, owner.user_id) if browser == "other_user" else None

    location = callback(callback_runtime, state, code, token)

    assert location == "/connection?oauth_error=state_user_mismatch"
    assert read_connection(callback_runtime.engine, team.id).status != ConnectionStatus.CONNECTED
    assert audit_rows(callback_runtime.engine, "salesforce.connected") == []


def test_callback_refuses_user_demoted_meanwhile(callback_runtime, demo_org):
    team = create_team(callback_runtime.engine, "Sales", "sales", NOW)
    manager = add_role_user(callback_runtime, "manager@example.com", Role.MANAGER, [team.id])
    state, code = authorize(callback_runtime, demo_org, team.id, manager)
    with session_scope(callback_runtime.engine) as session:
        membership = session.exec(select(Membership).where(Membership.user_id == manager.user_id)).one()
        membership.role = Role.MEMBER
        session.add(membership)

    location = callback(callback_runtime, state, code, session_token_for(callback_runtime.engine, manager.user_id))

    assert location == "/connection?oauth_error=permission_denied"
    assert read_connection(callback_runtime.engine, team.id).status != ConnectionStatus.CONNECTED
    refused = [row for row in audit_rows(callback_runtime.engine) if row.outcome == "refused"]
    assert [(row.action, row.actor_user_id) for row in refused] == [(Action.MANAGE_CONNECTION.value, manager.user_id)]


def test_oauth_callback_without_user_stays_for_system(callback_runtime, demo_org):
    # The demo seeder starts authorizations without a console user.
    team = create_team(callback_runtime.engine, "Demo", "demo", NOW)
    oauth.save_credentials(
        callback_runtime.engine, callback_runtime.box, team.id, demo_org.url, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
    )
    url = oauth.start_authorization(callback_runtime.engine, callback_runtime.box, team.id, CALLBACK_URL, NOW)
    query = parse_qs(urlsplit(url).query)
    code = demo_org.authorize_code(CALLBACK_URL, query["code_challenge"][0], query["state"][0])

    assert callback(callback_runtime, query["state"][0], code, None) == "/connection?oauth=ok"
    [event] = audit_rows(callback_runtime.engine, "salesforce.connected")
    assert event.actor_email == "system"


def test_complete_authorization_checks_user(callback_runtime, demo_org):
    team = create_team(callback_runtime.engine, "Sales", "sales", NOW)
    manager = add_role_user(callback_runtime, "manager@example.com", Role.MANAGER, [team.id])
    state, code = authorize(callback_runtime, demo_org, team.id, manager)

    with pytest.raises(OAuthError) as raised:
        oauth.complete_authorization(callback_runtime.engine, callback_runtime.box, state, code, NOW)

    assert raised.value.error_code == "state_user_mismatch"


def connect_as(runtime: Runtime, demo_org, team_id: int, actor: Actor) -> None:
    state, code = authorize(runtime, demo_org, team_id, actor)
    assert callback(runtime, state, code, session_token_for(runtime.engine, actor.user_id)) == "/connection?oauth=ok"


def test_disconnect_leaves_other_teams_connected(callback_runtime, demo_org):
    tokyo = create_team(callback_runtime.engine, "Tokyo", "tokyo", NOW)
    osaka = create_team(callback_runtime.engine, "Osaka", "osaka", NOW)
    manager = add_role_user(callback_runtime, "manager@example.com", Role.MANAGER, [tokyo.id, osaka.id])
    connect_as(callback_runtime, demo_org, tokyo.id, manager)
    connect_as(callback_runtime, demo_org, osaka.id, manager)
    assert teams_on_same_org(callback_runtime.engine, tokyo.id) == [(osaka.id, "Osaka")]

    disconnect_team(callback_runtime.engine, callback_runtime.box, tokyo.id, NOW, actor=manager)

    assert read_connection(callback_runtime.engine, tokyo.id).status == ConnectionStatus.DISCONNECTED
    assert read_connection(callback_runtime.engine, osaka.id).status == ConnectionStatus.CONNECTED
    from core.salesforce.connection import open_client

    assert open_client(callback_runtime.engine, callback_runtime.box, osaka.id).limits()
    [event] = audit_rows(callback_runtime.engine, "salesforce.disconnected")
    assert (event.team_id, event.actor_user_id) == (tokyo.id, manager.user_id)


def test_same_app_teams_are_found_before_connecting(callback_runtime, demo_org):
    tokyo = create_team(callback_runtime.engine, "Tokyo", "tokyo", NOW)
    osaka = create_team(callback_runtime.engine, "Osaka", "osaka", NOW)
    manager = add_role_user(callback_runtime, "manager@example.com", Role.MANAGER, [tokyo.id, osaka.id])
    connect_as(callback_runtime, demo_org, tokyo.id, manager)

    found = teams_with_same_app(callback_runtime.engine, osaka.id, demo_org.url, DEMO_CONSUMER_KEY)

    assert found == [(tokyo.id, "Tokyo")]
    assert teams_with_same_app(callback_runtime.engine, osaka.id, demo_org.url, "3MVGother") == []


def test_failed_reconnect_is_audited_for_starter(callback_runtime, demo_org):
    team = create_team(callback_runtime.engine, "Sales", "sales", NOW)
    manager = add_role_user(callback_runtime, "manager@example.com", Role.MANAGER, [team.id])
    update_credentials(
        callback_runtime.engine, callback_runtime.box, team.id, demo_org.url, DEMO_CONSUMER_KEY, "wrong-secret", NOW,
        actor=manager,
    )
    url = start_connection(callback_runtime.engine, callback_runtime.box, team.id, CALLBACK_URL, NOW, actor=manager)
    query = parse_qs(urlsplit(url).query)
    code = demo_org.authorize_code(CALLBACK_URL, query["code_challenge"][0], query["state"][0])

    location = callback(callback_runtime, query["state"][0], code, session_token_for(callback_runtime.engine, manager.user_id))

    assert location == "/connection?oauth_error=invalid_client"
    [event] = audit_rows(callback_runtime.engine, "salesforce.connect_failed")
    assert (event.actor_user_id, event.team_id, event.outcome) == (manager.user_id, team.id, "failed")
    assert event.after == {"error_code": "invalid_client"}
    assert "wrong-secret" not in str(event.before) + str(event.after) + event.target


def test_denied_authorization_is_audited(callback_runtime, demo_org):
    team = create_team(callback_runtime.engine, "Sales", "sales", NOW)
    manager = add_role_user(callback_runtime, "manager@example.com", Role.MANAGER, [team.id])
    state, _ = authorize(callback_runtime, demo_org, team.id, manager)
    client = TestClient(Starlette(routes=oauth_routes(callback_runtime, clock=lambda: NOW)))

    response = client.get(
        "/oauth/salesforce/callback",
        params={"state": state, "error": "access_denied", "error_description": "end-user denied authorization"},
        follow_redirects=False,
    )

    assert response.headers["location"] == "/connection?oauth_error=access_denied"
    [event] = audit_rows(callback_runtime.engine, "salesforce.connect_failed")
    assert (event.actor_email, event.after) == ("manager@example.com", {"error_code": "access_denied"})


def test_unknown_state_records_no_failure(callback_runtime, demo_org):
    location = callback(callback_runtime, "no-such-state", "code", None)

    assert location == "/connection?oauth_error=state_invalid"
    assert audit_rows(callback_runtime.engine, "salesforce.connect_failed") == []
