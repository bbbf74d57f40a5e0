"""Teams that link the same Salesforce org, and the refresh-token limit they share."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import select

from core.auth.members import team_view
from core.store.db import session_scope
from core.store.models import ConnectionStatus, SalesforceConnection, Team
from core.teams import TeamView

# Salesforce keeps a limited number of refresh tokens per user for one app and,
# past it, revokes the oldest without notice. Practitioners report the limit as
# five; Salesforce's documentation does not state it.
# NOTE: tokens that other tools issue with the same consumer key count too, and
# the console cannot see them, so the limit may be reached with fewer teams.
REFRESH_TOKENS_PER_USER_AND_APP = 5


@dataclass(frozen=True)
class OrgSharing:
    """The other teams on a team's Salesforce org, and the refresh tokens they share with it."""

    org_id: str | None
    # Other connected teams that link the same org, by name.
    teams: list[TeamView]
    # Connected teams, this one included, whose refresh token belongs to the same
    # Salesforce user and consumer key, so they count against one limit.
    same_user_and_app: int
    limit: int = REFRESH_TOKENS_PER_USER_AND_APP

    @property
    def at_limit(self) -> bool:
        """Return whether one more authorization would make Salesforce revoke the oldest token."""
        return self.same_user_and_app >= self.limit


def teams_sharing_org(engine: Engine, team_id: int) -> list[TeamView]:
    """Return the other connected teams that link the same org id as team_id, by name."""
    return org_sharing(engine, team_id).teams


def org_sharing(engine: Engine, team_id: int) -> OrgSharing:
    """Return the teams sharing team_id's org and how many use its Salesforce user and app.

    A team without a connected org gets an empty result.
    """
    with session_scope(engine) as session:
        own = session.exec(
            select(SalesforceConnection).where(
                SalesforceConnection.team_id == team_id,
                SalesforceConnection.status == ConnectionStatus.CONNECTED,
            )
        ).first()
        if own is None or not own.org_id:
            return OrgSharing(org_id=None, teams=[], same_user_and_app=0)

        rows = session.exec(
            select(Team, SalesforceConnection)
            .join(SalesforceConnection, SalesforceConnection.team_id == Team.id)
            .where(
                SalesforceConnection.org_id == own.org_id,
                SalesforceConnection.status == ConnectionStatus.CONNECTED,
            )
            .order_by(Team.name, Team.id)
        ).all()

    others = [team_view(team) for team, _ in rows if team.id != team_id]
    same_user_and_app = sum(
        1
        for _, connection in rows
        if connection.user_id == own.user_id and connection.consumer_key == own.consumer_key
    )
    return OrgSharing(org_id=own.org_id, teams=others, same_user_and_app=same_user_and_app)
