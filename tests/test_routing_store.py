"""Stored routing rules: creation, versioned saves, validation, permissions and the audit trail."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from core.auth.permissions import PermissionDenied
from core.routing import Condition, InvalidRuleSetError, Operator, ProblemCode, Rule, RuleSet, StaleRulesError
from core.routing.store import (
    FormNotCachedError,
    find_form_routing_by_key,
    get_form_routing,
    get_or_create_form_routing,
    list_form_routings,
    save_rules,
    set_enabled,
    set_verify_with_prospect,
)
from core.store.db import session_scope
from core.store.models import AuditEvent, FormRouting, Plan
from tests.routing_fixtures import FORM_ID, NOW, RoutingTeam, routing_team, sample_rules, seed_routing_team  # noqa: F401


def audit_events(team: RoutingTeam, action: str) -> list[AuditEvent]:
    with session_scope(team.engine) as session:
        return list(
            session.exec(select(AuditEvent).where(AuditEvent.team_id == team.id, AuditEvent.action == action)).all()
        )


def test_create_gives_url_safe_key_and_empty_rules(routing_team):
    routing = get_or_create_form_routing(routing_team.engine, routing_team.owner, routing_team.id, FORM_ID, NOW)

    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", routing.form_key)
    assert routing.version == 1
    assert routing.rule_set.rules == []
    assert routing.rule_set.version == 1
    assert routing.enabled is True
    assert routing.verify_with_prospect is False
    assert len(audit_events(routing_team, "routing.create")) == 1


def test_create_is_idempotent(routing_team):
    first = get_or_create_form_routing(routing_team.engine, routing_team.owner, routing_team.id, FORM_ID, NOW)
    second = get_or_create_form_routing(routing_team.engine, routing_team.owner, routing_team.id, FORM_ID, NOW)

    assert second.id == first.id
    assert second.form_key == first.form_key
    assert len(list_form_routings(routing_team.engine, routing_team.id)) == 1


def test_create_rejects_uncached_form(routing_team):
    with pytest.raises(FormNotCachedError, match="form 4242 is not in the cached"):
        get_or_create_form_routing(routing_team.engine, routing_team.owner, routing_team.id, 4242, NOW)

    assert get_form_routing(routing_team.engine, routing_team.id, 4242) is None


def test_save_increments_version_and_audits(routing_team):
    engine = routing_team.engine
    created = get_or_create_form_routing(engine, routing_team.owner, routing_team.id, FORM_ID, NOW)

    saved = save_rules(engine, routing_team.owner, routing_team.id, FORM_ID, sample_rules(routing_team), 1, NOW)

    assert saved.version == 2
    assert saved.rule_set.version == 2
    assert [rule.id for rule in saved.rule_set.rules] == ["large", "japan"]
    assert saved.rule_set.fallback_page_id == routing_team.intro_page_id
    assert saved.updated_by_user_id == routing_team.owner.user_id
    assert find_form_routing_by_key(engine, created.form_key).version == 2

    [event] = audit_events(routing_team, "routing.save_rules")
    assert event.actor_user_id == routing_team.owner.user_id
    assert event.target == f"form {FORM_ID}"
    assert event.before["version"] == 1
    assert event.before["rules"] == []
    assert event.after["version"] == 2
    assert [rule["id"] for rule in event.after["rules"]] == ["large", "japan"]


def test_save_with_old_version_is_stale(routing_team):
    engine = routing_team.engine
    get_or_create_form_routing(engine, routing_team.owner, routing_team.id, FORM_ID, NOW)
    save_rules(engine, routing_team.owner, routing_team.id, FORM_ID, sample_rules(routing_team), 1, NOW)

    # A second editor loaded version 1 before the first save and now saves over it.
    with pytest.raises(StaleRulesError) as raised:
        save_rules(engine, routing_team.owner, routing_team.id, FORM_ID, RuleSet(version=1), 1, NOW)

    assert raised.value.stored_version == 2
    assert raised.value.submitted_version == 1
    stored = get_form_routing(engine, routing_team.id, FORM_ID)
    assert stored.version == 2
    assert len(stored.rule_set.rules) == 2


def test_save_rejects_invalid_rules(routing_team):
    engine = routing_team.engine
    get_or_create_form_routing(engine, routing_team.owner, routing_team.id, FORM_ID, NOW)
    invalid = RuleSet(
        rules=[
            Rule(id="no-target", conditions=[Condition(field="country", operator=Operator.EQUALS, value="Japan")]),
            Rule(
                id="not-number",
                conditions=[Condition(field="employees", operator=Operator.GREATER_THAN, value="many")],
                target_page_id=routing_team.demo_page_id,
            ),
            Rule(
                id="no-field",
                conditions=[Condition(field="budget", operator=Operator.IS_NOT_EMPTY)],
                target_page_id=routing_team.demo_page_id,
            ),
        ]
    )

    with pytest.raises(InvalidRuleSetError) as raised:
        save_rules(engine, routing_team.owner, routing_team.id, FORM_ID, invalid, 1, NOW)

    found = {(problem.rule_id, problem.field, problem.code) for problem in raised.value.problems}
    assert found == {
        ("no-target", "target", ProblemCode.MISSING_TARGET),
        ("not-number", "value", ProblemCode.VALUE_NOT_NUMBER),
        ("no-field", "field", ProblemCode.UNKNOWN_FIELD),
    }
    assert get_form_routing(engine, routing_team.id, FORM_ID).version == 1


def test_save_rejects_page_of_other_team(routing_team):
    engine = routing_team.engine
    get_or_create_form_routing(engine, routing_team.owner, routing_team.id, FORM_ID, NOW)
    rules = RuleSet(fallback_page_id=routing_team.other_page_id)

    with pytest.raises(InvalidRuleSetError) as raised:
        save_rules(engine, routing_team.owner, routing_team.id, FORM_ID, rules, 1, NOW)

    [problem] = raised.value.problems
    assert problem.field == "fallback"
    assert problem.code is ProblemCode.UNKNOWN_PAGE


def test_manager_cannot_save(routing_team):
    engine = routing_team.engine
    get_or_create_form_routing(engine, routing_team.owner, routing_team.id, FORM_ID, NOW)

    with pytest.raises(PermissionDenied) as raised:
        save_rules(engine, routing_team.manager, routing_team.id, FORM_ID, sample_rules(routing_team), 1, NOW)

    assert raised.value.decision.reason_key == "auth.denied.role"
    assert get_form_routing(engine, routing_team.id, FORM_ID).version == 1
    [refusal] = audit_events(routing_team, "manage_account_engagement")
    assert refusal.outcome == "refused"
    assert refusal.actor_user_id == routing_team.manager.user_id


def test_owner_on_pro_plan_cannot_create(empty_store):
    team = seed_routing_team(empty_store, plan=Plan.PRO)

    with pytest.raises(PermissionDenied) as raised:
        get_or_create_form_routing(empty_store, team.owner, team.id, FORM_ID, NOW)

    assert raised.value.decision.reason_key == "auth.denied.plan"
    assert raised.value.decision.reason_params == {"plan": "pro", "required_plan": "team"}
    assert get_form_routing(empty_store, team.id, FORM_ID) is None


def test_owner_of_other_team_cannot_save(routing_team):
    engine = routing_team.engine
    get_or_create_form_routing(engine, routing_team.owner, routing_team.id, FORM_ID, NOW)

    # The owner of this team is not a member of the other team.
    with pytest.raises(PermissionDenied):
        save_rules(engine, routing_team.owner, routing_team.other_team_id, FORM_ID, RuleSet(version=1), 1, NOW)


def test_set_enabled_and_verify(routing_team):
    engine = routing_team.engine
    get_or_create_form_routing(engine, routing_team.owner, routing_team.id, FORM_ID, NOW)

    disabled = set_enabled(engine, routing_team.owner, routing_team.id, FORM_ID, False, NOW)
    verifying = set_verify_with_prospect(engine, routing_team.owner, routing_team.id, FORM_ID, True, NOW)

    assert disabled.enabled is False
    assert verifying.verify_with_prospect is True
    assert verifying.enabled is False
    # Flags are not part of the rules, so an editor's loaded version stays valid.
    assert verifying.version == 1
    [event] = audit_events(routing_team, "routing.set_enabled")
    assert event.before == {"enabled": True}
    assert event.after == {"enabled": False}


def test_set_same_flag_records_nothing(routing_team):
    engine = routing_team.engine
    get_or_create_form_routing(engine, routing_team.owner, routing_team.id, FORM_ID, NOW)

    set_enabled(engine, routing_team.owner, routing_team.id, FORM_ID, True, NOW)

    assert audit_events(routing_team, "routing.set_enabled") == []


def test_manager_cannot_disable(routing_team):
    engine = routing_team.engine
    get_or_create_form_routing(engine, routing_team.owner, routing_team.id, FORM_ID, NOW)

    with pytest.raises(PermissionDenied):
        set_enabled(engine, routing_team.manager, routing_team.id, FORM_ID, False, NOW)

    assert get_form_routing(engine, routing_team.id, FORM_ID).enabled is True


def test_flag_without_routing_raises(routing_team):
    with pytest.raises(LookupError, match="has no routing yet"):
        set_enabled(routing_team.engine, routing_team.owner, routing_team.id, FORM_ID, False, NOW)


def test_stored_json_has_no_version(routing_team):
    engine = routing_team.engine
    get_or_create_form_routing(engine, routing_team.owner, routing_team.id, FORM_ID, NOW)
    save_rules(engine, routing_team.owner, routing_team.id, FORM_ID, sample_rules(routing_team), 1, NOW)

    with session_scope(engine) as session:
        row = session.exec(select(FormRouting)).one()

    assert "version" not in row.rules
    assert row.version == 2
