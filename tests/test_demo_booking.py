"""The demo booking page: form rendering, validation, CSRF checks and the booking sent to the webhook intake."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.demo_booking import demo_booking_routes, demo_booking_url
from core.demo_booking.tokens import BROWSER_COOKIE, FormTokens
from core.config import load_settings
from core.runtime import Runtime, build_runtime
from core.store.db import session_scope
from core.store.models import BookingPage, OutboxEvent, SyncLog, SyncOutcome, Team
from core.sync.worker import SyncWorker
from tests.demo_org_fixtures import demo_org, demo_org_server  # noqa: F401 (fixtures)
from tests.sync_fixtures import (  # noqa: F401 (fixtures)
    TeamInfo,
    connected_team,
    store_runtime,
    webhook_team,
)

# Friday 2026-01-09 12:00 in Tokyo, so the next three weekdays are Monday 12 to Wednesday 14.
FRIDAY_NOON = datetime(2026, 1, 9, 3, 0, tzinfo=UTC)
PAGE_PATH = "/demo-booking/intro-call"
EXPECTED_SLOTS = [
    "2026-01-12T10:00+09:00",
    "2026-01-12T14:00+09:00",
    "2026-01-13T10:00+09:00",
    "2026-01-13T14:00+09:00",
    "2026-01-14T10:00+09:00",
    "2026-01-14T14:00+09:00",
]
JAPANESE = {"accept-language": "ja-JP,ja;q=0.9,en;q=0.5"}
NOT_AN_EMAIL_JA = "正しいメールアドレスではありません"
SLOT_GONE_JA = "選択した日時は現在受け付けていません"
TOKEN_PATTERN = re.compile(r'name="form_token" value="([^"]+)"')


@dataclass
class Clock:
    """The time the routes read; tests move it forward."""

    now: datetime = FRIDAY_NOON


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def demo_page(webhook_team: TeamInfo) -> BookingPage:
    """A booking page of the webhook team whose public URL is the demo booking page, with two questions."""
    with session_scope(webhook_team.runtime.engine) as session:
        page = BookingPage(
            team_id=webhook_team.id,
            name="Intro call",
            event_type_uid="ETDEMOINTRO",
            public_url=demo_booking_url(webhook_team.runtime.settings.public_url, "intro-call"),
            integration_enabled=True,
            answer_mapping={"会社名": "Company", "Phone": "Phone"},
            updated_at=FRIDAY_NOON,
        )
        session.add(page)
        session.flush()
        return page


@pytest.fixture
def client(store_runtime: Runtime, demo_page: BookingPage, clock: Clock) -> TestClient:
    """A browser-like client of the demo booking routes, which keeps the page's cookie."""
    routes = demo_booking_routes(store_runtime, clock=lambda: clock.now, tokens=FormTokens(b"k" * 32))
    with TestClient(Starlette(routes=routes)) as test_client:
        yield test_client


def form_token(response) -> str:
    return TOKEN_PATTERN.search(response.text).group(1)


def open_form(client: TestClient, query: str = "", headers: dict | None = None):
    response = client.get(f"{PAGE_PATH}{query}", headers=headers)
    assert response.status_code == 200
    return response


def booking_fields(token: str, **overrides: str) -> dict[str, str]:
    fields = {
        "form_token": token,
        "slot": EXPECTED_SLOTS[2],
        "name": "山田　太郎",
        "email": "taro.yamada@example.jp",
        "answer:会社名": "サンプル商事株式会社",
        "answer:Phone": "03-1234-5678",
    }
    fields.update(overrides)
    return fields


def outbox_rows(runtime: Runtime) -> list[OutboxEvent]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(OutboxEvent).order_by(OutboxEvent.id)).all())


