"""A team's Salesforce connection as the pages show it, without its secret columns."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from core.secrets import SecretBox
from core.store.db import session_scope
from core.store.models import ConnectionStatus, SalesforceConnection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionSummary:
    """The stored connection of one team; secrets are reduced to whether they are set."""

    team_id: int
    login_url: str
    consumer_key: str
    has_consumer_secret: bool
    status: str
    instance_url: str | None
    org_id: str | None
    user_id: str | None
    username: str | None
    api_version: str
    connected_at: datetime | None
    last_error_code: str | None
    api_usage_used: int | None
    api_usage_max: int | None
    api_usage_at: datetime | None

    @property
    def is_connected(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED and bool(self.instance_url)

    def record_url(self, sobject: str, record_id: str) -> str | None:
        """Return the Lightning record page URL, or None before the first connection."""
        if not self.instance_url:
            return None
        return f"{self.instance_url}/lightning/r/{sobject}/{record_id}/view"


def read_connection(engine: Engine, team_id: int) -> ConnectionSummary | None:
    """Return the team's connection summary, or None when no credentials were saved."""
    with session_scope(engine) as session:
        row = session.exec(
            select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)
        ).first()
        if row is None:
            return None
        return ConnectionSummary(
            team_id=row.team_id,
            login_url=row.login_url,
            consumer_key=row.consumer_key,
            has_consumer_secret=bool(row.consumer_secret_enc),
            status=row.status,
            instance_url=row.instance_url,
            org_id=row.org_id,
            user_id=row.user_id,
            username=row.username,
            api_version=row.api_version,
            connected_at=row.connected_at,
            last_error_code=row.last_error_code,
            api_usage_used=row.api_usage_used,
            api_usage_max=row.api_usage_max,
            api_usage_at=row.api_usage_at,
        )


def update_credentials(
    engine: Engine,
    box: SecretBox,
    team_id: int,
    login_url: str,
    consumer_key: str,
    consumer_secret: str | None,
) -> None:
    """Save the team's External Client App credentials; a None or blank secret keeps the stored one.

    Raises ValueError when no secret is given and none is stored.
    """
    from core.salesforce.oauth import save_credentials

    if not (consumer_secret or "").strip():
        consumer_secret = _stored_consumer_secret(engine, box, team_id)
        if consumer_secret is None:
            raise ValueError(f"team {team_id} has no stored Consumer Secret: enter the Consumer Secret")
    save_credentials(engine, box, team_id, login_url, consumer_key, consumer_secret)


def _stored_consumer_secret(engine: Engine, box: SecretBox, team_id: int) -> str | None:
    with session_scope(engine) as session:
        row = session.exec(
            select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)
        ).first()
        if row is None or not row.consumer_secret_enc:
            return None
        return box.decrypt(row.consumer_secret_enc).reveal()


def refresh_api_usage(engine: Engine, box: SecretBox, team_id: int, now: datetime) -> tuple[int, int]:
    """Read today's API usage from the org's /limits resource, store it and return (used, max).

    Raises the SalesforceError subclasses of the client, ReconnectRequired among
    them when the team has no usable connection.
    """
    from core.salesforce.connection import open_client

    client = open_client(engine, box, team_id)
    # DailyApiRequests counts the requests of the last 24 hours against the org's allocation.
    daily = client.limits().get("DailyApiRequests") or {}
    maximum = int(daily.get("Max") or 0)
    used = maximum - int(daily.get("Remaining") or 0)

    with session_scope(engine) as session:
        row = session.exec(
            select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)
        ).first()
        if row is not None:
            row.api_usage_used = used
            row.api_usage_max = maximum
            row.api_usage_at = now
            session.add(row)
    logger.info("team %s has used %s of %s daily API requests", team_id, used, maximum)
    return used, maximum
