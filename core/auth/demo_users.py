"""The demo team's four users, one per role, for one-click sign-in in demo mode."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from core.auth.audit import Actor, record_audit
from core.auth.errors import TeamNotFoundError
from core.auth.users import find_user
from core.store.db import session_scope
from core.store.models import BookingPage, Membership, Role, Team, User

logger = logging.getLogger(__name__)

# Role, email and display name of each demo user. The accounts have no password,
# so they can sign in only through the demo buttons, which demo mode alone offers.
DEMO_USERS: tuple[tuple[Role, str, str], ...] = (
    (Role.OWNER, "owner@demo.example", "Demo Owner"),
    (Role.ADMIN, "admin@demo.example", "Demo Admin"),
    (Role.MANAGER, "manager@demo.example", "Demo Manager"),
    (Role.MEMBER, "member@demo.example", "Demo Member"),
)

# The demo team's "Intro call" page: the same value as core.demo_seed.INTRO_EVENT_TYPE_UID.
# core.demo_seed calls seed_demo_users, so importing it here would be circular.
INTRO_EVENT_TYPE_UID = "ETDEMOINTRO"


def demo_email(role: Role | str) -> str:
    """Return the email address of the demo user with role; raise ValueError for an unknown role."""
    requested = Role(role)
    return next(email for demo_role, email, _ in DEMO_USERS if demo_role == requested)


def seed_demo_users(engine: Engine, team_id: int, now: datetime) -> None:
    """Create the demo users and their memberships unless they exist, and give the member the Intro call page.

    Running it again changes nothing, and it keeps roles changed during the demo.
    Raises TeamNotFoundError when the team does not exist.
    """
    with session_scope(engine) as session:
        if session.get(Team, team_id) is None:
            raise TeamNotFoundError(f"team {team_id} not found", team_id=team_id)

        created: list[str] = []
        members: dict[Role, int] = {}
        for role, email, display_name in DEMO_USERS:
            user = find_user(session, email)
            if user is None:
                user = User(email=email, display_name=display_name, password_hash=None, created_at=now)
                session.add(user)
                session.flush()
            members[role] = user.id

            joined = session.exec(
                select(Membership).where(Membership.team_id == team_id, Membership.user_id == user.id)
            ).first()
            if joined is None:
                session.add(Membership(team_id=team_id, user_id=user.id, role=role, created_at=now))
                created.append(f"{email} ({role.value})")

        intro = session.exec(
            select(BookingPage).where(
                BookingPage.team_id == team_id, BookingPage.event_type_uid == INTRO_EVENT_TYPE_UID
            )
        ).first()
        if intro is not None and intro.owner_user_id is None:
            intro.owner_user_id = members[Role.MEMBER]
            session.add(intro)

        if created:
            record_audit(
                session,
                actor=Actor.system(),
                action="demo.users_seeded",
                now=now,
                team_id=team_id,
                target="demo",
                after={"members": created},
            )
            logger.info("added %d demo users to team %s", len(created), team_id)
