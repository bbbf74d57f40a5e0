"""The demo store's booking pages point at the demo booking page, and the demo form's redirect lands there."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.config import load_settings
from core.demo_booking import demo_booking_routes
from core.demo_seed import (
    DEMO_TEAM_SLUG,
    INTRO_EVENT_TYPE_UID,
    PRODUCT_DEMO_EVENT_TYPE_UID,
    seed_demo_store,
    update_demo_booking_urls,
)
from core.routing.demo import DEMO_FORM_KEY, seed_demo_routing
from core.runtime import Runtime, build_runtime
from core.store.db import session_scope
from core.store.models import BookingPage, Team
from core.web.route import route_routes

NOW = datetime(2026, 1, 9, 3, 0, tzinfo=UTC)
PUBLIC_URL = "http://testserver"


def build_demo_runtime(data_dir: Path, public_url: str = PUBLIC_URL) -> Runtime:
    return build_runtime(load_settings({"APP_DATA_DIR": str(data_dir), "APP_PUBLIC_URL": public_url}))


@pytest.fixture
def demo_store(tmp_path: Path) -> Runtime:
    """A store with the demo team and its two booking pages, seeded for PUBLIC_URL."""
    runtime = build_demo_runtime(tmp_path)
    seed_demo_store(runtime, NOW)
    yield runtime
    runtime.engine.dispose()


def demo_team_id(runtime: Runtime) -> int:
    with Session(runtime.engine) as session:
        return session.exec(select(Team.id).where(Team.slug == DEMO_TEAM_SLUG)).one()


def public_urls(runtime: Runtime) -> dict[str, str]:
    with Session(runtime.engine) as session:
        return {page.event_type_uid: page.public_url for page in session.exec(select(BookingPage)).all()}


def set_public_url(runtime: Runtime, event_type_uid: str, url: str) -> None:
    with session_scope(runtime.engine) as session:
        page = session.exec(select(BookingPage).where(BookingPage.event_type_uid == event_type_uid)).one()
        page.public_url = url
        session.add(page)


def test_new_store_uses_demo_booking_page(demo_store):
    assert public_urls(demo_store) == {
        INTRO_EVENT_TYPE_UID: "http://testserver/demo-booking/intro-call",
        PRODUCT_DEMO_EVENT_TYPE_UID: "http://testserver/demo-booking/product-demo",
    }


def test_old_example_urls_are_updated(demo_store):
    set_public_url(demo_store, INTRO_EVENT_TYPE_UID, "https://booking.example.com/demo-sales/intro-call")
    set_public_url(demo_store, PRODUCT_DEMO_EVENT_TYPE_UID, "https://booking.example.com/demo-sales/product-demo")

    changed = update_demo_booking_urls(demo_store, demo_team_id(demo_store), NOW)

    assert changed == 2
    assert public_urls(demo_store)[INTRO_EVENT_TYPE_UID] == "http://testserver/demo-booking/intro-call"
    assert public_urls(demo_store)[PRODUCT_DEMO_EVENT_TYPE_UID] == "http://testserver/demo-booking/product-demo"


def test_store_moved_to_another_address_follows_it(tmp_path):
    seed_demo_store(build_demo_runtime(tmp_path, "http://localhost:8501"), NOW)
    moved = build_demo_runtime(tmp_path, "http://127.0.0.1:8642")

    changed = update_demo_booking_urls(moved, demo_team_id(moved), NOW)

    assert changed == 2
    assert public_urls(moved)[INTRO_EVENT_TYPE_UID] == "http://127.0.0.1:8642/demo-booking/intro-call"


def test_entered_urls_are_kept(demo_store):
    set_public_url(demo_store, INTRO_EVENT_TYPE_UID, "https://jicoo.example/en/t/demo/e/intro")
    set_public_url(demo_store, PRODUCT_DEMO_EVENT_TYPE_UID, "https://booking.example.com/demo-sales/other")

    changed = update_demo_booking_urls(demo_store, demo_team_id(demo_store), NOW)

    assert changed == 0
    assert public_urls(demo_store) == {
        INTRO_EVENT_TYPE_UID: "https://jicoo.example/en/t/demo/e/intro",
        PRODUCT_DEMO_EVENT_TYPE_UID: "https://booking.example.com/demo-sales/other",
    }


def test_update_is_idempotent(demo_store):
    set_public_url(demo_store, INTRO_EVENT_TYPE_UID, "https://booking.example.com/demo-sales/intro-call")

    first = update_demo_booking_urls(demo_store, demo_team_id(demo_store), NOW)
    second = update_demo_booking_urls(demo_store, demo_team_id(demo_store), NOW)

    assert (first, second) == (1, 0)


def test_demo_form_redirect_lands_on_prefilled_page(demo_store):
    seed_demo_routing(demo_store.engine, demo_team_id(demo_store), NOW)
    app = Starlette(routes=[*route_routes(demo_store), *demo_booking_routes(demo_store, clock=lambda: NOW)])
    client = TestClient(app)

    response = client.get(
        f"/route/{DEMO_FORM_KEY}",
        params={
            "email": "taro.yamada@example.jp",
            "first_name": "Taro",
            "last_name": "Yamada",
            "employees": "1200",
            "country": "Japan",
        },
    )

    assert response.status_code == 200
    assert response.url.path == "/demo-booking/product-demo"
    assert "<title>Product demo</title>" in response.text
    assert 'name="name" value="Taro Yamada"' in response.text
    assert 'name="email" value="taro.yamada@example.jp"' in response.text
    assert re.findall(r'name="answer:([^"]+)"', response.text) == ["会社名"]
