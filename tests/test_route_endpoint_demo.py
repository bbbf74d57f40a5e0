"""GET /route/{form_key} end to end: the demo team, its seeded routing and the demo org's Account Engagement API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.auth.audit import Actor
from core.config import load_settings
from core.demo_org import DEMO_BUSINESS_UNIT_ID, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from core.demo_seed import seed_demo_store
from core.demo_org.seed import NO_ACCESS_BUSINESS_UNIT_ID
from core.pardot import SCOPES_WITH_ACCOUNT_ENGAGEMENT, list_cached_forms, refresh_forms, save_business_unit
from core.routing.demo import DEMO_FORM_KEY, DEMO_ROUTED_FORM_ID, seed_demo_routing
from core.routing.log import RoutingOutcome
from core.routing.store import get_form_routing, save_rules, set_verify_with_prospect
from core.runtime import Runtime, build_runtime
from core.salesforce import oauth
from core.store.db import session_scope
from core.store.models import AccountEngagementConnection, FormRouting, Role, RoutingLog
from core.web.route import route_routes
from tests.demo_org_fixtures import TEST_CALLBACK_URL, demo_org, demo_org_server  # noqa: F401
from tests.routing_fixtures import add_user

PRODUCT_DEMO_URL = "http://127.0.0.1:8501/demo-booking/product-demo"
INTRO_URL = "http://127.0.0.1:8501/demo-booking/intro-call"
TARO = "taro.yamada@example.jp"  # prospect 3001: Japan, 1200 employees


@dataclass(frozen=True)
class DemoTeam:
    runtime: Runtime
    id: int
    owner: Actor
    client: TestClient


@pytest.fixture
def demo_team(tmp_path: Path, demo_org) -> DemoTeam:
    """The demo team connected to the demo org with pardot_api, with the demo routing seeded and forms fetched."""
    runtime = build_runtime(load_settings({"APP_DATA_DIR": str(tmp_path), "APP_PUBLIC_URL": "http://127.0.0.1:8501"}))
    now = datetime.now(UTC)
    team_id, _ = seed_demo_store(runtime, now)
    with session_scope(runtime.engine) as session:
        owner = add_user(session, team_id, "owner@demo-sales.example", Role.OWNER)

    oauth.save_credentials(runtime.engine, runtime.box, team_id, demo_org.url, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET)
    demo_org.set_callback_urls([TEST_CALLBACK_URL])
    authorize_url = oauth.start_authorization(
        runtime.engine, runtime.box, team_id, TEST_CALLBACK_URL, now, scopes=SCOPES_WITH_ACCOUNT_ENGAGEMENT
    )
    query = parse_qs(urlsplit(authorize_url).query)
    state = query["state"][0]
    code = demo_org.authorize_code(
        TEST_CALLBACK_URL, query["code_challenge"][0], state, scope=" ".join(SCOPES_WITH_ACCOUNT_ENGAGEMENT)
    )
    oauth.complete_authorization(runtime.engine, runtime.box, state, code, now)

    seed_demo_routing(runtime.engine, team_id, now)
    refresh_forms(runtime.engine, runtime.box, team_id, now)

    client = TestClient(Starlette(routes=route_routes(runtime)), follow_redirects=False)
    yield DemoTeam(runtime=runtime, id=team_id, owner=owner, client=client)
    runtime.engine.dispose()


def log_outcomes(team: DemoTeam) -> list[str]:
    with session_scope(team.runtime.engine) as session:
        return [row.outcome for row in session.exec(select(RoutingLog).order_by(RoutingLog.id)).all()]


def redirect_base(response) -> str:
    parts = urlsplit(response.headers["location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def test_seed_sets_up_business_unit_and_forms(demo_team):
    with session_scope(demo_team.runtime.engine) as session:
        unit = session.exec(select(AccountEngagementConnection)).one()
    forms = {form.form_id: form for form in list_cached_forms(demo_team.runtime.engine, demo_team.id)}

    assert unit.business_unit_id == DEMO_BUSINESS_UNIT_ID
    assert unit.environment == "demo"
    assert forms[DEMO_ROUTED_FORM_ID].name == "Demo request JP"
    assert "employees" in forms[DEMO_ROUTED_FORM_ID].fields


def test_seed_is_idempotent(demo_team):
    seed_demo_routing(demo_team.runtime.engine, demo_team.id, datetime.now(UTC))

    with session_scope(demo_team.runtime.engine) as session:
        assert len(session.exec(select(FormRouting)).all()) == 1
        assert len(session.exec(select(AccountEngagementConnection)).all()) == 1


def test_large_company_goes_to_product_demo(demo_team):
    response = demo_team.client.get(
        f"/route/{DEMO_FORM_KEY}",
        params={"email": TARO, "first_name": "Taro", "last_name": "Yamada", "employees": "1200", "country": "Japan"},
    )

    assert response.status_code == 302
    assert redirect_base(response) == PRODUCT_DEMO_URL
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["name"] == ["Taro Yamada"]
    assert query["email"] == [TARO]
    assert log_outcomes(demo_team) == [RoutingOutcome.MATCHED]


def test_japan_goes_to_intro_call(demo_team):
    response = demo_team.client.get(f"/route/{DEMO_FORM_KEY}", params={"employees": "12", "country": "JP"})

    assert redirect_base(response) == INTRO_URL
    assert log_outcomes(demo_team) == [RoutingOutcome.MATCHED]


def test_unknown_key_is_404(demo_team):
    response = demo_team.client.get("/route/not-a-demo-key", headers={"accept-language": "ja,en;q=0.5"})

    assert response.status_code == 404
    assert "このリンクは無効です" in response.text
    assert log_outcomes(demo_team) == [RoutingOutcome.UNKNOWN_FORM]


def test_no_match_without_fallback_offers_pages(demo_team):
    engine = demo_team.runtime.engine
    routing = get_form_routing(engine, demo_team.id, DEMO_ROUTED_FORM_ID)
    rules = routing.rule_set.model_copy(update={"fallback_page_id": None})
    save_rules(engine, demo_team.owner, demo_team.id, DEMO_ROUTED_FORM_ID, rules, routing.version, datetime.now(UTC))

    response = demo_team.client.get(f"/route/{DEMO_FORM_KEY}", params={"employees": "12", "country": "Germany"})

    assert response.status_code == 200
    assert f'href="{INTRO_URL}"' in response.text
    assert f'href="{PRODUCT_DEMO_URL}"' in response.text
    assert log_outcomes(demo_team) == [RoutingOutcome.NO_MATCH]


@pytest.mark.parametrize(
    "query",
    [
        "next=https://evil.example&employees=12",
        "redirect=//evil.example/path&url=https%3A%2F%2Fevil.example",
        "booking_page_id=999&target_page_id=1&fallback_page_id=999",
        "employees=12&country=Germany&email=a%40evil.example&name=%3Cscript%3E",
    ],
)
def test_open_redirect_attempts_end_on_configured_pages(demo_team, query):
    response = demo_team.client.get(f"/route/{DEMO_FORM_KEY}?{query}")

    assert response.status_code == 302
    assert redirect_base(response) in (INTRO_URL, PRODUCT_DEMO_URL)


def test_verification_uses_prospect_values(demo_team):
    engine = demo_team.runtime.engine
    set_verify_with_prospect(engine, demo_team.owner, demo_team.id, DEMO_ROUTED_FORM_ID, True, datetime.now(UTC))

    # Hand-edited answers claim a small company outside Japan; the prospect has 1200 employees in Japan.
    response = demo_team.client.get(
        f"/route/{DEMO_FORM_KEY}", params={"email": TARO, "employees": "3", "country": "Germany"}
    )

    assert redirect_base(response) == PRODUCT_DEMO_URL
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["name"] == ["Taro Yamada"]
    with session_scope(engine) as session:
        row = session.exec(select(RoutingLog)).one()
    assert row.outcome == RoutingOutcome.MATCHED
    assert row.answers["employees"] == ["1200"]
    assert row.answers["country"] == ["Japan"]


def test_verification_without_prospect_uses_fallback(demo_team):
    engine = demo_team.runtime.engine
    set_verify_with_prospect(engine, demo_team.owner, demo_team.id, DEMO_ROUTED_FORM_ID, True, datetime.now(UTC))

    response = demo_team.client.get(
        f"/route/{DEMO_FORM_KEY}", params={"email": "nobody@example.com", "employees": "9000"}
    )

    assert redirect_base(response) == INTRO_URL
    assert log_outcomes(demo_team) == [RoutingOutcome.NOT_VERIFIED]


def test_verification_survives_api_failure(demo_team):
    engine = demo_team.runtime.engine
    set_verify_with_prospect(engine, demo_team.owner, demo_team.id, DEMO_ROUTED_FORM_ID, True, datetime.now(UTC))
    # The demo user may not use this business unit, so every Account Engagement call fails with code 184.
    save_business_unit(engine, demo_team.id, NO_ACCESS_BUSINESS_UNIT_ID, "demo", datetime.now(UTC))

    response = demo_team.client.get(f"/route/{DEMO_FORM_KEY}", params={"email": TARO, "employees": "9000"})

    assert response.status_code == 302
    assert redirect_base(response) == INTRO_URL
    assert log_outcomes(demo_team) == [RoutingOutcome.NOT_VERIFIED]
