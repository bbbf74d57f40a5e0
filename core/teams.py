"""Teams: listing, creation and the signing secret of each team's webhook endpoint."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from core.auth.audit import Actor, record_audit
from core.auth.permissions import Action, require
from core.i18n import LocalizedValueError
from core.secrets import SecretBox
from core.store.db import session_scope
from core.store.models import Membership, Plan, Role, Team

logger = logging.getLogger(__name__)

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")

# Shorter secrets are easy to guess; the scheduler's own secrets are much longer.
MIN_WEBHOOK_SECRET_LENGTH = 16


class TeamSettingError(LocalizedValueError):
    """A team setting is invalid; ``message_key`` names the i18n message to show."""


@dataclass(frozen=True)
class TeamView:
    """A team as pages show it: the secret column reduced to whether one is set."""

    id: int
    slug: str
    name: str
    has_webhook_secret: bool
    plan: str = Plan.FREE


def _view(team: Team) -> TeamView:
    return TeamView(
        id=team.id,
        slug=team.slug,
        name=team.name,
        has_webhook_secret=bool(team.webhook_secret_enc),
        plan=team.plan,
    )


def list_teams(engine: Engine) -> list[TeamView]:
    """Return every team, oldest first."""
    with session_scope(engine) as session:
        teams = session.exec(select(Team).order_by(Team.id)).all()
        return [_view(team) for team in teams]


def get_team(engine: Engine, team_id: int) -> TeamView | None:
    """Return the team with team_id, or None when it does not exist."""
    with session_scope(engine) as session:
        team = session.get(Team, team_id)
        return _view(team) if team else None


def create_team(engine: Engine, name: str, slug: str, now: datetime, *, owner: Actor | None = None) -> TeamView:
    """Insert a team and return it; owner, when given, becomes its first owner.

    Raises TeamSettingError when the name is empty, the slug is not lower-case
    letters, digits and hyphens, or another team already uses the slug.
    """
    name = name.strip()
    slug = slug.strip().lower()
    if not name or len(name) > 200:
        raise TeamSettingError(
            "team name must be 1 to 200 characters", message_key="nav.team.error.name"
        )
    if not SLUG_PATTERN.match(slug):
        raise TeamSettingError(
            f"team slug {slug!r} is invalid: use 1 to 64 lower-case letters, digits and hyphens",
            message_key="nav.team.error.slug",
            slug=slug,
        )

    with session_scope(engine) as session:
        if session.exec(select(Team).where(Team.slug == slug)).first():
            raise TeamSettingError(
                f"team slug {slug!r} is already in use: choose another one",
                message_key="nav.team.error.slug_taken",
                slug=slug,
            )
        team = Team(name=name, slug=slug, created_at=now)
        session.add(team)
        session.flush()
        if owner is not None and owner.user_id is not None:
            session.add(Membership(team_id=team.id, user_id=owner.user_id, role=Role.OWNER, created_at=now))
            record_audit(
                session,
                actor=owner,
                action="team.created",
                now=now,
                team_id=team.id,
                target=f"team {team.id} ({slug})",
                after={"name": name, "slug": slug, "role": Role.OWNER.value},
            )
        logger.info("created team %s", team.id)
        return _view(team)


def set_webhook_secret(
    engine: Engine, box: SecretBox, team_id: int, secret: str, now: datetime, *, actor: Actor
) -> None:
    """Store the team's webhook signing secret encrypted, replacing any earlier one.

    The audit event records that the secret was set or replaced, never its value.
    Raises PermissionDenied when actor may not edit the team's booking pages,
    TeamSettingError when the secret is shorter than MIN_WEBHOOK_SECRET_LENGTH
    or contains whitespace, and LookupError when the team does not exist.
    """
    require(engine, actor, team_id, Action.EDIT_BOOKING_PAGE, now, target="webhook signing secret")
    secret = secret.strip()
    if len(secret) < MIN_WEBHOOK_SECRET_LENGTH or any(ch.isspace() for ch in secret):
        raise TeamSettingError(
            f"the signing secret must be at least {MIN_WEBHOOK_SECRET_LENGTH} characters without spaces",
            message_key="booking_pages.webhook.error.secret",
            min_length=MIN_WEBHOOK_SECRET_LENGTH,
        )

    with session_scope(engine) as session:
        team = session.get(Team, team_id)
        if team is None:
            raise LookupError(f"team {team_id} not found")
        replaced = bool(team.webhook_secret_enc)
        team.webhook_secret_enc = box.encrypt(secret)
        session.add(team)
        record_audit(
            session,
            actor=actor,
            action="team.webhook_secret_replaced" if replaced else "team.webhook_secret_set",
            now=now,
            team_id=team_id,
            target="webhook signing secret",
        )
    logger.info("replaced the webhook signing secret of team %s", team_id)


def read_webhook_secret(engine: Engine, box: SecretBox, team_id: int) -> str | None:
    """Return the team's decrypted signing secret, or None when none is set."""
    with session_scope(engine) as session:
        team = session.get(Team, team_id)
        if team is None or not team.webhook_secret_enc:
            return None
        return box.decrypt(team.webhook_secret_enc).reveal()


def webhook_url(public_url: str, slug: str) -> str:
    """Return the URL the scheduler sends the team's booking webhooks to."""
    return f"{public_url.rstrip('/')}/hooks/jicoo/{slug}"
