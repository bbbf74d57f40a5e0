"""The four sample webhooks, posted signed to the HTTP endpoint and synced to the demo org."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from core.store.models import BookingPage, SyncLog, SyncOutcome
from core.sync.worker import SyncWorker
from tests.demo_org_fixtures import demo_org, demo_org_server  # noqa: F401 (fixtures)
from tests.sync_fixtures import (  # noqa: F401 (fixtures)
    TeamInfo,
    connected_team,
    hooks_client,
    intro_page,
    sample_body,
    signed_headers,
    store_runtime,
    webhook_team,
)

JOHN_DOE_ID = "0038d0000000001AAA"
ACME_ID = "0018d0000000001AAA"


def post_sample(client, team: TeamInfo, name: str):
    body = sample_body(name)
    return client.post(f"/hooks/jicoo/{team.slug}", content=body, headers=signed_headers(body))


def log_of(team: TeamInfo, outbox_id: int) -> SyncLog:
    with Session(team.runtime.engine) as session:
        return session.exec(select(SyncLog).where(SyncLog.outbox_id == outbox_id)).one()


def only_id(log: SyncLog, sobject: str) -> str:
    [record_id] = [item["id"] for item in log.records if item["sobject"] == sobject]
    return record_id


def by_id(records: list[dict], record_id: str) -> dict | None:
    return next((record for record in records if record["Id"] == record_id), None)


def test_samples_sync_to_demo_org(connected_team: TeamInfo, intro_page: BookingPage, demo_org) -> None:
    client = hooks_client(connected_team.runtime)
    worker = SyncWorker(connected_team.runtime)

    new_customer = post_sample(client, connected_team, "guest_booked_new_customer_ja.json")
    existing = post_sample(client, connected_team, "guest_booked_existing_contact_en.json")
    assert new_customer.status_code == 202
    assert existing.status_code == 202
    assert worker.process_due(datetime.now(UTC)) == 2

    new_log = log_of(connected_team, new_customer.json()["id"])
    assert new_log.outcome == SyncOutcome.CREATED_LEAD
    lead = by_id(demo_org.records("Lead"), only_id(new_log, "Lead"))
    assert (lead["LastName"], lead["FirstName"]) == ("山田", "太郎")
    assert lead["Company"] == "サンプル商事株式会社"
    assert lead["Phone"] == "03-1234-5678"
    event_id = only_id(new_log, "Event")
    event = by_id(demo_org.records("Event"), event_id)
    assert event["WhoId"] == lead["Id"]
    assert event["StartDateTime"].startswith("2026-12-10T01:00:00")

    existing_log = log_of(connected_team, existing.json()["id"])
    assert existing_log.outcome == SyncOutcome.CREATED_EVENT
    contact_event = by_id(demo_org.records("Event"), only_id(existing_log, "Event"))
    assert contact_event["WhoId"] == JOHN_DOE_ID
    assert contact_event["WhatId"] == ACME_ID

    rescheduled = post_sample(client, connected_team, "guest_rescheduled.json")
    assert rescheduled.status_code == 202
    assert worker.process_due(datetime.now(UTC)) == 1
    moved_log = log_of(connected_team, rescheduled.json()["id"])
    assert moved_log.outcome == SyncOutcome.UPDATED_EVENT
    assert only_id(moved_log, "Event") == event_id
    moved = by_id(demo_org.records("Event"), event_id)
    assert moved["StartDateTime"].startswith("2026-12-11T05:00:00")

    cancelled = post_sample(client, connected_team, "guest_cancelled.json")
    assert cancelled.status_code == 202
    assert worker.process_due(datetime.now(UTC)) == 1
    assert log_of(connected_team, cancelled.json()["id"]).outcome == SyncOutcome.DELETED_EVENT
    assert by_id(demo_org.records("Event"), event_id) is None

    replay = post_sample(client, connected_team, "guest_booked_new_customer_ja.json")
    assert replay.status_code == 200
    assert replay.json() == {"status": "duplicate", "id": new_customer.json()["id"]}
    assert worker.process_due(datetime.now(UTC)) == 0
    assert len([r for r in demo_org.records("Lead") if r["Email"] == "taro.yamada@example.co.jp"]) == 1
