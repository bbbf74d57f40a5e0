"""Account Engagement setup against the demo org: Business Unit ID, prerequisites, forms cache, prospect lookup."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from sqlmodel import select

from core.auth.audit import Actor
from core.auth.permissions import PermissionDenied
from core.demo_org import DEMO_BUSINESS_UNIT_ID, DEMO_ORG_ID
from core.demo_org.seed import NO_ACCESS_BUSINESS_UNIT_ID
from core.i18n import translate
from core.pardot import (
    BusinessUnitIdError,
    Environment,
    NotSetUpError,
    base_url_for,
    check_prerequisites,
    find_prospect_by_email,
    list_cached_forms,
    load_business_unit,
    open_pardot_client,
    prospect_answers,
    refresh_forms,
    save_business_unit,
    validate_business_unit_id,
)
from core.salesforce.errors import ReconnectRequired
from core.store.db import session_scope
from core.store.models import (
    AccountEngagementForm,
    AuditEvent,
    Membership,
    Plan,
    Role,
    SalesforceConnection,
    Team,
    User,
)
from tests.demo_org_fixtures import demo_org, demo_org_server  # noqa: F401
from tests.pardot_fixtures import pardot_team, team_without_pardot_scope  # noqa: F401
from tests.sync_fixtures import store_runtime, webhook_team  # noqa: F401

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
UNKNOWN_BUSINESS_UNIT_ID = "0Uv8d0000000009CAA"


def stored_connection(team) -> SalesforceConnection:
    with session_scope(team.runtime.engine) as session:
        return session.exec(select(SalesforceConnection).where(SalesforceConnection.team_id == team.id)).one()


def cached_rows(team) -> list[AccountEngagementForm]:
    with session_scope(team.runtime.engine) as session:
        return list(session.exec(select(AccountEngagementForm).where(AccountEngagementForm.team_id == team.id)))


def add_member(team, role: Role, plan: Plan = Plan.TEAM) -> Actor:
    """Add a user with role to the team on plan and return them as an actor."""
    email = f"{role.value}@example.com"
    with session_scope(team.runtime.engine) as session:
        session.get(Team, team.id).plan = plan
        user = User(email=email, display_name=role.value.title(), created_at=NOW)
        session.add(user)
        session.flush()
        session.add(Membership(team_id=team.id, user_id=user.id, role=role, created_at=NOW))
        return Actor(user_id=user.id, email=email)


# Business Unit ID


@pytest.mark.parametrize("raw", [DEMO_BUSINESS_UNIT_ID, f"  {DEMO_BUSINESS_UNIT_ID}\n"])
def test_business_unit_id_accepts_18_characters(raw):
    assert validate_business_unit_id(raw) == DEMO_BUSINESS_UNIT_ID


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("", "pardot.business_unit.empty"),
        ("   ", "pardot.business_unit.empty"),
        (DEMO_ORG_ID, "pardot.business_unit.prefix"),
        ("0UV8d0000000001EAA", "pardot.business_unit.prefix"),
        ("0Uv8d0000000001", "pardot.business_unit.format"),
        ("0Uv8d0000000001CAAX", "pardot.business_unit.format"),
        ("0Uv8d00000-0001EAA", "pardot.business_unit.format"),
    ],
)
def test_business_unit_id_rejects_with_key(raw, key):
    with pytest.raises(BusinessUnitIdError) as raised:
        validate_business_unit_id(raw)

    assert isinstance(raised.value, ValueError)
    assert raised.value.message_key == key
    assert "0Uv" in str(raised.value)
    assert translate(key, "ja", **raised.value.params) != key


def test_base_url_follows_environment():
    connection = SalesforceConnection(
        team_id=1, login_url="https://login.salesforce.com", consumer_key="k", consumer_secret_enc="",
        instance_url="https://acme.my.salesforce.com", org_id="00D5g000000AbcdEAA",
    )

    assert base_url_for(Environment.PRODUCTION, connection) == "https://pi.pardot.com"
    assert base_url_for("demo", connection) == "https://pi.demo.pardot.com"
    with pytest.raises(ValueError, match="production or demo"):
        base_url_for("sandbox", connection)


def test_base_url_for_demo_org():
    connection = SalesforceConnection(
        team_id=1, login_url="http://127.0.0.1:8501/demo-org", consumer_key="k", consumer_secret_enc="",
        instance_url="http://127.0.0.1:8501/demo-org", org_id=DEMO_ORG_ID,
    )

    assert base_url_for(Environment.PRODUCTION, connection) == "http://127.0.0.1:8501/demo-org/pardot"


def test_save_business_unit_stores_and_loads(webhook_team):
    engine = webhook_team.runtime.engine

    saved = save_business_unit(engine, webhook_team.id, f" {DEMO_BUSINESS_UNIT_ID} ", "production", NOW)

    assert saved.business_unit_id == DEMO_BUSINESS_UNIT_ID
    assert saved.environment == "production"
    assert load_business_unit(engine, webhook_team.id) == saved


def test_save_business_unit_rejects_unknown_environment(webhook_team):
    with pytest.raises(ValueError, match="production or demo"):
        save_business_unit(webhook_team.runtime.engine, webhook_team.id, DEMO_BUSINESS_UNIT_ID, "staging", NOW)

    assert load_business_unit(webhook_team.runtime.engine, webhook_team.id) is None


def test_changing_business_unit_drops_forms_cache(pardot_team):
    runtime = pardot_team.runtime
    refresh_forms(runtime.engine, runtime.box, pardot_team.id, NOW)

    save_business_unit(runtime.engine, pardot_team.id, DEMO_BUSINESS_UNIT_ID, Environment.DEMO, NOW)
    cached_before_change = len(cached_rows(pardot_team))
    changed = save_business_unit(runtime.engine, pardot_team.id, DEMO_BUSINESS_UNIT_ID, Environment.PRODUCTION, NOW)

    assert cached_before_change == 3
    assert cached_rows(pardot_team) == []
    assert changed.forms_fetched_at is None


def test_owner_saves_business_unit_with_audit(webhook_team):
    owner = add_member(webhook_team, Role.OWNER)

    save_business_unit(webhook_team.runtime.engine, webhook_team.id, DEMO_BUSINESS_UNIT_ID, "demo", NOW, actor=owner)

    with session_scope(webhook_team.runtime.engine) as session:
        event = session.exec(select(AuditEvent)).one()
    assert event.outcome == "done"
    assert event.actor_user_id == owner.user_id
    assert event.after == {"business_unit_id": DEMO_BUSINESS_UNIT_ID, "environment": "demo"}


def test_member_cannot_save_business_unit(webhook_team):
    member = add_member(webhook_team, Role.MEMBER)

    with pytest.raises(PermissionDenied):
        save_business_unit(webhook_team.runtime.engine, webhook_team.id, DEMO_BUSINESS_UNIT_ID, "demo", NOW, actor=member)

    assert load_business_unit(webhook_team.runtime.engine, webhook_team.id) is None
    with session_scope(webhook_team.runtime.engine) as session:
        assert session.exec(select(AuditEvent)).one().outcome == "refused"


# Prerequisites


def test_prerequisites_all_met(pardot_team):
    runtime = pardot_team.runtime

    report = check_prerequisites(runtime.engine, runtime.box, pardot_team.id, NOW)

    assert [item.met for item in report.items] == [True, True, True]
    assert report.all_met
    assert report.error is None
    saved = load_business_unit(runtime.engine, pardot_team.id)
    assert saved.checked_at == NOW
    assert saved.last_error_code is None


def test_prerequisites_without_pardot_scope(team_without_pardot_scope, demo_org):
    runtime = team_without_pardot_scope.runtime

    report = check_prerequisites(runtime.engine, runtime.box, team_without_pardot_scope.id, NOW)

    assert report.scope.met is False
    assert report.scope.next_step_key == "pardot.next.add_scope"
    assert "reconnect" in translate(report.scope.next_step_key, "en")
    assert report.user_access.met is None
    assert report.business_unit.met is None
    assert not report.all_met


def test_prerequisites_with_unknown_business_unit(pardot_team):
    runtime = pardot_team.runtime
    save_business_unit(runtime.engine, pardot_team.id, UNKNOWN_BUSINESS_UNIT_ID, Environment.DEMO, NOW)

    report = check_prerequisites(runtime.engine, runtime.box, pardot_team.id, NOW)

    assert report.scope.met is True
    assert report.user_access.met is None
    assert report.business_unit.met is False
    assert report.business_unit.next_step_key == "sf_next.PARDOT_201"
    message = translate(report.business_unit.next_step_key, "en", **report.business_unit.next_step_params)
    assert UNKNOWN_BUSINESS_UNIT_ID in message
    assert "Account Engagement" in message
    assert load_business_unit(runtime.engine, pardot_team.id).last_error_code == "PARDOT_201"


def test_prerequisites_with_user_outside_business_unit(pardot_team):
    runtime = pardot_team.runtime
    save_business_unit(runtime.engine, pardot_team.id, NO_ACCESS_BUSINESS_UNIT_ID, Environment.DEMO, NOW)

    report = check_prerequisites(runtime.engine, runtime.box, pardot_team.id, NOW)

    assert report.scope.met is True
    assert report.user_access.met is False
    assert report.user_access.next_step_key == "pardot.next.user_access"
    assert report.user_access.next_step_params["username"] == "admin@demo-org.example"
    assert report.business_unit.met is None
    assert report.error.error_code == "PARDOT_184"


def test_prerequisites_without_business_unit(webhook_team, demo_org):
    from tests.pardot_fixtures import connect_to_demo_org

    runtime = webhook_team.runtime
    connect_to_demo_org(runtime, webhook_team.id, demo_org, ("api", "refresh_token", "pardot_api"))

    report = check_prerequisites(runtime.engine, runtime.box, webhook_team.id, NOW)

    assert report.scope.met is True
    assert report.business_unit.met is False
    assert report.business_unit.next_step_key == "pardot.next.enter_business_unit"


def test_prerequisites_without_salesforce_connection(webhook_team):
    runtime = webhook_team.runtime

    report = check_prerequisites(runtime.engine, runtime.box, webhook_team.id, NOW)

    assert [item.met for item in report.items] == [None, None, False]
    assert report.scope.next_step_key == "pardot.next.connect_salesforce"


def test_prerequisites_refresh_expired_token(pardot_team, demo_org):
    runtime = pardot_team.runtime
    token_before = stored_connection(pardot_team).access_token_enc
    demo_org.set_faults(expire_tokens=True)

    report = check_prerequisites(runtime.engine, runtime.box, pardot_team.id, NOW)

    assert report.all_met
    assert stored_connection(pardot_team).access_token_enc != token_before


def test_open_client_without_business_unit(webhook_team, demo_org):
    from tests.pardot_fixtures import connect_to_demo_org

    runtime = webhook_team.runtime
    connect_to_demo_org(runtime, webhook_team.id, demo_org, ("api", "refresh_token", "pardot_api"))

    with pytest.raises(NotSetUpError) as raised:
        open_pardot_client(runtime.engine, runtime.box, webhook_team.id)

    assert raised.value.next_step_key == "sf_next.PARDOT_NOT_SET_UP"


def test_open_client_without_connection(webhook_team):
    save_business_unit(webhook_team.runtime.engine, webhook_team.id, DEMO_BUSINESS_UNIT_ID, "demo", NOW)

    with pytest.raises(ReconnectRequired):
        open_pardot_client(webhook_team.runtime.engine, webhook_team.runtime.box, webhook_team.id)


# Forms cache


def test_refresh_forms_caches_forms_with_fields(pardot_team):
    runtime = pardot_team.runtime

    forms = refresh_forms(runtime.engine, runtime.box, pardot_team.id, NOW)

    assert [(form.form_id, form.name) for form in forms] == [
        (1002, "Contact us EN"), (1001, "Demo request JP"), (1003, "Webinar signup"),
    ]
    assert forms[1].fields == ("email", "first_name", "last_name", "company", "employees", "country", "interest")
    assert forms[2].fields == ("email", "first_name", "last_name")
    assert all(form.fetched_at == NOW for form in forms)
    assert list_cached_forms(runtime.engine, pardot_team.id) == forms
    assert load_business_unit(runtime.engine, pardot_team.id).forms_fetched_at == NOW


def test_refresh_forms_replaces_cache(pardot_team):
    runtime = pardot_team.runtime
    with session_scope(runtime.engine) as session:
        session.add(AccountEngagementForm(team_id=pardot_team.id, form_id=9999, name="Deleted form", fetched_at=NOW))

    refresh_forms(runtime.engine, runtime.box, pardot_team.id, NOW)
    later = datetime(2026, 3, 4, tzinfo=UTC)
    refresh_forms(runtime.engine, runtime.box, pardot_team.id, later)

    rows = cached_rows(pardot_team)
    assert sorted(row.form_id for row in rows) == [1001, 1002, 1003]
    assert {row.fetched_at for row in rows} == {later}


def test_failed_refresh_keeps_cache(pardot_team, demo_org):
    runtime = pardot_team.runtime
    refresh_forms(runtime.engine, runtime.box, pardot_team.id, NOW)
    refresh_token = runtime.box.decrypt(stored_connection(pardot_team).refresh_token_enc).reveal()
    requests.post(f"{demo_org.url}/services/oauth2/revoke", data={"token": refresh_token}, timeout=10).raise_for_status()

    with pytest.raises(ReconnectRequired):
        refresh_forms(runtime.engine, runtime.box, pardot_team.id, datetime(2026, 3, 4, tzinfo=UTC))

    assert [form.fetched_at for form in list_cached_forms(runtime.engine, pardot_team.id)] == [NOW, NOW, NOW]


def test_list_cached_forms_of_other_team_is_empty(pardot_team):
    runtime = pardot_team.runtime
    refresh_forms(runtime.engine, runtime.box, pardot_team.id, NOW)

    assert list_cached_forms(runtime.engine, pardot_team.id + 1) == []


# Prospects


def test_find_prospect_picks_most_recently_updated(pardot_team):
    runtime = pardot_team.runtime

    prospect = find_prospect_by_email(runtime.engine, runtime.box, pardot_team.id, " Taro.Yamada@example.jp ")

    assert prospect["id"] == 3001
    assert prospect["company"] == "Yamada Manufacturing"
    assert prospect_answers(prospect)["first_name"] == "Taro"
    assert "id" not in prospect_answers(prospect)


def test_find_prospect_with_requested_fields(pardot_team):
    runtime = pardot_team.runtime

    prospect = find_prospect_by_email(
        runtime.engine, runtime.box, pardot_team.id, "emily.clark@example.com", fields=["interest"]
    )

    assert prospect == {"id": 3002, "updatedAt": "2026-02-10T09:30:00+09:00", "interest": "pricing"}


def test_find_prospect_unknown_email_is_none(pardot_team):
    runtime = pardot_team.runtime

    assert find_prospect_by_email(runtime.engine, runtime.box, pardot_team.id, "nobody@example.com") is None


def test_find_prospect_rejects_empty_email(pardot_team):
    runtime = pardot_team.runtime

    with pytest.raises(ValueError, match="empty"):
        find_prospect_by_email(runtime.engine, runtime.box, pardot_team.id, "  ")


# Catalog


def test_catalog_covers_error_families_prerequisites_and_environments():
    from core.i18n import load_catalog
    from core.pardot import errors
    from core.pardot.setup import Prerequisite, PrerequisiteCheck

    catalog = load_catalog()
    families = [
        value for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.PardotError)
    ]
    keys = [f"sf_next.family.{family.__name__}" for family in families]
    keys += [PrerequisiteCheck(name, None).label_key for name in Prerequisite]
    keys += [f"pardot.environment.{environment.value}" for environment in Environment]

    assert len(families) == 8
    assert [key for key in keys if key not in catalog] == []
