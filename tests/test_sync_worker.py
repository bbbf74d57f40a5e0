"""The sync worker against the demo org: every sync rule, retries, ordering and claiming."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from core.auth.audit import Actor
from core.auth.users import create_user
from core.salesforce.connection import open_client
from core.store.db import session_scope
from core.store.models import (
    BookingPage,
    BookingRecord,
    CancellationAction,
    OutboxEvent,
    OutboxStatus,
    OwnerRule,
    Role,
    SalesforceConnection,
    SyncLog,
    SyncOutcome,
)
from core.sync.worker import MAX_ATTEMPTS, RECONNECT_RETRY, SyncWorker, claim_next, retry_failed
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

# Seeded in the demo org.
ADMIN_ID = "0058d0000000001AAA"
HANAKO_ID = "0058d0000000002AAA"
KEN_ID = "0058d0000000003AAA"
OLD_TIMER_ID = "0058d0000000004AAA"
ACME_ID = "0018d0000000001AAA"
JOHN_DOE_ID = "0038d0000000001AAA"
PERSON_CONTACT_ID = "0038d0000000003AAA"
SHARED_CONTACT_ID = "0038d0000000004AAA"
QUEUE_LEAD_ID = "00Q8d0000000002EAA"
CONVERTED_LEAD_ID = "00Q8d0000000004EAA"
DUP_LEAD_NEWER_ID = "00Q8d0000000006EAA"

NEW_CUSTOMER = "guest_booked_new_customer_ja.json"
EXISTING_CONTACT = "guest_booked_existing_contact_en.json"
RESCHEDULED = "guest_rescheduled.json"
CANCELLED = "guest_cancelled.json"

# Signatures are checked against this clock, and the worker runs at it.
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def deliver(team: TeamInfo, payload: dict[str, Any], now: datetime = NOW) -> int:
    """Store a signed delivery through the intake and return its outbox id."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    runtime = team.runtime
    result = receive_webhook(runtime.engine, runtime.box, team.slug, signed_headers(body, when=now), body, now)
    assert result.status == 202, result.body
    return result.outbox_id


def booking(name: str = NEW_CUSTOMER, **object_changes: Any) -> dict[str, Any]:
    payload = sample_payload(name)
    payload["object"].update(object_changes)
    return payload


def guest(email: str, name: str, uid: str) -> dict[str, Any]:
    return booking(EXISTING_CONTACT, uid=uid, contact={"email": email, "name": name})


def owner_of(team: TeamInfo) -> Actor:
    """Return an owner of team as an actor, for the manual retry."""
    user = create_user(team.runtime.engine, "owner@example.com", "Owner", None, NOW)
    add_membership(team.runtime.engine, team.id, user.id, Role.OWNER)
    return Actor(user.id, user.email)


def log_of(team: TeamInfo, outbox_id: int) -> SyncLog:
    with Session(team.runtime.engine) as session:
        return session.exec(select(SyncLog).where(SyncLog.outbox_id == outbox_id)).one()


def outbox_of(team: TeamInfo, outbox_id: int) -> OutboxEvent:
    with Session(team.runtime.engine) as session:
        return session.get(OutboxEvent, outbox_id)


def booking_record(team: TeamInfo, uid: str) -> BookingRecord | None:
    with Session(team.runtime.engine) as session:
        return session.exec(select(BookingRecord).where(BookingRecord.booking_uid == uid)).first()


def record_ids(log: SyncLog, sobject: str) -> list[str]:
    return [item["id"] for item in log.records if item["sobject"] == sobject]


def find(records: list[dict[str, Any]], record_id: str) -> dict[str, Any] | None:
    return next((record for record in records if record["Id"] == record_id), None)


def update_page(team: TeamInfo, **changes: Any) -> None:
    with session_scope(team.runtime.engine) as session:
        page = session.exec(select(BookingPage).where(BookingPage.team_id == team.id)).one()
        for name, value in changes.items():
            setattr(page, name, value)
        session.add(page)


