"""Webhook intake: POST /hooks/jicoo/{team_slug} stores signed deliveries in the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from core.store.models import BookingPage, OutboxEvent, OutboxStatus, SyncLog, SyncOutcome
from core.webhooks.intake import MAX_BODY_BYTES, receive_webhook
from core.webhooks.jicoo import SIGNATURE_HEADER, sign
from tests.sync_fixtures import (  # noqa: F401 (fixtures)
    TeamInfo,
    hooks_client,
    intro_page,
    sample_body,
    sample_payload,
    signed_headers,
    store_runtime,
    webhook_team,
)

NEW_CUSTOMER = "guest_booked_new_customer_ja.json"


def outbox_rows(team: TeamInfo) -> list[OutboxEvent]:
    with Session(team.runtime.engine) as session:
        return list(session.exec(select(OutboxEvent).order_by(OutboxEvent.id)).all())


def log_rows(team: TeamInfo) -> list[SyncLog]:
    with Session(team.runtime.engine) as session:
        return list(session.exec(select(SyncLog).order_by(SyncLog.id)).all())


def post(team: TeamInfo, body: bytes, headers: dict[str, str] | None = None, slug: str | None = None):
    client = hooks_client(team.runtime)
    if headers is None:
        headers = signed_headers(body)
    return client.post(f"/hooks/jicoo/{slug or team.slug}", content=body, headers=headers)


def test_signed_booking_is_queued(webhook_team: TeamInfo, intro_page: BookingPage) -> None:
    body = sample_body(NEW_CUSTOMER)

    response = post(webhook_team, body)

    assert response.status_code == 202
    outbox = outbox_rows(webhook_team)
    assert response.json() == {"status": "queued", "id": outbox[0].id}
    assert len(outbox) == 1
    assert outbox[0].status == OutboxStatus.QUEUED
    assert outbox[0].booking_uid == "BKDEMO0001"
    assert outbox[0].event_type_uid == "ETDEMOINTRO"
    assert outbox[0].payload == json.loads(body)
    assert outbox[0].object_updated_at == datetime(2026, 12, 1, 1, 2, 2, 341000, tzinfo=UTC)


def test_queued_booking_has_sync_log_row(webhook_team: TeamInfo, intro_page: BookingPage) -> None:
    post(webhook_team, sample_body("guest_booked_existing_contact_en.json"))

    [log] = log_rows(webhook_team)
    assert log.outcome == SyncOutcome.QUEUED
    assert log.outbox_id == outbox_rows(webhook_team)[0].id
    assert log.guest_email == "john.doe@example.com"
    assert log.guest_name == "John Doe"
    assert log.booking_page_id == intro_page.id
    assert log.event_type == "guest_booked"


def test_redelivery_is_duplicate(webhook_team: TeamInfo) -> None:
    body = sample_body(NEW_CUSTOMER)
    first = post(webhook_team, body)

    second = post(webhook_team, body)

    assert second.status_code == 200
    assert second.json() == {"status": "duplicate", "id": first.json()["id"]}
    assert len(outbox_rows(webhook_team)) == 1
    assert len(log_rows(webhook_team)) == 1


def test_redelivery_reformatted_is_duplicate(webhook_team: TeamInfo) -> None:
    post(webhook_team, sample_body(NEW_CUSTOMER))
    compact = json.dumps(sample_payload(NEW_CUSTOMER), separators=(",", ":")).encode()

    response = post(webhook_team, compact)

    assert response.status_code == 200
    assert response.json()["status"] == "duplicate"


def test_same_booking_new_state_is_queued(webhook_team: TeamInfo) -> None:
    post(webhook_team, sample_body(NEW_CUSTOMER))

    response = post(webhook_team, sample_body("guest_rescheduled.json"))

    assert response.status_code == 202
    assert len(outbox_rows(webhook_team)) == 2


def test_insert_race_answers_duplicate(webhook_team: TeamInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    body = sample_body(NEW_CUSTOMER)
    runtime = webhook_team.runtime
    now = datetime.now(UTC)
    first = receive_webhook(runtime.engine, runtime.box, webhook_team.slug, signed_headers(body), body, now)
    # The pre-insert check misses the row, as when two deliveries arrive together.
    monkeypatch.setattr("core.webhooks.intake._find_duplicate", _miss_once(first.outbox_id))

    second = receive_webhook(runtime.engine, runtime.box, webhook_team.slug, signed_headers(body), body, now)

    assert second.status == 200
    assert second.body == {"status": "duplicate", "id": first.outbox_id}
    assert len(outbox_rows(webhook_team)) == 1


def _miss_once(outbox_id: int):
    calls = []

    def find(engine, team_id, key):
        calls.append(key)
        return None if len(calls) == 1 else outbox_id

    return find


def test_unknown_event_type_is_stored_as_skipped(webhook_team: TeamInfo) -> None:
    body = json.dumps({"event": "guest_survey_answered", "object": {"uid": "BK9", "eventTypeUid": "ET9"}}).encode()

    response = post(webhook_team, body)

    assert response.status_code == 202
    [outbox] = outbox_rows(webhook_team)
    assert outbox.status == OutboxStatus.DONE
    [log] = log_rows(webhook_team)
    assert log.outcome == SyncOutcome.SKIPPED
    assert log.detail_key == "sync.detail.unknown_event_type"
    assert log.detail_params == {"event_type": "guest_survey_answered"}


def test_unknown_team_is_404(webhook_team: TeamInfo) -> None:
    response = post(webhook_team, sample_body(NEW_CUSTOMER), slug="nobody")

    assert response.status_code == 404
    assert response.json()["error"] == "team_not_found"
    assert outbox_rows(webhook_team) == []


def test_get_is_405_with_allow_header(webhook_team: TeamInfo) -> None:
    response = hooks_client(webhook_team.runtime).get(f"/hooks/jicoo/{webhook_team.slug}")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "signature_missing"),
        ({SIGNATURE_HEADER: "sha256=abc"}, "signature_malformed"),
        ("wrong-secret", "signature_mismatch"),
        ("old", "signature_expired"),
    ],
)
def test_bad_signature_is_401(webhook_team: TeamInfo, headers, code: str) -> None:
    body = sample_body(NEW_CUSTOMER)
    if headers == "wrong-secret":
        headers = signed_headers(body, secret="wrong-secret")
    elif headers == "old":
        headers = signed_headers(body, when=datetime.now(UTC) - timedelta(minutes=6))

    response = post(webhook_team, body, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == code
    assert response.json()["detail"]
    assert outbox_rows(webhook_team) == []


def test_team_without_secret_is_401(webhook_team: TeamInfo) -> None:
    from core.store.db import session_scope
    from core.store.models import Team

    with session_scope(webhook_team.runtime.engine) as session:
        team = session.get(Team, webhook_team.id)
        team.webhook_secret_enc = None
        session.add(team)

    response = post(webhook_team, sample_body(NEW_CUSTOMER))

    assert response.status_code == 401
    assert response.json()["error"] == "signing_secret_not_set"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("not json", "invalid_json"),
        ({"event": "guest_booked", "object": {"uid": "B"}}, "missing_field"),
        ({"event": "guest_booked", "object": {"uid": "B", "eventTypeUid": "E", "contact": {"email": "a@b.c"},
          "startedAt": "soon", "endedAt": "2026-12-10T01:30:00Z"}}, "invalid_time"),
    ],
)
def test_invalid_body_is_400(webhook_team: TeamInfo, payload, code: str) -> None:
    body = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()

    response = post(webhook_team, body)

    assert response.status_code == 400
    assert response.json()["error"] == code
    assert response.json()["detail"]
    assert outbox_rows(webhook_team) == []


def test_oversized_body_is_413(webhook_team: TeamInfo) -> None:
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"

    response = post(webhook_team, body)

    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


def test_oversized_stream_without_length_is_413(webhook_team: TeamInfo) -> None:
    chunk = b" " * 65536

    def chunks():
        for _ in range(10):
            yield chunk

    client = hooks_client(webhook_team.runtime)
    response = client.post(f"/hooks/jicoo/{webhook_team.slug}", content=chunks(), headers={SIGNATURE_HEADER: "t=1,v1=0"})

    assert response.status_code == 413
    assert outbox_rows(webhook_team) == []


def test_intake_wakes_worker(webhook_team: TeamInfo) -> None:
    class Recorder:
        woken = 0

        def wake(self) -> None:
            self.woken += 1

    webhook_team.runtime.worker = Recorder()
    body = sample_body(NEW_CUSTOMER)

    post(webhook_team, body)
    post(webhook_team, body)

    assert webhook_team.runtime.worker.woken == 1


def test_signature_checked_against_given_clock(webhook_team: TeamInfo) -> None:
    runtime = webhook_team.runtime
    body = sample_body(NEW_CUSTOMER)
    signed_at = datetime(2026, 12, 1, 1, 2, 3, tzinfo=UTC)
    headers = {SIGNATURE_HEADER: sign(body, webhook_team.secret, int(signed_at.timestamp()))}

    late = receive_webhook(runtime.engine, runtime.box, webhook_team.slug, headers, body, signed_at + timedelta(hours=1))
    on_time = receive_webhook(runtime.engine, runtime.box, webhook_team.slug, headers, body, signed_at + timedelta(seconds=5))

    assert late.status == 401
    assert on_time.status == 202
