"""Fixtures for webhook and sync tests: a store runtime, a team with a signing secret, its booking page,
and the same team connected to the demo org.

Test modules import the fixtures they use by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.config import load_settings
from core.runtime import Runtime, build_runtime
from core.store.db import session_scope
from core.store.models import BookingPage, Team
from core.web.health import health_routes
from core.web.hooks import hook_routes
from core.webhooks.jicoo import SIGNATURE_HEADER, sign

SAMPLES_DIR = Path(__file__).resolve().parent / "samples" / "jicoo"
TEAM_SLUG = "inside-sales"
SIGNING_SECRET = "whsec-sync-tests"
CALLBACK_URL = "http://127.0.0.1:8501/oauth/salesforce/callback"
SAMPLE_EVENT_TYPE = "ETDEMOINTRO"
CREATED = datetime(2026, 11, 30, tzinfo=UTC)


@dataclass(frozen=True)
class TeamInfo:
    runtime: Runtime
    id: int
    slug: str
    secret: str


def sample_body(name: str) -> bytes:
    """Return the raw bytes of a sample webhook by file name."""
    return (SAMPLES_DIR / name).read_bytes()


def sample_payload(name: str) -> dict[str, Any]:
    return json.loads(sample_body(name))


def signed_headers(body: bytes, secret: str = SIGNING_SECRET, when: datetime | None = None) -> dict[str, str]:
    """Return the headers of a delivery of body signed with secret at when (default: now)."""
    timestamp = int((when or datetime.now(UTC)).timestamp())
    return {SIGNATURE_HEADER: sign(body, secret, timestamp), "content-type": "application/json"}


def hooks_client(runtime: Runtime) -> TestClient:
    """Return a TestClient over the webhook and health routes of runtime."""
    return TestClient(Starlette(routes=[*hook_routes(runtime), *health_routes(runtime)]))


@pytest.fixture
def store_runtime(tmp_path: Path) -> Runtime:
    """A runtime over a migrated SQLite store in tmp_path, with no worker."""
    settings = load_settings({"APP_DATA_DIR": str(tmp_path), "APP_PUBLIC_URL": "http://127.0.0.1:8501"})
    runtime = build_runtime(settings)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def webhook_team(store_runtime: Runtime) -> TeamInfo:
    """A team whose webhook endpoint has SIGNING_SECRET, not connected to Salesforce."""
    with session_scope(store_runtime.engine) as session:
        team = Team(
            slug=TEAM_SLUG,
            name="Inside sales",
            webhook_secret_enc=store_runtime.box.encrypt(SIGNING_SECRET),
            created_at=CREATED,
        )
        session.add(team)
        session.flush()
        team_id = team.id
    return TeamInfo(runtime=store_runtime, id=team_id, slug=TEAM_SLUG, secret=SIGNING_SECRET)


@pytest.fixture
def intro_page(webhook_team: TeamInfo) -> BookingPage:
    """The booking page of the sample webhooks, with integration on and company and phone mapped."""
    with session_scope(webhook_team.runtime.engine) as session:
        page = BookingPage(
            team_id=webhook_team.id,
            name="Intro call",
            event_type_uid=SAMPLE_EVENT_TYPE,
            integration_enabled=True,
            answer_mapping={"会社名": "Company", "電話番号": "Phone"},
            updated_at=CREATED,
        )
        session.add(page)
        session.flush()
        return page


@pytest.fixture
def connected_team(webhook_team: TeamInfo, demo_org) -> TeamInfo:
    """The webhook team connected to the demo org through the OAuth web-server flow."""
    from core.demo_org.constants import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
    from core.salesforce import oauth

    runtime = webhook_team.runtime
    now = datetime.now(UTC)
    oauth.save_credentials(
        runtime.engine, runtime.box, webhook_team.id, demo_org.url, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
    )
    demo_org.set_callback_urls([CALLBACK_URL])

    authorize_url = oauth.start_authorization(runtime.engine, runtime.box, webhook_team.id, CALLBACK_URL, now)
    query = parse_qs(urlsplit(authorize_url).query)
    state = query["state"][0]
    code = demo_org.authorize_code(CALLBACK_URL, query["code_challenge"][0], state)

    oauth.complete_authorization(runtime.engine, runtime.box, state, code, now)
    return webhook_team
