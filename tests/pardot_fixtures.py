"""Fixtures for Account Engagement tests: teams connected to the demo org with or without pardot_api.

Test modules import the fixtures they use by name, together with those of
tests.sync_fixtures (store_runtime, webhook_team) and tests.demo_org_fixtures
(demo_org, demo_org_server).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from core.demo_org import DEMO_BUSINESS_UNIT_ID, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from core.pardot import SCOPES_WITH_ACCOUNT_ENGAGEMENT, Environment, save_business_unit
from core.runtime import Runtime
from core.salesforce import oauth
from tests.demo_org_fixtures import DemoOrgHandle
from tests.sync_fixtures import CALLBACK_URL, TeamInfo

SAVED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def connect_to_demo_org(runtime: Runtime, team_id: int, demo_org: DemoOrgHandle, scopes: Sequence[str]) -> None:
    """Connect a team to the demo org through the web-server flow, requesting scopes."""
    now = datetime.now(UTC)
    oauth.save_credentials(runtime.engine, runtime.box, team_id, demo_org.url, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET)
    demo_org.set_callback_urls([CALLBACK_URL])

    authorize_url = oauth.start_authorization(runtime.engine, runtime.box, team_id, CALLBACK_URL, now, scopes=scopes)
    query = parse_qs(urlsplit(authorize_url).query)
    state = query["state"][0]
    code = demo_org.authorize_code(CALLBACK_URL, query["code_challenge"][0], state, scope=query["scope"][0])

    oauth.complete_authorization(runtime.engine, runtime.box, state, code, now)


@pytest.fixture
def pardot_team(webhook_team: TeamInfo, demo_org: DemoOrgHandle) -> TeamInfo:
    """A team connected with pardot_api and the demo business unit saved."""
    runtime = webhook_team.runtime
    connect_to_demo_org(runtime, webhook_team.id, demo_org, SCOPES_WITH_ACCOUNT_ENGAGEMENT)
    save_business_unit(runtime.engine, webhook_team.id, DEMO_BUSINESS_UNIT_ID, Environment.DEMO, SAVED_AT)
    return webhook_team


@pytest.fixture
def team_without_pardot_scope(webhook_team: TeamInfo, demo_org: DemoOrgHandle) -> TeamInfo:
    """A team connected with api and refresh_token only, with the demo business unit saved."""
    runtime = webhook_team.runtime
    connect_to_demo_org(runtime, webhook_team.id, demo_org, ("api", "refresh_token"))
    save_business_unit(runtime.engine, webhook_team.id, DEMO_BUSINESS_UNIT_ID, Environment.DEMO, SAVED_AT)
    return webhook_team