def test_form_shows_page_name_slots_and_questions(client):
    response = open_form(client)

    assert "<title>Intro call</title>" in response.text
    assert "<h1>Intro call</h1>" in response.text
    assert "imitates the scheduler's public booking page" in response.text
    assert re.findall(r'name="slot" value="([^"]+)"', response.text) == EXPECTED_SLOTS
    assert "Monday 2026-01-12, 10:00–10:30" in response.text
    assert 'name="answer:会社名"' in response.text
    assert 'name="answer:Phone"' in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_form_sets_strict_http_only_cookie(client):
    response = open_form(client)

    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{BROWSER_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/demo-booking" in cookie


def test_form_prefills_name_and_email(client):
    response = open_form(client, "?name=Taro%20Yamada&email=taro%40example.jp")

    assert 'name="name" value="Taro Yamada"' in response.text
    assert 'name="email" value="taro@example.jp"' in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?first_name=Taro&last_name=Yamada", "Taro Yamada"),
        ("?first_name=%E5%A4%AA%E9%83%8E&last_name=%E5%B1%B1%E7%94%B0", "山田 太郎"),
        ("?last_name=Yamada", "Yamada"),
    ],
)
def test_form_builds_name_from_first_and_last(client, query, expected):
    response = open_form(client, query)

    assert f'name="name" value="{expected}"' in response.text


def test_form_in_japanese(client):
    response = open_form(client, headers=JAPANESE)

    assert '<html lang="ja">' in response.text
    assert "<title>Intro call</title>" in response.text
    assert "予約システムの公開予約ページを模しています" in response.text
    assert "2026年1月12日（月）10:00〜10:30" in response.text
    assert "この日時で予約する" in response.text


def test_form_escapes_prefill_and_labels(client, store_runtime, demo_page):
    with session_scope(store_runtime.engine) as session:
        page = session.get(BookingPage, demo_page.id)
        page.name = "Intro <b>call</b>"
        page.answer_mapping = {'"><script>alert(1)</script>': "Company"}
        session.add(page)

    response = open_form(client, '?name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&email=%22%3E%3Cb%3E')

    assert "<script>" not in response.text
    assert "<title>Intro &lt;b&gt;call&lt;/b&gt;</title>" in response.text
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in response.text
    assert 'value="&quot;&gt;&lt;b&gt;"' in response.text
    assert 'name="answer:&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in response.text


def test_booking_is_stored_as_signed_webhook(client, store_runtime, webhook_team):
    token = form_token(open_form(client))

    response = client.post(PAGE_PATH, data=booking_fields(token))

    assert response.status_code == 200
    assert "Booking received" in response.text
    assert "HTTP 202" in response.text
    assert 'href="http://127.0.0.1:8501/sync-log"' in response.text
    [row] = outbox_rows(store_runtime)
    assert row.team_id == webhook_team.id
    assert row.event_type == "guest_booked"
    assert row.event_type_uid == "ETDEMOINTRO"
    booking = row.payload["object"]
    assert booking["contact"] == {"email": "taro.yamada@example.jp", "name": "山田　太郎"}
    assert booking["startedAt"] == "2026-01-13T01:00:00.000Z"
    assert booking["endedAt"] == "2026-01-13T01:30:00.000Z"
    assert booking["answers"] == [
        {"question": "会社名", "content": ["サンプル商事株式会社"]},
        {"question": "Phone", "content": ["03-1234-5678"]},
    ]
    with Session(store_runtime.engine) as session:
        log = session.exec(select(SyncLog)).one()
    assert log.outcome == SyncOutcome.QUEUED
    assert log.guest_email == "taro.yamada@example.jp"


def test_empty_answers_are_left_out(client, store_runtime):
    token = form_token(open_form(client))

    client.post(PAGE_PATH, data=booking_fields(token, **{"answer:会社名": "", "answer:Phone": "  "}))

    [row] = outbox_rows(store_runtime)
    assert row.payload["object"]["answers"] == []


def test_confirmation_in_japanese(client):
    token = form_token(open_form(client, headers=JAPANESE))

    response = client.post(PAGE_PATH, data=booking_fields(token), headers=JAPANESE)

    assert "予約を受け付けました" in response.text
    assert "2026年1月13日（火）10:00〜10:30" in response.text
    assert "連携ログを開く" in response.text


def test_confirmation_notes_integration_off(client, store_runtime, demo_page):
    with session_scope(store_runtime.engine) as session:
        page = session.get(BookingPage, demo_page.id)
        page.integration_enabled = False
        session.add(page)
    token = form_token(open_form(client))

    response = client.post(PAGE_PATH, data=booking_fields(token))

    assert "The Salesforce integration of Intro call is off" in response.text


