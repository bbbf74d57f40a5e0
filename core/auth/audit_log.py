"""Reading the audit trail of a team, for admins and owners: filter by day, action and user, newest first, paged in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from typing import Any

from sqlalchemy import Engine, and_, func, or_
from sqlmodel import select

from core.auth.audit import Actor, redact
from core.auth.permissions import Action, require
from core.store.db import session_scope
from core.store.models import AuditEvent, Membership
from core.store.paging import Page, clamp_page, day_range_conditions

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
AUDIT_PAGE_SIZE = 50

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

    query = select(AuditEvent).where(_team_scope(team_id))
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)

    with session_scope(engine) as session:
        events = session.exec(query.order_by(AuditEvent.id.desc()).limit(limit)).all()
        return [_entry(event) for event in events]


@dataclass(frozen=True)
class AuditFilter:
    """The audit events to show; empty fields match every event.

    ``start`` and ``end`` are calendar days in ``zone``, both included.
    """

    start: date | None = None
    end: date | None = None
    actions: tuple[str, ...] = ()
    actor_email: str = ""
    zone: tzinfo = timezone.utc


class AuditPage(Page[AuditEntry]):
    """One page of matching events, newest first, with the count of all matches."""


def _team_scope(team_id: int) -> Any:
    # Sign-ins, failures and lockouts are stored without a team; they belong to
    # the trail of every team their user is a member of now.
    members = select(Membership.user_id).where(Membership.team_id == team_id)
    return or_(
        AuditEvent.team_id == team_id,
        and_(AuditEvent.team_id.is_(None), AuditEvent.actor_user_id.in_(members)),
    )


def _conditions(team_id: int, filters: AuditFilter) -> list[Any]:
    conditions: list[Any] = [_team_scope(team_id)]
    conditions += day_range_conditions(AuditEvent.created_at, filters.start, filters.end, filters.zone)
    if filters.actions:
        conditions.append(AuditEvent.action.in_(filters.actions))
    if filters.actor_email:
        conditions.append(AuditEvent.actor_email == filters.actor_email)
    return conditions


def fetch_audit_page(
    engine: Engine,
    actor: Actor,
    team_id: int,
    filters: AuditFilter,
    now: datetime,
    page: int = 1,
    page_size: int = AUDIT_PAGE_SIZE,
) -> AuditPage:
    """Return one page (1-based) of the team's matching audit events, newest first.

    A page past the last one returns the last page. Raises PermissionDenied,
    after auditing the refusal, unless actor is an admin or owner of the team.
    """
    require(engine, actor, team_id, Action.VIEW_AUDIT, now, target=f"team {team_id}")
    conditions = _conditions(team_id, filters)

    with session_scope(engine) as session:
        total = session.exec(select(func.count()).select_from(AuditEvent).where(*conditions)).one()
        page = clamp_page(page, total, page_size)
        rows = session.exec(
            select(AuditEvent)
            .where(*conditions)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).all()
        entries = [_entry(row) for row in rows]
    return AuditPage(entries=entries, total=total, page=page, page_size=page_size)


def audit_choices(engine: Engine, actor: Actor, team_id: int, now: datetime) -> tuple[list[str], list[str]]:
    """Return the distinct actions and actor emails in the team's trail, sorted, for the filter widgets.

    Raises PermissionDenied unless actor is an admin or owner of the team.
    """
    require(engine, actor, team_id, Action.VIEW_AUDIT, now, target=f"team {team_id}")
    scope = _team_scope(team_id)
    with session_scope(engine) as session:
        actions = session.exec(select(AuditEvent.action).where(scope).distinct().order_by(AuditEvent.action)).all()
        emails = session.exec(
            select(AuditEvent.actor_email).where(scope).distinct().order_by(AuditEvent.actor_email)
        ).all()
    return list(actions), [email for email in emails if email]



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
