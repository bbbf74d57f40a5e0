"""The sync log row's attempt count after a manual retry of a failed event."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import Session, select

from core.auth.audit import Actor
from core.auth.users import create_user
from core.store.models import BookingPage, OutboxEvent, Role, SyncLog, SyncOutcome
from core.sync.worker import SyncWorker, retry_failed
from core.webhooks.intake import receive_webhook
from tests.auth_fixtures import add_membership
from tests.demo_org_fixtures import demo_org, demo_org_server  # noqa: F401 (fixtures)
from tests.sync_fixtures import (  # noqa: F401 (fixtures)
    TeamInfo,
    connected_team,
    intro_page,
    sample_payload,
    signed_headers,
    store_runtime,
    webhook_team,
)

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def deliver_new_customer(team: TeamInfo) -> int:
    body = json.dumps(sample_payload("guest_booked_new_customer_ja.json"), ensure_ascii=False).encode("utf-8")
    runtime = team.runtime
    result = receive_webhook(runtime.engine, runtime.box, team.slug, signed_headers(body, when=NOW), body, NOW)
    assert result.status == 202, result.body
    return result.outbox_id


def owner_of(team: TeamInfo) -> Actor:
    user = create_user(team.runtime.engine, "owner@example.com", "Owner", None, NOW)
    add_membership(team.runtime.engine, team.id, user.id, Role.OWNER)
    return Actor(user.id, user.email)


def row_of(team: TeamInfo, outbox_id: int) -> tuple[SyncLog, OutboxEvent]:
    with Session(team.runtime.engine) as session:
        log = session.exec(select(SyncLog).where(SyncLog.outbox_id == outbox_id)).one()
        return log, session.get(OutboxEvent, outbox_id)


def test_attempts_add_up_across_retries(
    connected_team: TeamInfo, intro_page: BookingPage, demo_org
) -> None:
    worker = SyncWorker(connected_team.runtime, clock=lambda: NOW)
    outbox_id = deliver_new_customer(connected_team)
    demo_org.set_faults(error_code="DUPLICATES_DETECTED", error_status=400)
    worker.process_due(NOW)
    owner = owner_of(connected_team)
    failed, _ = row_of(connected_team, outbox_id)
    assert failed.attempts == 1

    retry_failed(connected_team.runtime.engine, failed.id, NOW, actor=owner)
    queued, _ = row_of(connected_team, outbox_id)
    assert queued.outcome == SyncOutcome.QUEUED
    assert queued.attempts == 1

    worker.process_due(NOW)
    failed_again, _ = row_of(connected_team, outbox_id)
    assert failed_again.outcome == SyncOutcome.FAILED
    assert failed_again.attempts == 2

    demo_org.clear_faults()
    retry_failed(connected_team.runtime.engine, failed.id, NOW, actor=owner)
    worker.process_due(NOW)
    created, outbox = row_of(connected_team, outbox_id)
    assert created.outcome == SyncOutcome.CREATED_LEAD
    assert created.attempts == 3
    # The automatic retry budget restarts at each manual retry.
    assert outbox.attempts == 1