@pytest.fixture
def worker(connected_team: TeamInfo, intro_page: BookingPage) -> SyncWorker:
    """A worker over the connected team's store, not started: tests call process_due."""
    return SyncWorker(connected_team.runtime, clock=lambda: NOW)


# --- new and existing customers ----------------------------------------------------------


def test_new_customer_creates_lead_and_event(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    outbox_id = deliver(connected_team, booking())

    assert worker.process_due(NOW) == 1

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.CREATED_LEAD
    [lead_id] = record_ids(log, "Lead")
    [event_id] = record_ids(log, "Event")
    lead = find(demo_org.records("Lead"), lead_id)
    assert lead["LastName"] == "山田"
    assert lead["FirstName"] == "太郎"
    assert lead["Company"] == "サンプル商事株式会社"
    assert lead["Phone"] == "03-1234-5678"
    assert lead["Email"] == "taro.yamada@example.co.jp"
    assert "ご相談内容: 料金プラン, 導入支援" in lead["Description"]
    # The demo org's assignment rule gives .co.jp Leads to Hanako Sato.
    assert lead["OwnerId"] == HANAKO_ID
    event = find(demo_org.records("Event"), event_id)
    assert event["WhoId"] == lead_id
    assert event["WhatId"] is None
    assert event["Subject"] == "Intro call: 山田　太郎"
    assert event["StartDateTime"].startswith("2026-12-10T01:00:00")
    assert event["OwnerId"] == HANAKO_ID
    assert log.api_calls >= 2
    assert log.error_code is None


def test_new_lead_with_fixed_lead_owner(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    update_page(connected_team, lead_owner_id=KEN_ID)
    outbox_id = deliver(connected_team, booking())

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    lead = find(demo_org.records("Lead"), record_ids(log, "Lead")[0])
    event = find(demo_org.records("Event"), record_ids(log, "Event")[0])
    assert lead["OwnerId"] == KEN_ID
    assert event["OwnerId"] == KEN_ID


def test_queue_assigned_lead_event_fallback(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    # Every non-.jp Lead goes to the Inbound Leads queue, which cannot own an Event.
    outbox_id = deliver(connected_team, guest("new.person@example.com", "New Person", "BKQUEUE1"))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.CREATED_LEAD
    lead = find(demo_org.records("Lead"), record_ids(log, "Lead")[0])
    event = find(demo_org.records("Event"), record_ids(log, "Event")[0])
    assert lead["OwnerId"].startswith("00G")
    assert lead["Company"] == "[not provided]"
    assert lead["FirstName"] == "New"
    assert event["OwnerId"] == ADMIN_ID


def test_new_lead_without_event(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    update_page(connected_team, create_event_on_new_lead=False)
    outbox_id = deliver(connected_team, booking())

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.CREATED_LEAD
    assert record_ids(log, "Event") == []
    assert len(record_ids(log, "Lead")) == 1


def test_new_customer_skipped_when_leads_off(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    update_page(connected_team, create_lead_for_new=False)
    leads_before = len(demo_org.records("Lead"))
    outbox_id = deliver(connected_team, booking())

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.SKIPPED
    assert log.detail_key == "sync.detail.lead_creation_off"
    assert len(demo_org.records("Lead")) == leads_before


def test_existing_contact_gets_event_on_account(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    outbox_id = deliver(connected_team, booking(EXISTING_CONTACT))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.CREATED_EVENT
    assert log.guest_email == "john.doe@example.com"
    event = find(demo_org.records("Event"), record_ids(log, "Event")[0])
    assert event["WhoId"] == JOHN_DOE_ID
    assert event["WhatId"] == ACME_ID
    # John Doe's owner Ken Suzuki is active.
    assert event["OwnerId"] == KEN_ID
    assert event["Description"] == "How did you find out?: SNS, DM"


def test_existing_customer_skipped_when_events_off(connected_team: TeamInfo, worker: SyncWorker) -> None:
    update_page(connected_team, create_event_for_existing=False)
    outbox_id = deliver(connected_team, booking(EXISTING_CONTACT))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.SKIPPED
    assert log.detail_key == "sync.detail.event_for_existing_off"
    assert record_ids(log, "Contact") == [JOHN_DOE_ID]


def test_contact_wins_over_lead(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    outbox_id = deliver(connected_team, guest("Shared@Example.com", "Shared", "BKSHARED1"))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    event = find(demo_org.records("Event"), record_ids(log, "Event")[0])
    assert event["WhoId"] == SHARED_CONTACT_ID


def test_duplicate_leads_pick_latest_modified(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    outbox_id = deliver(connected_team, guest("dup.lead@example.com", "Dana Dup", "BKDUP1"))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    event = find(demo_org.records("Event"), record_ids(log, "Event")[0])
    assert event["WhoId"] == DUP_LEAD_NEWER_ID
    assert event["WhatId"] is None


def test_converted_lead_is_not_matched(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    outbox_id = deliver(connected_team, guest("old.lead@example.com", "Olga Old", "BKOLD1"))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.CREATED_LEAD
    assert CONVERTED_LEAD_ID not in record_ids(log, "Lead")


def test_person_account_is_skipped(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    events_before = len(demo_org.records("Event"))
    outbox_id = deliver(connected_team, guest("person.customer@example.com", "Pat Customer", "BKPERSON1"))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.SKIPPED
    assert log.detail_key == "sync.detail.person_account"
    assert len(demo_org.records("Event")) == events_before


# --- Event owner rules -------------------------------------------------------------------


def test_queue_owned_lead_event_uses_fallback(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    update_page(connected_team, fallback_owner_id=KEN_ID)
    outbox_id = deliver(connected_team, guest("queue.lead@example.org", "Quinn Queue", "BKQ1"))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    event = find(demo_org.records("Event"), record_ids(log, "Event")[0])
    assert event["WhoId"] == QUEUE_LEAD_ID
    assert event["OwnerId"] == KEN_ID


def test_host_rule_matches_active_user(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    update_page(
        connected_team,
        event_owner_rule=OwnerRule.HOST,
        host_emails=["old.timer@demo-org.example", "Hanako.Sato@demo-org.example"],
    )
    outbox_id = deliver(connected_team, booking(EXISTING_CONTACT))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    event = find(demo_org.records("Event"), record_ids(log, "Event")[0])
    assert event["OwnerId"] == HANAKO_ID


def test_inactive_fixed_owner_falls_to_connected_user(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    update_page(connected_team, event_owner_rule=OwnerRule.FIXED, event_owner_id=OLD_TIMER_ID)
    outbox_id = deliver(connected_team, booking(EXISTING_CONTACT))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    event = find(demo_org.records("Event"), record_ids(log, "Event")[0])
    assert event["OwnerId"] == ADMIN_ID


def test_user_lookups_are_cached(connected_team: TeamInfo, worker: SyncWorker) -> None:
    update_page(connected_team, event_owner_rule=OwnerRule.HOST, host_emails=["hanako.sato@demo-org.example"])
    first = deliver(connected_team, booking(EXISTING_CONTACT, uid="BKCACHE1"))
    second = deliver(connected_team, booking(EXISTING_CONTACT, uid="BKCACHE2"))

    worker.process_due(NOW)

    # Lookup, User query and create for the first; the second reuses the User.
    assert log_of(connected_team, first).api_calls == 3
    assert log_of(connected_team, second).api_calls == 2


# --- skips before Salesforce -------------------------------------------------------------


def test_integration_off_is_skipped(connected_team: TeamInfo, worker: SyncWorker) -> None:
    update_page(connected_team, integration_enabled=False)
    outbox_id = deliver(connected_team, booking())

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.SKIPPED
    assert log.detail_key == "sync.detail.integration_off"
    assert log.api_calls == 0
    assert outbox_of(connected_team, outbox_id).status == OutboxStatus.DONE


def test_unknown_booking_page_is_skipped(connected_team: TeamInfo, worker: SyncWorker) -> None:
    outbox_id = deliver(connected_team, booking(eventTypeUid="ETOTHER"))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.SKIPPED
    assert log.detail_key == "sync.detail.unknown_booking_page"
    assert log.detail_params == {"event_type_uid": "ETOTHER"}


def test_cancel_of_unsynced_booking_is_skipped(connected_team: TeamInfo, worker: SyncWorker) -> None:
    outbox_id = deliver(connected_team, booking(CANCELLED))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.SKIPPED
    assert log.detail_key == "sync.detail.cancel_never_synced"


def test_reschedule_of_unsynced_booking_creates_lead(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    outbox_id = deliver(connected_team, booking(RESCHEDULED))

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.CREATED_LEAD
    event = find(demo_org.records("Event"), record_ids(log, "Event")[0])
    assert event["StartDateTime"].startswith("2026-12-11T05:00:00")


# --- reschedules, cancellations and ordering ---------------------------------------------


def test_reschedule_moves_same_event(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    booked = deliver(connected_team, booking())
    worker.process_due(NOW)
    moved = deliver(connected_team, booking(RESCHEDULED))

    worker.process_due(NOW)

    [event_id] = record_ids(log_of(connected_team, booked), "Event")
    log = log_of(connected_team, moved)
    assert log.outcome == SyncOutcome.UPDATED_EVENT
    assert record_ids(log, "Event") == [event_id]
    event = find(demo_org.records("Event"), event_id)
    assert event["StartDateTime"].startswith("2026-12-11T05:00:00")
    assert event["EndDateTime"].startswith("2026-12-11T05:30:00")


@pytest.mark.parametrize(
    ("action", "outcome"),
    [
        (CancellationAction.DELETE, SyncOutcome.DELETED_EVENT),
        (CancellationAction.MARK_CANCELLED, SyncOutcome.UPDATED_EVENT),
        (CancellationAction.KEEP, SyncOutcome.SKIPPED),
    ],
)
def test_cancellation_actions(connected_team: TeamInfo, worker: SyncWorker, demo_org, action, outcome) -> None:
    update_page(connected_team, cancellation_action=action)
    booked = deliver(connected_team, booking())
    worker.process_due(NOW)
    [event_id] = record_ids(log_of(connected_team, booked), "Event")
    cancelled = deliver(connected_team, booking(CANCELLED))

    worker.process_due(NOW)

    assert log_of(connected_team, cancelled).outcome == outcome
    event = find(demo_org.records("Event"), event_id)
    if action == CancellationAction.DELETE:
        assert event is None
    elif action == CancellationAction.MARK_CANCELLED:
        assert event["Subject"] == "[Cancelled] Intro call: 山田　太郎"
    else:
        assert event["Subject"] == "Intro call: 山田　太郎"
    assert booking_record(connected_team, "BKDEMO0001").cancelled is True


def test_event_deleted_in_salesforce_is_reported(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    booked = deliver(connected_team, booking())
    worker.process_due(NOW)
    [event_id] = record_ids(log_of(connected_team, booked), "Event")
    runtime = connected_team.runtime
    open_client(runtime.engine, runtime.box, connected_team.id).delete("Event", event_id)
    cancelled = deliver(connected_team, booking(CANCELLED))

    worker.process_due(NOW)

    log = log_of(connected_team, cancelled)
    assert log.outcome == SyncOutcome.DELETED_EVENT
    assert log.detail_key == "sync.detail.event_already_deleted"


def test_older_event_is_stale(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    deliver(connected_team, booking())
    deliver(connected_team, booking(RESCHEDULED))
    worker.process_due(NOW)
    late_cancel = deliver(connected_team, booking(CANCELLED, updatedAt="2026-12-01T12:00:00.000Z"))

    worker.process_due(NOW)

    log = log_of(connected_team, late_cancel)
    assert log.outcome == SyncOutcome.SKIPPED
    assert log.detail_key == "sync.detail.stale_event"
    record = booking_record(connected_team, "BKDEMO0001")
    assert record.cancelled is False
    assert find(demo_org.records("Event"), record.event_id) is not None


def test_events_of_one_booking_apply_in_order(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    # The reschedule arrives before the booking it changes.
    moved = deliver(connected_team, booking(RESCHEDULED))
    booked = deliver(connected_team, booking())

    assert worker.process_due(NOW) == 2

    assert log_of(connected_team, booked).outcome == SyncOutcome.CREATED_LEAD
    assert log_of(connected_team, moved).outcome == SyncOutcome.UPDATED_EVENT
    [event_id] = record_ids(log_of(connected_team, booked), "Event")
    assert find(demo_org.records("Event"), event_id)["StartDateTime"].startswith("2026-12-11T05:00:00")


def test_newer_event_waits_for_older_retry(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    booked = deliver(connected_team, booking())
    moved = deliver(connected_team, booking(RESCHEDULED))
    demo_org.set_faults(error_code="SERVER_UNAVAILABLE", error_status=503, count=1)

    worker.process_due(NOW)

    assert outbox_of(connected_team, booked).status == OutboxStatus.QUEUED
    assert outbox_of(connected_team, moved).status == OutboxStatus.QUEUED
    assert outbox_of(connected_team, moved).attempts == 0


# --- errors and retries ------------------------------------------------------------------


def test_server_unavailable_stays_queued(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    outbox_id = deliver(connected_team, booking())
    demo_org.set_faults(error_code="SERVER_UNAVAILABLE", error_status=503)

    worker.process_due(NOW)

    outbox = outbox_of(connected_team, outbox_id)
    assert outbox.status == OutboxStatus.QUEUED
    assert outbox.attempts == 1
    assert outbox.next_attempt_at > NOW
    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.QUEUED
    assert log.error_code == "SERVER_UNAVAILABLE"
    assert log.next_step_key.startswith("sf_next.")
    assert log.detail_key == "sync.detail.retry_scheduled"

    demo_org.clear_faults()
    assert worker.process_due(NOW) == 0
    assert worker.process_due(outbox.next_attempt_at) == 1
    assert log_of(connected_team, outbox_id).outcome == SyncOutcome.CREATED_LEAD
    assert log_of(connected_team, outbox_id).error_code is None


def test_transient_error_gives_up_after_max_attempts(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    outbox_id = deliver(connected_team, booking())
    with session_scope(connected_team.runtime.engine) as session:
        outbox = session.get(OutboxEvent, outbox_id)
        outbox.attempts = MAX_ATTEMPTS - 1
        session.add(outbox)
    demo_org.set_faults(error_code="REQUEST_LIMIT_EXCEEDED", error_status=403)

    worker.process_due(NOW)

    assert outbox_of(connected_team, outbox_id).status == OutboxStatus.FAILED
    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.FAILED
    assert log.error_code == "REQUEST_LIMIT_EXCEEDED"
    assert log.attempts == MAX_ATTEMPTS


@pytest.mark.parametrize("error_code", ["REQUIRED_FIELD_MISSING", "DUPLICATES_DETECTED"])
def test_record_error_fails_with_next_step(connected_team: TeamInfo, worker: SyncWorker, demo_org, error_code) -> None:
    leads_before = len(demo_org.records("Lead"))
    outbox_id = deliver(connected_team, booking())
    demo_org.set_faults(error_code=error_code, error_status=400)

    worker.process_due(NOW)

    outbox = outbox_of(connected_team, outbox_id)
    assert outbox.status == OutboxStatus.FAILED
    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.FAILED
    assert log.error_code == error_code
    assert log.error_message
    assert log.next_step_key.startswith("sf_next.")
    assert len(demo_org.records("Lead")) == leads_before


def test_retry_failed_requeues_and_applies(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    outbox_id = deliver(connected_team, booking())
    demo_org.set_faults(error_code="DUPLICATES_DETECTED", error_status=400)
    worker.process_due(NOW)
    demo_org.clear_faults()
    log_id = log_of(connected_team, outbox_id).id

    retry_failed(connected_team.runtime.engine, log_id, NOW, actor=owner_of(connected_team))

    assert log_of(connected_team, outbox_id).outcome == SyncOutcome.QUEUED
    assert outbox_of(connected_team, outbox_id).status == OutboxStatus.QUEUED
    worker.process_due(NOW)
    assert log_of(connected_team, outbox_id).outcome == SyncOutcome.CREATED_LEAD


def test_retry_failed_rejects_other_rows(connected_team: TeamInfo, worker: SyncWorker) -> None:
    outbox_id = deliver(connected_team, booking())
    log_id = log_of(connected_team, outbox_id).id

    owner = owner_of(connected_team)

    with pytest.raises(ValueError, match="only failed rows"):
        retry_failed(connected_team.runtime.engine, log_id, NOW, actor=owner)
    with pytest.raises(LookupError):
        retry_failed(connected_team.runtime.engine, log_id + 100, NOW, actor=owner)


def test_expired_token_is_refreshed(connected_team: TeamInfo, worker: SyncWorker, demo_org) -> None:
    with Session(connected_team.runtime.engine) as session:
        token_before = session.exec(select(SalesforceConnection.access_token_enc)).one()
    outbox_id = deliver(connected_team, booking(EXISTING_CONTACT))
    demo_org.set_faults(expire_tokens=True)

    worker.process_due(NOW)

    assert log_of(connected_team, outbox_id).outcome == SyncOutcome.CREATED_EVENT
    with Session(connected_team.runtime.engine) as session:
        token_after = session.exec(select(SalesforceConnection.access_token_enc)).one()
    assert token_after != token_before


def test_disconnected_team_waits_for_reconnect(webhook_team: TeamInfo, intro_page: BookingPage) -> None:
    worker = SyncWorker(webhook_team.runtime, clock=lambda: NOW)
    outbox_id = deliver(webhook_team, booking())

    worker.process_due(NOW)

    outbox = outbox_of(webhook_team, outbox_id)
    assert outbox.status == OutboxStatus.QUEUED
    assert outbox.attempts == 0
    assert outbox.next_attempt_at == NOW + RECONNECT_RETRY
    log = log_of(webhook_team, outbox_id)
    assert log.outcome == SyncOutcome.QUEUED
    assert log.detail_key == "sync.detail.waiting_for_reconnect"
    assert log.next_step_key == "sf_next.family.ReconnectRequired"


def test_unexpected_error_fails_with_outbox_id(connected_team: TeamInfo, worker: SyncWorker) -> None:
    outbox_id = deliver(connected_team, booking())
    with session_scope(connected_team.runtime.engine) as session:
        outbox = session.get(OutboxEvent, outbox_id)
        outbox.payload = {"event": "guest_booked"}
        session.add(outbox)

    worker.process_due(NOW)

    log = log_of(connected_team, outbox_id)
    assert log.outcome == SyncOutcome.FAILED
    assert log.error_code == "internal_error"
    assert log.next_step_key == "sync.next.internal_error"
    assert log.next_step_params == {"outbox_id": outbox_id}


# --- claiming ----------------------------------------------------------------------------


def test_claim_is_exclusive(webhook_team: TeamInfo) -> None:
    outbox_id = deliver(webhook_team, booking())

    first = claim_next(webhook_team.runtime.engine, NOW)
    second = claim_next(webhook_team.runtime.engine, NOW)

    assert first.outbox_id == outbox_id
    assert second is None
    assert outbox_of(webhook_team, outbox_id).status == OutboxStatus.PROCESSING


def test_stuck_row_is_reclaimed(connected_team: TeamInfo, worker: SyncWorker) -> None:
    crashed_at = NOW - timedelta(minutes=11)
    outbox_id = deliver(connected_team, booking(), now=crashed_at)
    claim_next(connected_team.runtime.engine, crashed_at)

    assert worker.process_due(NOW - timedelta(minutes=5)) == 0
    assert worker.process_due(NOW) == 1

    assert log_of(connected_team, outbox_id).outcome == SyncOutcome.CREATED_LEAD
    assert outbox_of(connected_team, outbox_id).attempts == 2


def test_worker_thread_start_and_stop(store_runtime) -> None:
    worker = SyncWorker(store_runtime, clock=lambda: NOW)

    worker.start()
    alive = worker.is_alive()
    worker.stop()

    assert alive is True
    assert worker.is_alive() is False
