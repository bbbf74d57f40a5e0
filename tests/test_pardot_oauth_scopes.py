"""OAuth scopes: start_authorization requests and stores them, complete_authorization stores the granted ones."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from core.demo_org import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from core.pardot import SCOPES_WITH_ACCOUNT_ENGAGEMENT
from core.salesforce import oauth
from core.store.db import session_scope
from core.store.models import OAuthState, SalesforceConnection
from tests.demo_org_fixtures import demo_org, demo_org_server  # noqa: F401
from tests.pardot_fixtures import connect_to_demo_org
from tests.sync_fixtures import CALLBACK_URL, store_runtime, webhook_team  # noqa: F401

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def team_with_credentials(webhook_team):
    runtime = webhook_team.runtime
    oauth.save_credentials(
        runtime.engine, runtime.box, webhook_team.id, "https://acme.my.salesforce.com", DEMO_CONSUMER_KEY,
        DEMO_CONSUMER_SECRET,
    )
    return webhook_team


def start(team, **kwargs) -> tuple[dict[str, str], OAuthState]:
    runtime = team.runtime
    url = oauth.start_authorization(runtime.engine, runtime.box, team.id, CALLBACK_URL, NOW, **kwargs)
    query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    with session_scope(runtime.engine) as session:
        pending = session.get(OAuthState, query["state"])
    return query, pending


def stored_scope(team) -> str | None:
    with session_scope(team.runtime.engine) as session:
        return session.exec(select(SalesforceConnection).where(SalesforceConnection.team_id == team.id)).one().scope


def test_default_scopes_are_unchanged(team_with_credentials):
    query, pending = start(team_with_credentials)

    assert query["scope"] == "api refresh_token"
    assert pending.scope == "api refresh_token"


def test_pardot_scope_is_requested_and_stored(team_with_credentials):
    query, pending = start(team_with_credentials, scopes=SCOPES_WITH_ACCOUNT_ENGAGEMENT)

    assert query["scope"] == "api refresh_token pardot_api"
    assert pending.scope == "api refresh_token pardot_api"


def test_repeated_scope_is_sent_once(team_with_credentials):
    query, _ = start(team_with_credentials, scopes=["api", "refresh_token", "api"])

    assert query["scope"] == "api refresh_token"


@pytest.mark.parametrize("scopes", [(), "api refresh_token", ("api", "refresh token"), ("api", "Pardot_API")])
def test_invalid_scopes_are_rejected(team_with_credentials, scopes):
    with pytest.raises(ValueError, match="scope"):
        start(team_with_credentials, scopes=scopes)

    with session_scope(team_with_credentials.runtime.engine) as session:
        assert session.exec(select(OAuthState)).all() == []


def test_connection_stores_granted_pardot_scope(webhook_team, demo_org):
    connect_to_demo_org(webhook_team.runtime, webhook_team.id, demo_org, SCOPES_WITH_ACCOUNT_ENGAGEMENT)

    assert stored_scope(webhook_team) == "api refresh_token pardot_api"


def test_connection_stores_granted_default_scope(webhook_team, demo_org):
    connect_to_demo_org(webhook_team.runtime, webhook_team.id, demo_org, ("api", "refresh_token"))

    assert stored_scope(webhook_team) == "api refresh_token"
