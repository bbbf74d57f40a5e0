"""Deleting a booking page that the routing log and form routing rules refer to."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.booking_pages import delete_booking_page, list_booking_pages
from core.config import load_settings
from core.routing.log import RoutingOutcome
from core.routing.store import get_or_create_form_routing, save_rules
from core.runtime import Runtime, build_runtime
from core.store.db import session_scope
from core.store.models import RoutingLog
from core.web.route import route_routes
from tests.routing_fixtures import FORM_ID, INTRO_URL, NOW, RoutingTeam, sample_rules, seed_routing_team

LARGE_COMPANY = {"email": "taro@example.co.jp", "employees": "1200", "country": "US"}


@pytest.fixture
def route_runtime(tmp_path: Path) -> Runtime:
    runtime = build_runtime(load_settings({"APP_DATA_DIR": str(tmp_path), "APP_PUBLIC_URL": "http://127.0.0.1:8501"}))
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def routed_team(route_runtime: Runtime) -> tuple[RoutingTeam, TestClient, str]:
    """A team whose rule sends large companies to "Product demo", with one visitor already routed there."""
    team = seed_routing_team(route_runtime.engine)
    routing = get_or_create_form_routing(team.engine, team.owner, team.id, FORM_ID, NOW)
    save_rules(team.engine, team.owner, team.id, FORM_ID, sample_rules(team), routing.version, NOW)
    client = TestClient(Starlette(routes=route_routes(route_runtime, clock=lambda: NOW)), follow_redirects=False)

    response = client.get(f"/route/{routing.form_key}", params=LARGE_COMPANY)
    assert response.status_code == 302
    return team, client, routing.form_key


def routing_rows(team: RoutingTeam) -> list[RoutingLog]:
    with session_scope(team.engine) as session:
        return list(session.exec(select(RoutingLog).order_by(RoutingLog.id)).all())


def test_delete_keeps_routing_log_rows(routed_team):
    team, _, _ = routed_team
    assert routing_rows(team)[0].booking_page_id == team.demo_page_id

    delete_booking_page(team.engine, team.id, team.demo_page_id, NOW, actor=team.owner)

    assert [page.name for page in list_booking_pages(team.engine, team.id)] == ["Intro call"]
    [row] = routing_rows(team)
    assert row.booking_page_id is None
    assert row.outcome == RoutingOutcome.MATCHED
    assert row.matched_rule_name == "Large companies"


def test_rule_of_deleted_page_falls_back(routed_team):
    team, client, form_key = routed_team
    delete_booking_page(team.engine, team.id, team.demo_page_id, NOW, actor=team.owner)

    response = client.get(f"/route/{form_key}", params=LARGE_COMPANY)

    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == INTRO_URL
    last = routing_rows(team)[-1]
    assert last.outcome == RoutingOutcome.FALLBACK
    assert last.matched_rule_name == "Large companies"
    assert last.booking_page_id == team.intro_page_id
