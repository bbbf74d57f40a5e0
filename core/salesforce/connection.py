"""Build a SalesforceClient from a team's stored connection, with token refresh and usage saving."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import requests
from sqlalchemy import Engine
from sqlmodel import select

from core.salesforce.client import SalesforceClient
from core.salesforce.errors import OAuthError, ReconnectRequired
from core.salesforce.oauth import refresh_access_token
from core.secrets import Secret, SecretBox
from core.store.db import session_scope
from core.store.models import ConnectionStatus, SalesforceConnection

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def open_client(
    engine: Engine,
    box: SecretBox,
    team_id: int,
    http: requests.Session | None = None,
    *,
    clock: Callable[[], datetime] = _utc_now,
) -> SalesforceClient:
    """Return a client for the team's connected org.

    The client refreshes an expired access token once per request and saves the
    new token encrypted. It also saves every Sforce-Limit-Info reading as the
    connection's API usage. Raises ReconnectRequired when the team has no
    connected org or its tokens are gone.
    """
    connection = _load(engine, team_id)
    if (
        connection is None
        or connection.status != ConnectionStatus.CONNECTED
        or not connection.access_token_enc
        or not connection.refresh_token_enc
        or not connection.instance_url
    ):
        status = connection.status if connection is not None else "not set up"
        raise ReconnectRequired(f"team {team_id} has no connected Salesforce org (status: {status})")

    def refresh() -> Secret:
        return refresh_connection(engine, box, team_id, http)

    def save_usage(used: int, limit: int) -> None:
        _save_usage(engine, team_id, used, limit, clock())

    return SalesforceClient(
        connection.instance_url,
        box.decrypt(connection.access_token_enc),
        api_version=connection.api_version,
        refresh=refresh,
        on_usage=save_usage,
        http=http,
        user_id=connection.user_id,
    )


def refresh_connection(engine: Engine, box: SecretBox, team_id: int, http: requests.Session | None = None) -> Secret:
    """Get a new access token for the team, store it encrypted and return it.

    When Salesforce rejects the refresh (invalid_grant for a revoked or expired
    refresh token, invalid_client after a secret change), the connection is
    marked needs_reconnect and ReconnectRequired is raised with the OAuth error
    code. TransportError and ServerUnavailableError pass through unchanged.
    """
    connection = _load(engine, team_id)
    if connection is None or not connection.refresh_token_enc:
        raise ReconnectRequired(f"team {team_id} has no refresh token: connect the org again")

    try:
        token = refresh_access_token(
            connection.login_url,
            connection.consumer_key,
            box.decrypt(connection.consumer_secret_enc),
            box.decrypt(connection.refresh_token_enc),
            http,
        )
    except OAuthError as exc:
        _mark_needs_reconnect(engine, team_id, exc.error_code or "oauth_error")
        logger.warning("refresh failed for team %s with %s, so the org must be connected again", team_id, exc.error_code)
        raise ReconnectRequired(
            f"Salesforce rejected the refresh token: {exc.message}",
            status=exc.status,
            error_code=exc.error_code,
            method=exc.method,
            path=exc.path,
            next_step_params={"login_url": connection.login_url},
        ) from exc

    with session_scope(engine) as session:
        stored = session.get(SalesforceConnection, connection.id)
        stored.access_token_enc = box.encrypt(token.access_token)
        if token.refresh_token is not None:
            stored.refresh_token_enc = box.encrypt(token.refresh_token)
        if token.instance_url:
            stored.instance_url = token.instance_url
        session.add(stored)
    logger.info("refreshed the access token of team %s", team_id)
    return token.access_token


def _load(engine: Engine, team_id: int) -> SalesforceConnection | None:
    with session_scope(engine) as session:
        return session.exec(select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)).first()


def _mark_needs_reconnect(engine: Engine, team_id: int, error_code: str) -> None:
    with session_scope(engine) as session:
        stored = session.exec(select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)).one()
        stored.status = ConnectionStatus.NEEDS_RECONNECT
        stored.last_error_code = error_code
        session.add(stored)


def _save_usage(engine: Engine, team_id: int, used: int, limit: int, now: datetime) -> None:
    with session_scope(engine) as session:
        stored = session.exec(select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)).one()
        stored.api_usage_used = used
        stored.api_usage_max = limit
        stored.api_usage_at = now
        session.add(stored)
