"""Audit trail queries for the Audit screen: filter by day, action and user, newest first, paged in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from sqlalchemy import Engine, and_, func, or_
from sqlmodel import select

from core.auth.audit import Actor, redact
from core.auth.audit_log import AuditEntry
from core.auth.permissions import Action, require
from core.store.db import session_scope
from core.store.models import AuditEvent, Membership

AUDIT_PAGE_SIZE = 50


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


@dataclass(frozen=True)
class AuditPage:
    """One page of matching events, newest first, with the count of all matches."""

    entries: list[AuditEntry]
    total: int
    page: int
    page_size: int

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total // self.page_size))


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
    if filters.start is not None:
        start = datetime.combine(filters.start, time.min, tzinfo=filters.zone)
        conditions.append(AuditEvent.created_at >= start.astimezone(timezone.utc))
    if filters.end is not None:
        end = datetime.combine(filters.end + timedelta(days=1), time.min, tzinfo=filters.zone)
        conditions.append(AuditEvent.created_at < end.astimezone(timezone.utc))
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
        page_count = max(1, -(-total // page_size))
        page = min(max(1, page), page_count)
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
