"""A team's Salesforce connection as the pages show it, without its secret columns."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from core.auth.audit import Actor, record_audit
from core.auth.permissions import Action, require
from core.salesforce.oauth import ClientCredentials
from core.secrets import SecretBox
from core.store.db import session_scope
from core.store.models import ConnectionStatus, OAuthState, SalesforceConnection, Team, User

# The scope that reaches Account Engagement; requesting it needs the Account Engagement permission too.
PARDOT_SCOPE = "pardot_api"

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
    now: datetime,
    *,
    actor: Actor,
) -> None:
    """Save the team's External Client App credentials; a None or blank secret keeps the stored one.

    Raises PermissionDenied when actor may not manage the team's connection,
    and ValueError when no secret is given and none is stored.
    """
    from core.salesforce.oauth import save_credentials

    require(engine, actor, team_id, Action.MANAGE_CONNECTION, now, target="Salesforce credentials")
    before = read_connection(engine, team_id)
    secret_replaced = bool((consumer_secret or "").strip())
    if not secret_replaced:
        consumer_secret = _stored_consumer_secret(engine, box, team_id)
        if consumer_secret is None:
            raise ValueError(f"team {team_id} has no stored Consumer Secret: enter the Consumer Secret")
    save_credentials(engine, box, team_id, login_url, consumer_key, consumer_secret)

    old_values = {"login_url": before.login_url, "consumer_key": before.consumer_key} if before else {}
    new_values = {"login_url": login_url, "consumer_key": consumer_key.strip()}
    changed = [name for name, value in new_values.items() if old_values.get(name) != value]
    if not changed and not secret_replaced:
        return
    with session_scope(engine) as session:
        record_audit(
            session,
            actor=actor,
            action="salesforce.credentials_saved",
            now=now,
            team_id=team_id,
            target="Salesforce credentials",
            before={name: old_values.get(name) for name in changed} or None,
            after={name: new_values[name] for name in changed} | (
                {"consumer_secret": "replaced"} if secret_replaced else {}
            ),
        )


def start_connection(
    engine: Engine,
    box: SecretBox,
    team_id: int,
    redirect_uri: str,
    now: datetime,
    *,
    actor: Actor,
    scopes: Sequence[str] | None = None,
    credentials: ClientCredentials | None = None,
) -> str:
    """Start the OAuth authorization as actor and return the authorize URL to open.

    The pending authorization remembers actor, so only actor can complete it.
    Requesting the pardot_api scope also needs the Account Engagement permission.
    credentials are new External Client App credentials to try; a None secret
    in them means the saved one. They replace the saved credentials only when
    the authorization completes, so a typing error never breaks a working
    connection. Without them the saved credentials are used.

    Raises PermissionDenied, OAuthError (credentials_missing) when no
    credentials are given or saved, and ValueError for a blank Consumer Key or
    a missing Consumer Secret.
    """
    from core.salesforce import oauth

    require(engine, actor, team_id, Action.MANAGE_CONNECTION, now, target="Salesforce connection")
    options = {}
    if scopes is not None:
        if PARDOT_SCOPE in scopes:
            require(engine, actor, team_id, Action.MANAGE_ACCOUNT_ENGAGEMENT, now, target="Salesforce connection")
        options["scopes"] = scopes
    return oauth.start_authorization(
        engine, box, team_id, redirect_uri, now, actor=actor, credentials=credentials, **options
    )


def disconnect_team(engine: Engine, box: SecretBox, team_id: int, now: datetime, *, actor: Actor) -> None:
    """Revoke the team's refresh token at Salesforce, delete its stored tokens and audit it.

    Other teams linked to the same org keep their own refresh tokens, so they
    stay connected. Raises PermissionDenied when actor may not manage the
    connection, and the TransportError or ServerUnavailableError of
    oauth.disconnect when the revocation did not get through.
    """
    from core.salesforce import oauth

    require(engine, actor, team_id, Action.MANAGE_CONNECTION, now, target="Salesforce connection")
    before = read_connection(engine, team_id)
    oauth.disconnect(engine, box, team_id)
    with session_scope(engine) as session:
        record_audit(
            session,
            actor=actor,
            action="salesforce.disconnected",
            now=now,
            team_id=team_id,
            target=f"Salesforce org {before.org_id}" if before and before.org_id else "Salesforce connection",
            before={"org_id": before.org_id, "username": before.username} if before else None,
        )


@dataclass(frozen=True)
class PendingConnect:
    """The team and the console user of an authorization that has not come back yet."""

    team_id: int
    started_by: Actor


def find_pending_connect(engine: Engine, state: str) -> PendingConnect | None:
    """Return who started the pending authorization with state, or None for an unknown state.

    Read before the callback completes the authorization, which deletes the
    pending row even when the exchange fails. An authorization started
    without a console user, as the demo seeder does, belongs to the system.
    """
    if not state:
        return None
    with session_scope(engine) as session:
        pending = session.get(OAuthState, state)
        if pending is None:
            return None
        user = session.get(User, pending.user_id) if pending.user_id is not None else None
        started_by = Actor(user.id, user.email) if user is not None else Actor.system()
        return PendingConnect(team_id=pending.team_id, started_by=started_by)


def record_connect_failure(engine: Engine, pending: PendingConnect, error_code: str, now: datetime) -> None:
    """Audit a Salesforce authorization that ended without a connection, as its starter's failed attempt.

    Only the short error code is stored (such as invalid_client or
    access_denied): never the code, the state, a token or Salesforce's
    error description.
    """
    with session_scope(engine) as session:
        record_audit(
            session,
            actor=pending.started_by,
            action="salesforce.connect_failed",
            now=now,
            team_id=pending.team_id,
            target="Salesforce connection",
            after={"error_code": error_code},
            outcome="failed",
        )


def teams_with_same_app(engine: Engine, team_id: int, login_url: str, consumer_key: str) -> list[tuple[int, str]]:
    """Return (id, name) of the other teams holding a refresh token from the same login URL and Consumer Key.

    Such a team was most likely authorized by the same Salesforce user, and
    Salesforce keeps only a few refresh tokens per user and app, revoking the
    oldest without notice, so the pages warn before another authorization.
    """
    with session_scope(engine) as session:
        rows = session.exec(
            select(Team.id, Team.name)
            .join(SalesforceConnection, SalesforceConnection.team_id == Team.id)
            .where(
                SalesforceConnection.team_id != team_id,
                SalesforceConnection.login_url == login_url,
                SalesforceConnection.consumer_key == consumer_key.strip(),
                SalesforceConnection.refresh_token_enc.is_not(None),
            )
            .order_by(Team.name)
        ).all()
        return [(row[0], row[1]) for row in rows]


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


def teams_on_same_org(engine: Engine, team_id: int) -> list[tuple[int, str]]:
    """Return (id, name) of the other connected teams linking the org team_id last connected to.

    Unlike core.auth.orgs.teams_sharing_org this works while team_id itself
    needs a reconnect, because the stored org id outlives the tokens.
    """
    with session_scope(engine) as session:
        own = session.exec(select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)).first()
        if own is None or not own.org_id:
            return []
        rows = session.exec(
            select(Team.id, Team.name)
            .join(SalesforceConnection, SalesforceConnection.team_id == Team.id)
            .where(
                SalesforceConnection.team_id != team_id,
                SalesforceConnection.org_id == own.org_id,
                SalesforceConnection.status == ConnectionStatus.CONNECTED,
            )
            .order_by(Team.name)
        ).all()
        return [(row[0], row[1]) for row in rows]