@pytest.mark.parametrize(
    ("overrides", "english", "japanese"),
    [
        ({"email": "taro.example.jp"}, "“taro.example.jp” is not a valid email address.", NOT_AN_EMAIL_JA),
        ({"email": "taro@"}, "is not a valid email address", NOT_AN_EMAIL_JA),
        ({"email": "a b@example.jp"}, "is not a valid email address", NOT_AN_EMAIL_JA),
        ({"email": ""}, "Enter your email address.", "メールアドレスを入力してください。"),
        ({"email": "x" * 75 + "@example.jp"}, "longer than 80 characters", "80 文字を超えている"),
        ({"name": " "}, "Enter your name.", "お名前を入力してください。"),
        ({"slot": ""}, "Choose a time.", "日時を選択してください。"),
        ({"slot": "2026-01-12T11:00+09:00"}, "The chosen time is not offered any more.", SLOT_GONE_JA),
        ({"slot": "2026-01-10T10:00+09:00"}, "The chosen time is not offered any more.", SLOT_GONE_JA),
        (
            {"answer:Phone": "0" * 1001},
            "The answer to “Phone” is longer than 1000 characters.",
            "「Phone」への回答が 1000 文字",
        ),
    ],
)
def test_invalid_fields_are_shown_in_both_languages(client, store_runtime, overrides, english, japanese):
    for headers, expected in (({}, english), (JAPANESE, japanese)):
        token = form_token(open_form(client, headers=headers))

        response = client.post(PAGE_PATH, data=booking_fields(token, **overrides), headers=headers)

        assert response.status_code == 400
        assert expected in response.text
        assert 'role="alert"' in response.text
    assert outbox_rows(store_runtime) == []


def test_invalid_form_keeps_escaped_values(client):
    token = form_token(open_form(client))

    response = client.post(PAGE_PATH, data=booking_fields(token, email='"><script>x</script>', name="<i>Ann</i>"))

    assert response.status_code == 400
    assert "<script>" not in response.text
    assert "<i>" not in response.text
    assert 'name="name" value="&lt;i&gt;Ann&lt;/i&gt;"' in response.text
    assert '“"&gt;&lt;script&gt;x&lt;/script&gt;” is not a valid email address' in response.text


def test_post_without_token_is_rejected(client, store_runtime):
    open_form(client)

    response = client.post(PAGE_PATH, data=booking_fields(""))

    assert response.status_code == 403
    assert "did not send this page's cookie" not in response.text
    assert "could not be verified" in response.text
    assert outbox_rows(store_runtime) == []


def test_post_without_cookie_is_rejected(client, store_runtime):
    token = form_token(open_form(client))
    client.cookies.clear()

    response = client.post(PAGE_PATH, data=booking_fields(token), headers=JAPANESE)

    assert response.status_code == 403
    assert "Cookie を許可してから" in response.text
    assert outbox_rows(store_runtime) == []


def test_token_from_another_browser_is_rejected(client, store_runtime):
    token = form_token(open_form(client))
    client.cookies.clear()

    response = client.post(PAGE_PATH, data=booking_fields(token), headers={"cookie": f"{BROWSER_COOKIE}={'A' * 32}"})

    assert response.status_code == 403
    assert "The form could not be verified. Send it again from this page." in response.text
    assert outbox_rows(store_runtime) == []


def test_forged_token_is_rejected(client, store_runtime):
    token = form_token(open_form(client))
    issued, nonce, mac = token.split(".")

    response = client.post(PAGE_PATH, data=booking_fields(f"{issued}.{nonce}.{mac[::-1]}"))

    assert response.status_code == 403
    assert outbox_rows(store_runtime) == []


def test_expired_token_is_rejected(client, store_runtime, clock):
    token = form_token(open_form(client))
    clock.now += timedelta(hours=1, seconds=1)

    response = client.post(PAGE_PATH, data=booking_fields(token))

    assert response.status_code == 403
    assert "The form expired" in response.text
    assert 'name="name" value="山田　太郎"' in response.text
    assert outbox_rows(store_runtime) == []


def test_resent_form_books_once(client, store_runtime):
    token = form_token(open_form(client))

    first = client.post(PAGE_PATH, data=booking_fields(token))
    second = client.post(PAGE_PATH, data=booking_fields(token))

    assert first.status_code == 200
    assert second.status_code == 409
    assert "This form was already sent." in second.text
    assert len(outbox_rows(store_runtime)) == 1


