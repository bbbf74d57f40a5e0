"""Reading the audit trail of a team, for admins and owners."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, or_
from sqlmodel import select

from core.auth.audit import Actor, redact
from core.auth.permissions import Action, require
from core.store.db import session_scope
from core.store.models import AuditEvent, Membership

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

# The audit actions core.auth records; each has a name under auth_core.action in the catalog.
ACCOUNT_ACTIONS = (
    "user.created",
    "user.password_changed",
    "member.added",
    "member.invited",
    "member.removed",
    "member.role_changed",
    "team.plan_changed",
    "auth.sign_in",
    "auth.sign_in_failed",
    "auth.sign_in_refused",
    "auth.locked",
    "auth.sign_out",
    "demo.users_seeded",
)


@dataclass(frozen=True)
class AuditEntry:
    """One audit event as the audit screen shows it."""

    id: int
    created_at: datetime
    team_id: int | None
    actor_user_id: int | None
    actor_email: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    outcome: str


def list_audit_events(
    engine: Engine,
    actor: Actor,
    team_id: int,
    now: datetime,
    *,
    limit: int = DEFAULT_PAGE_SIZE,
    before_id: int | None = None,
    action_prefix: str | None = None,
    outcome: str | None = None,
) -> list[AuditEntry]:
    """Return the team's audit events, newest first, after checking actor may read them.

    The team's events include the sign-ins, sign-outs, failures and lockouts of
    its current members, which are stored without a team. before_id pages back
    from an earlier result; action_prefix such as "member." or "auth." and
    outcome ("done", "refused", "failed") narrow the list. Raises
    PermissionDenied unless actor is an admin or owner of the team.
    """
    require(engine, actor, team_id, Action.VIEW_AUDIT, now, target=f"team {team_id}")
    limit = max(1, min(limit, MAX_PAGE_SIZE))

    members = select(Membership.user_id).where(Membership.team_id == team_id)
    query = select(AuditEvent).where(
        or_(
            AuditEvent.team_id == team_id,
            and_(AuditEvent.team_id.is_(None), AuditEvent.actor_user_id.in_(members)),
        )
    )
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)

    with session_scope(engine) as session:
        events = session.exec(query.order_by(AuditEvent.id.desc()).limit(limit)).all()
        return [_entry(event) for event in events]


def audit_action_key(action: str) -> str | None:
    """Return the catalog key naming one of ACCOUNT_ACTIONS, or None for other actions."""
    return f"auth_core.action.{action}" if action in ACCOUNT_ACTIONS else None


def _entry(event: AuditEvent) -> AuditEntry:
    # Values were redacted when recorded; masking again also covers rows written
    # before a secret-looking key name was added to the list.
    return AuditEntry(
        id=event.id,
        created_at=event.created_at,
        team_id=event.team_id,
        actor_user_id=event.actor_user_id,
        actor_email=event.actor_email,
        action=event.action,
        target=event.target,
        before=redact(event.before),
        after=redact(event.after),
        outcome=event.outcome,
    )
