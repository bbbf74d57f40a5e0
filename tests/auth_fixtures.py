"""Fixtures for sign-in and membership tests: a team with one user per role, and audit helpers.

Test modules import the fixtures they use by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from core.auth.audit import Actor
from core.auth.users import UserView, create_user
from core.store.db import session_scope
from core.store.models import AuditEvent, Membership, Plan, Role, Team

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
TEAM_SLUG = "inside-sales"


@dataclass(frozen=True)
class RoleTeam:
    """A team on the Team plan with one user per role; only the owner has a password."""

    engine: Engine
    id: int
    users: dict[Role, UserView]

    def actor(self, role: Role) -> Actor:
        user = self.users[role]
        return Actor(user.id, user.email)


def add_team(engine: Engine, slug: str, plan: Plan = Plan.TEAM) -> int:
    with session_scope(engine) as session:
        team = Team(slug=slug, name=slug.replace("-", " ").title(), plan=plan, created_at=NOW)
        session.add(team)
        session.flush()
        return team.id


def add_membership(engine: Engine, team_id: int, user_id: int, role: Role) -> None:
    with session_scope(engine) as session:
        session.add(Membership(team_id=team_id, user_id=user_id, role=role, created_at=NOW))


def audit_rows(engine: Engine, action: str | None = None) -> list[AuditEvent]:
    """Return the stored audit events, oldest first, optionally of one action."""
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    with session_scope(engine) as session:
        return list(session.exec(query).all())


@pytest.fixture
def role_team(empty_store: Engine) -> RoleTeam:
    team_id = add_team(empty_store, TEAM_SLUG)
    users: dict[Role, UserView] = {}
    for role in Role:
        password = PASSWORD if role == Role.OWNER else None
        user = create_user(empty_store, f"{role.value}@example.com", f"{role.value.title()} User", password, NOW)
        add_membership(empty_store, team_id, user.id, role)
        users[role] = user
    return RoleTeam(engine=empty_store, id=team_id, users=users)


@pytest.fixture
def signed_up_user(empty_store: Engine) -> UserView:
    """A user with PASSWORD and no team."""
    return create_user(empty_store, "Hanako.Sato@Example.com ", "Hanako Sato", PASSWORD, NOW)
