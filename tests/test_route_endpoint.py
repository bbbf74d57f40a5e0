"""GET /route/{form_key}: the redirect, the plain pages, the routing log and open-redirect attempts."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.config import load_settings
from core.routing import Condition, Operator, Rule, RuleSet
from core.routing.log import RoutingOutcome
from core.routing.store import get_or_create_form_routing, save_rules, set_enabled, set_verify_with_prospect
from core.runtime import Runtime, build_runtime
from core.store.db import session_scope
from core.store.models import AccountEngagementForm, BookingPage, FormRouting, RoutingLog
from core.web.route import booking_url, prefill_params, route_routes, visitor_language
from tests.routing_fixtures import (
    FORM_ID,
    INTRO_URL,
    NOW,
    RoutingTeam,
    sample_rules,
    seed_routing_team,
)

VISITOR = {"email": "taro@example.co.jp", "first_name": "太郎", "last_name": "山田", "company": "Example KK"}


@pytest.fixture
def route_runtime(tmp_path: Path) -> Runtime:
    """A runtime over a fresh store, with the routing team seeded."""
    runtime = build_runtime(load_settings({"APP_DATA_DIR": str(tmp_path), "APP_PUBLIC_URL": "http://127.0.0.1:8501"}))
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def team(route_runtime: Runtime) -> RoutingTeam:
    return seed_routing_team(route_runtime.engine)


@pytest.fixture
def form_key(team: RoutingTeam) -> str:
    """The key of the form whose rules send large companies to the product demo and Japan to the intro call."""
    routing = get_or_create_form_routing(team.engine, team.owner, team.id, FORM_ID, NOW)
    save_rules(team.engine, team.owner, team.id, FORM_ID, sample_rules(team), routing.version, NOW)
    return routing.form_key


@pytest.fixture
def client(route_runtime: Runtime) -> TestClient:
    return TestClient(Starlette(routes=route_routes(route_runtime, clock=lambda: NOW)), follow_redirects=False)


def log_rows(team: RoutingTeam) -> list[RoutingLog]:
    with session_scope(team.engine) as session:
        return list(session.exec(select(RoutingLog).order_by(RoutingLog.id)).all())


def location_parts(response) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(response.headers["location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


def test_rule_match_redirects_with_prefill(client, team, form_key):
    response = client.get(f"/route/{form_key}", params={**VISITOR, "employees": "1,200", "country": "US"})

    assert response.status_code == 302
    base, query = location_parts(response)
    assert base == "https://booking.example.com/sales/product-demo"
    # The page's own query stays, and the prefill parameters follow it.
    assert query["utm_source"] == ["form"]
    assert query["lang"] == ["ja"]
    assert query["email"] == ["taro@example.co.jp"]
    assert query["name"] == ["山田 太郎"]
    assert query["first_name"] == ["太郎"]
    assert query["last_name"] == ["山田"]
    assert response.headers["cache-control"] == "no-store"

    [row] = log_rows(team)
    assert row.outcome == RoutingOutcome.MATCHED
    assert row.team_id == team.id
    assert row.matched_rule_id == "large"
    assert row.matched_rule_name == "Large companies"
    assert row.booking_page_id == team.demo_page_id
    assert row.answers["employees"] == ["1,200"]
    assert row.answers["email"] == ["taro@example.co.jp"]


def test_second_rule_matches_japan(client, team, form_key):
    response = client.get(f"/route/{form_key}", params={**VISITOR, "employees": "20", "country": "日本"})

    base, _ = location_parts(response)
    assert base == INTRO_URL
    [row] = log_rows(team)
    assert row.matched_rule_id == "japan"


def test_no_match_uses_fallback(client, team, form_key):
    response = client.get(f"/route/{form_key}", params={"email": "ann@example.com", "first_name": "Ann",
                                                        "last_name": "Lee", "country": "US"})

    assert response.status_code == 302
    base, query = location_parts(response)
    assert base == INTRO_URL
    assert query["name"] == ["Ann Lee"]
    [row] = log_rows(team)
    assert row.outcome == RoutingOutcome.FALLBACK
    assert row.matched_rule_id is None
    assert row.booking_page_id == team.intro_page_id


def test_no_match_without_fallback_lists_pages(client, team):
    routing = get_or_create_form_routing(team.engine, team.owner, team.id, FORM_ID, NOW)
    save_rules(team.engine, team.owner, team.id, FORM_ID, sample_rules(team, fallback=False), 1, NOW)

    response = client.get(f"/route/{routing.form_key}", params={"email": "ann@example.com", "country": "US"},
                          headers={"accept-language": "en-US,en;q=0.9"})

    assert response.status_code == 200
    assert "Choose a booking page" in response.text
    assert 'href="https://booking.example.com/sales/intro-call?email=ann%40example.com"' in response.text
    assert "https://booking.example.com/sales/product-demo?utm_source=form&amp;lang=ja&amp;email=" in response.text
    assert "Field visit" not in response.text
    [row] = log_rows(team)
    assert row.outcome == RoutingOutcome.NO_MATCH
    assert row.booking_page_id is None


def test_choice_page_in_japanese(client, team):
    routing = get_or_create_form_routing(team.engine, team.owner, team.id, FORM_ID, NOW)

    response = client.get(f"/route/{routing.form_key}", headers={"accept-language": "ja-JP,ja;q=0.9,en;q=0.8"})

    assert response.status_code == 200
    assert '<html lang="ja">' in response.text
    assert "予約ページを選択してください" in response.text


def test_unknown_key_gives_404_page(client, team):
    response = client.get("/route/no-such-key", params=VISITOR, headers={"accept-language": "ja"})

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "このリンクは無効です" in response.text
    assert "taro@example.co.jp" not in response.text
    [row] = log_rows(team)
    assert row.outcome == RoutingOutcome.UNKNOWN_FORM
    assert row.team_id is None
    assert row.answers == {}


@pytest.mark.parametrize(
    "path",
    ["/route/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/route/", "/route/a/b", "/route/" + "k" * 100],
)
def test_malformed_key_gives_404_page(client, team, path):
    response = client.get(path)

    assert response.status_code == 404
    assert "<script>" not in response.text
    assert "This link is not active" in response.text
    [row] = log_rows(team)
    assert row.outcome == RoutingOutcome.UNKNOWN_FORM


def test_disabled_routing_gives_plain_page(client, team, form_key):
    set_enabled(team.engine, team.owner, team.id, FORM_ID, False, NOW)

    response = client.get(f"/route/{form_key}", params={**VISITOR, "employees": "900"})

    assert response.status_code == 200
    assert "Online booking from this form is paused" in response.text
    assert "booking.example.com" not in response.text
    [row] = log_rows(team)
    assert row.outcome == RoutingOutcome.DISABLED
    assert row.booking_page_id is None


def test_repeated_params_are_multi_value(client, team):
    routing = get_or_create_form_routing(team.engine, team.owner, team.id, FORM_ID, NOW)
    rules = RuleSet(
        rules=[
            Rule(
                id="sfa",
                name="SFA interest",
                conditions=[Condition(field="interest", operator=Operator.EQUALS, value="SFA")],
                target_page_id=team.demo_page_id,
            )
        ]
    )
    save_rules(team.engine, team.owner, team.id, FORM_ID, rules, 1, NOW)

    response = client.get(f"/route/{routing.form_key}?interest=CRM&interest=SFA&email=a%40example.com")

    base, _ = location_parts(response)
    assert base == "https://booking.example.com/sales/product-demo"
    [row] = log_rows(team)
    assert row.answers["interest"] == ["CRM", "SFA"]


@pytest.mark.parametrize(
    "params",
    [
        {"next": "https://evil.example/", "redirect": "https://evil.example/", "url": "//evil.example"},
        {"redirect_uri": "javascript:alert(1)", "return_to": "https://evil.example"},
        {"booking_page_id": "3", "target_page_id": "3", "page": "https://evil.example"},
        {"name": "https://evil.example", "email": "x@evil.example"},
    ],
)
def test_request_params_never_choose_the_target(client, team, form_key, params):
    response = client.get(f"/route/{form_key}", params={"employees": "20", "country": "US", **params})

    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert location.scheme == "https"
    assert location.netloc == "booking.example.com"
    assert location.path == "/sales/intro-call"


def test_tampered_rule_cannot_target_other_team(client, team, form_key):
    # Rules are validated on save; this writes a target of another team straight into the store.
    tampered = sample_rules(team).model_dump(mode="json", exclude={"version"})
    tampered["rules"][0]["target_page_id"] = team.other_page_id
    with session_scope(team.engine) as session:
        session.exec(update(FormRouting).where(FormRouting.form_key == form_key).values(rules=tampered))

    response = client.get(f"/route/{form_key}", params={"employees": "5000"})

    base, _ = location_parts(response)
    assert base == INTRO_URL
    [row] = log_rows(team)
    assert row.outcome == RoutingOutcome.FALLBACK
    assert row.matched_rule_id == "large"
    assert row.booking_page_id == team.intro_page_id


def test_other_team_key_routes_to_its_own_pages(client, team, form_key):
    with session_scope(team.engine) as session:
        session.add(AccountEngagementForm(team_id=team.other_team_id, form_id=FORM_ID, name="Field form",
                                          fields=["email", "employees"], fetched_at=NOW))
    other = get_or_create_form_routing(team.engine, _other_owner(team), team.other_team_id, FORM_ID, NOW)

    response = client.get(f"/route/{other.form_key}", params={"employees": "5000", "country": "Japan"})

    # The other team has no rules and no fallback, so its own single page is offered, never this team's pages.
    assert response.status_code == 200
    assert "https://booking.example.com/field/visit" in response.text
    assert "sales/intro-call" not in response.text
    assert "sales/product-demo" not in response.text


def _other_owner(team: RoutingTeam):
    from core.store.models import Role
    from tests.routing_fixtures import add_user

    with session_scope(team.engine) as session:
        return add_user(session, team.other_team_id, "owner@field.example.com", Role.OWNER)


def test_unsafe_page_url_is_never_used(client, team, form_key):
    with session_scope(team.engine) as session:
        session.exec(update(BookingPage).where(BookingPage.id == team.demo_page_id)
                     .values(public_url="javascript:alert(document.cookie)"))

    response = client.get(f"/route/{form_key}", params={"employees": "5000"})

    base, _ = location_parts(response)
    assert base == INTRO_URL


def test_page_names_and_answers_are_escaped(client, team):
    with session_scope(team.engine) as session:
        session.exec(update(BookingPage).where(BookingPage.id == team.intro_page_id)
                     .values(name='<script>alert("page")</script>'))
    routing = get_or_create_form_routing(team.engine, team.owner, team.id, FORM_ID, NOW)

    response = client.get(f"/route/{routing.form_key}", params={"first_name": '"><script>alert(1)</script>'})

    assert response.status_code == 200
    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(&quot;page&quot;)&lt;/script&gt;" in response.text
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_broken_stored_rules_still_give_a_page(client, team, form_key):
    with session_scope(team.engine) as session:
        session.exec(update(FormRouting).where(FormRouting.form_key == form_key)
                     .values(rules={"rules": "not a list"}))

    response = client.get(f"/route/{form_key}", params=VISITOR, headers={"accept-language": "ja"})

    assert response.status_code == 200
    assert "担当者からメールでご連絡します" in response.text


def test_verification_failure_uses_fallback(client, team, form_key):
    # The team has no Salesforce connection, so the prospect lookup fails.
    set_verify_with_prospect(team.engine, team.owner, team.id, FORM_ID, True, NOW)

    response = client.get(f"/route/{form_key}", params={**VISITOR, "employees": "5000"})

    base, query = location_parts(response)
    assert base == INTRO_URL
    assert query["email"] == ["taro@example.co.jp"]
    [row] = log_rows(team)
    assert row.outcome == RoutingOutcome.NOT_VERIFIED
    assert row.matched_rule_id is None
    assert row.booking_page_id == team.intro_page_id


def test_verification_without_email_uses_fallback(client, team, form_key):
    set_verify_with_prospect(team.engine, team.owner, team.id, FORM_ID, True, NOW)

    response = client.get(f"/route/{form_key}", params={"employees": "5000"})

    base, _ = location_parts(response)
    assert base == INTRO_URL
    assert log_rows(team)[0].outcome == RoutingOutcome.NOT_VERIFIED


def test_only_get_is_served(client, form_key):
    response = client.post(f"/route/{form_key}", data={"employees": "5000"})

    assert response.status_code == 405


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("ja", "ja"),
        ("ja-JP,ja;q=0.9,en-US;q=0.8", "ja"),
        ("en-US,en;q=0.9,ja;q=0.8", "en"),
        ("fr-FR,ja;q=0.5,en;q=0.4", "ja"),
        ("en;q=0.2, ja;q=0.7", "ja"),
        ("ja;q=0", "en"),
        ("ja;q=abc", "en"),
        ("de, fr", "en"),
    ],
)
def test_visitor_language(header, language):
    assert visitor_language(header) == language


def test_booking_url_keeps_page_query_and_fragment():
    url = booking_url("https://book.example.com/p/intro?email=old%40x.com&ref=a%20b#top", {"email": "new@example.com"})

    assert url == "https://book.example.com/p/intro?ref=a%20b&email=new%40example.com#top"


def test_booking_url_without_prefill_is_unchanged():
    assert booking_url("https://book.example.com/p/intro?ref=1", {}) == "https://book.example.com/p/intro?ref=1"


@pytest.mark.parametrize(
    ("answers", "name"),
    [
        ({"first_name": ["Ann"], "last_name": ["Lee"]}, "Ann Lee"),
        ({"First_Name": ["太郎"], "Last_Name": ["山田"]}, "山田 太郎"),
        ({"last_name": ["Lee"]}, "Lee"),
        ({"name": ["Ann Lee"]}, "Ann Lee"),
    ],
)
def test_prefill_name(answers, name):
    assert prefill_params(answers)["name"] == name


def test_prefill_skips_missing_values():
    assert prefill_params({"company": ["Example"]}) == {}