def test_each_render_books_separately(client, store_runtime):
    for slot in EXPECTED_SLOTS[:2]:
        token = form_token(open_form(client))
        assert client.post(PAGE_PATH, data=booking_fields(token, slot=slot)).status_code == 200

    rows = outbox_rows(store_runtime)
    assert len(rows) == 2
    assert rows[0].booking_uid != rows[1].booking_uid


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site", "origin": "http://testserver"},
    ],
)
def test_cross_site_post_is_rejected(client, store_runtime, headers):
    token = form_token(open_form(client))

    response = client.post(PAGE_PATH, data=booking_fields(token), headers=headers)

    assert response.status_code == 403
    assert "the form was sent from another site" in response.text
    assert outbox_rows(store_runtime) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://testserver", "sec-fetch-site": "same-origin"},
        {"origin": "null", "sec-fetch-site": "same-origin"},
        {"origin": "http://127.0.0.1:8501"},
    ],
)
def test_same_origin_post_is_accepted(client, headers):
    token = form_token(open_form(client))

    response = client.post(PAGE_PATH, data=booking_fields(token), headers=headers)

    assert response.status_code == 200


def test_oversized_form_is_rejected(client, store_runtime):
    token = form_token(open_form(client))

    response = client.post(PAGE_PATH, data=booking_fields(token, name="x" * 70_000))

    assert response.status_code == 400
    assert "the form data could not be read" in response.text
    assert outbox_rows(store_runtime) == []


@pytest.mark.parametrize("path", ["/demo-booking/no-such-page", "/demo-booking/Bad_Slug", "/demo-booking/%3Cb%3E"])
def test_unknown_page_is_404(client, path):
    english = client.get(path)
    japanese = client.get(path, headers=JAPANESE)

    assert english.status_code == 404
    assert "Booking page not found" in english.text
    assert "<b>" not in english.text
    assert japanese.status_code == 404
    assert "予約ページが見つかりません" in japanese.text


def test_page_with_other_address_is_not_served(client, store_runtime, demo_page):
    with session_scope(store_runtime.engine) as session:
        page = session.get(BookingPage, demo_page.id)
        page.public_url = "https://booking.example.com/demo-booking/intro-call-2"
        session.add(page)

    assert client.get(PAGE_PATH).status_code == 404


def test_team_without_secret_shows_next_step(client, store_runtime, webhook_team):
    token = form_token(open_form(client))
    with session_scope(store_runtime.engine) as session:
        team = session.get(Team, webhook_team.id)
        team.webhook_secret_enc = None
        session.add(team)

    response = client.post(PAGE_PATH, data=booking_fields(token))

    assert response.status_code == 503
    assert "the team has no webhook signing secret" in response.text
    assert outbox_rows(store_runtime) == []


def test_booking_creates_lead_in_demo_org(connected_team, demo_page, clock, demo_org):
    runtime = connected_team.runtime
    routes = demo_booking_routes(runtime, clock=lambda: clock.now)
    with TestClient(Starlette(routes=routes)) as browser:
        token = form_token(browser.get(PAGE_PATH))
        response = browser.post(PAGE_PATH, data=booking_fields(token, email="new.guest@example.jp"))
    assert response.status_code == 200

    SyncWorker(runtime).process_due(clock.now)

    with Session(runtime.engine) as session:
        log = session.exec(select(SyncLog)).one()
    assert log.outcome == SyncOutcome.CREATED_LEAD
    [lead] = [lead for lead in demo_org.records("Lead") if lead["Email"] == "new.guest@example.jp"]
    assert lead["LastName"] == "山田"
    assert lead["FirstName"] == "太郎"
    assert lead["Company"] == "サンプル商事株式会社"
    assert lead["Phone"] == "03-1234-5678"
    assert json.dumps(log.records).count('"Lead"') == 1


def test_cookie_is_secure_behind_https(tmp_path):
    runtime = build_runtime(load_settings({"APP_DATA_DIR": str(tmp_path), "APP_PUBLIC_URL": "https://console.example"}))
    with session_scope(runtime.engine) as session:
        team = Team(slug="sales", name="Sales", created_at=FRIDAY_NOON)
        session.add(team)
        session.flush()
        session.add(
            BookingPage(
                team_id=team.id,
                name="Intro call",
                event_type_uid="ETINTRO",
                public_url="https://console.example/demo-booking/intro-call",
                updated_at=FRIDAY_NOON,
            )
        )
    client = TestClient(Starlette(routes=demo_booking_routes(runtime, clock=lambda: FRIDAY_NOON)))

    response = client.get(PAGE_PATH)

    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]
    runtime.engine.dispose()
