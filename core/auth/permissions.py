"""Who may do what in a team: one table, consulted by every write path.

Pages use decide() to show a read-only screen with the reason. Writes in core
call require(), which raises PermissionDenied and records the refusal in the
audit trail. So a page that forgot to hide a button still cannot change data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from core.auth.audit import Actor, record_audit
from core.store.db import session_scope
from core.store.models import Membership, Plan, Role, Team

ROLE_RANK = {Role.MEMBER: 0, Role.MANAGER: 1, Role.ADMIN: 2, Role.OWNER: 3}
PLAN_RANK = {Plan.FREE: 0, Plan.PRO: 1, Plan.TEAM: 2, Plan.ENTERPRISE: 3}


class Action(StrEnum):
    VIEW_SETTINGS = "view_settings"
    VIEW_SYNC_LOG = "view_sync_log"
    MANAGE_CONNECTION = "manage_connection"  # connect, disconnect, credentials
    EDIT_BOOKING_PAGE = "edit_booking_page"  # pages, their settings, the webhook secret
    RETRY_SYNC = "retry_sync"
    SEND_TEST_BOOKING = "send_test_booking"
    MANAGE_MEMBERS = "manage_members"  # invite, remove, change roles
    VIEW_AUDIT = "view_audit"
    MANAGE_ACCOUNT_ENGAGEMENT = "manage_account_engagement"  # connection and routing rules
    VIEW_ROUTING_LOG = "view_routing_log"
    MANAGE_PLAN = "manage_plan"  # the team's plan


@dataclass(frozen=True)
class Rule:
    min_role: Role
    min_plan: Plan = Plan.FREE


RULES: dict[Action, Rule] = {
    Action.VIEW_SETTINGS: Rule(Role.MEMBER),
    Action.VIEW_SYNC_LOG: Rule(Role.MEMBER),
    Action.MANAGE_CONNECTION: Rule(Role.MANAGER),
    Action.EDIT_BOOKING_PAGE: Rule(Role.MANAGER),
    Action.RETRY_SYNC: Rule(Role.MANAGER),
    Action.SEND_TEST_BOOKING: Rule(Role.MANAGER),
    Action.MANAGE_MEMBERS: Rule(Role.ADMIN),
    Action.VIEW_AUDIT: Rule(Role.ADMIN),
    Action.MANAGE_ACCOUNT_ENGAGEMENT: Rule(Role.OWNER, Plan.TEAM),
    Action.VIEW_ROUTING_LOG: Rule(Role.MANAGER, Plan.TEAM),
    Action.MANAGE_PLAN: Rule(Role.OWNER),
}


@dataclass(frozen=True)
class Decision:
    """Whether an action is allowed, and if not, an i18n reason with its parameters."""

    allowed: bool
    reason_key: str | None = None
    reason_params: dict[str, Any] = field(default_factory=dict)


class PermissionDenied(Exception):
    """The signed-in user may not do this in this team."""

    def __init__(self, action: Action, decision: Decision) -> None:
        super().__init__(f"{action.value} is not allowed: {decision.reason_key} {decision.reason_params}")
        self.action = action
        self.decision = decision


def decide(role: Role | str | None, action: Action, plan: Plan | str) -> Decision:
    """Return whether role may take action in a team on plan."""
    rule = RULES[action]
    if role is None:
        return Decision(False, "auth.denied.not_member", {"required_role": rule.min_role.value})
    if ROLE_RANK[Role(role)] < ROLE_RANK[rule.min_role]:
        return Decision(False, "auth.denied.role", {"role": Role(role).value, "required_role": rule.min_role.value})
    if PLAN_RANK[Plan(plan)] < PLAN_RANK[rule.min_plan]:
        return Decision(False, "auth.denied.plan", {"plan": Plan(plan).value, "required_plan": rule.min_plan.value})
    return Decision(True)


def role_in_team(session: Session, user_id: int | None, team_id: int) -> Role | None:
    """Return the user's role in the team, or None when they are not a member."""
    if user_id is None:
        return None
    membership = session.exec(
        select(Membership).where(Membership.team_id == team_id, Membership.user_id == user_id)
    ).first()
    return Role(membership.role) if membership else None


def require(
    engine: Engine, actor: Actor, team_id: int, action: Action, now: datetime, *, target: str = ""
) -> None:
    """Raise PermissionDenied, after auditing the refusal, unless actor may take action."""
    with session_scope(engine) as session:
        team = session.get(Team, team_id)
        plan = team.plan if team is not None else Plan.FREE
        decision = decide(role_in_team(session, actor.user_id, team_id), action, plan)
        if decision.allowed:
            return
        record_audit(
            session,
            actor=actor,
            action=action.value,
            now=now,
            team_id=team_id,
            target=target,
            after={"reason": decision.reason_key, **decision.reason_params},
            outcome="refused",
        )
    raise PermissionDenied(action, decision)
