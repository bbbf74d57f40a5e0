"""decide() for every role, action and plan, against the expected table written out here."""

from __future__ import annotations

import itertools

import pytest

from core.auth.permissions import Action, decide
from core.store.models import Plan, Role

# Weakest first.
ROLES = [Role.MEMBER, Role.MANAGER, Role.ADMIN, Role.OWNER]
PLANS = [Plan.FREE, Plan.PRO, Plan.TEAM, Plan.ENTERPRISE]

# The lowest role and plan each action needs, as the product promises them.
EXPECTED: dict[Action, tuple[Role, Plan]] = {
    Action.VIEW_SETTINGS: (Role.MEMBER, Plan.FREE),
    Action.VIEW_SYNC_LOG: (Role.MEMBER, Plan.FREE),
    Action.MANAGE_CONNECTION: (Role.MANAGER, Plan.FREE),
    Action.EDIT_BOOKING_PAGE: (Role.MANAGER, Plan.FREE),
    Action.RETRY_SYNC: (Role.MANAGER, Plan.FREE),
    Action.SEND_TEST_BOOKING: (Role.MANAGER, Plan.FREE),
    Action.MANAGE_MEMBERS: (Role.ADMIN, Plan.FREE),
    Action.VIEW_AUDIT: (Role.ADMIN, Plan.FREE),
    Action.MANAGE_ACCOUNT_ENGAGEMENT: (Role.OWNER, Plan.TEAM),
    Action.VIEW_ROUTING_LOG: (Role.MANAGER, Plan.TEAM),
    Action.MANAGE_PLAN: (Role.OWNER, Plan.FREE),
}


def test_table_covers_every_action():
    assert set(EXPECTED) == set(Action)


@pytest.mark.parametrize(("role", "action", "plan"), list(itertools.product(ROLES, list(Action), PLANS)))
def test_decide(role, action, plan):
    min_role, min_plan = EXPECTED[action]
    role_ok = ROLES.index(role) >= ROLES.index(min_role)
    plan_ok = PLANS.index(plan) >= PLANS.index(min_plan)

    decision = decide(role, action, plan)

    assert decision.allowed is (role_ok and plan_ok)
    if decision.allowed:
        assert decision.reason_key is None
    elif not role_ok:
        # A missing role is reported before a missing plan.
        assert decision.reason_key == "auth.denied.role"
        assert decision.reason_params == {"role": role.value, "required_role": min_role.value}
    else:
        assert decision.reason_key == "auth.denied.plan"
        assert decision.reason_params == {"plan": plan.value, "required_plan": min_plan.value}


@pytest.mark.parametrize("action", list(Action))
def test_decide_for_non_member(action):
    decision = decide(None, action, Plan.ENTERPRISE)

    assert decision.allowed is False
    assert decision.reason_key == "auth.denied.not_member"
    assert decision.reason_params == {"required_role": EXPECTED[action][0].value}


def test_decide_accepts_stored_strings():
    assert decide("manager", Action.MANAGE_CONNECTION, "free").allowed is True
    assert decide("member", Action.MANAGE_CONNECTION, "enterprise").allowed is False


@pytest.mark.parametrize(
    ("role", "plan", "allowed"),
    [
        (Role.OWNER, Plan.PRO, False),
        (Role.OWNER, Plan.TEAM, True),
        (Role.OWNER, Plan.ENTERPRISE, True),
        (Role.ADMIN, Plan.ENTERPRISE, False),
    ],
)
def test_account_engagement_is_owner_only_on_team_plan(role, plan, allowed):
    assert decide(role, Action.MANAGE_ACCOUNT_ENGAGEMENT, plan).allowed is allowed
