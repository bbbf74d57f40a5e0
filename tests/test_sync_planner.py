"""Sync planning rules, as pure functions of the event, page settings and lookup results."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.store.models import BookingPage, BookingRecord, CancellationAction, NameMode, OwnerRule, SyncOutcome
from core.sync.planner import (
    CANCELLED_PREFIX,
    COMPANY_NOT_PROVIDED,
    DESCRIPTION_MAX,
    SUBJECT_MAX,
    CreateEvent,
    CreateLead,
    DeleteEvent,
    GuestMatch,
    Skip,
    UpdateEvent,
    UserLookup,
    choose_event_owner,
    event_fields,
    lead_fields,
    owner_lookup_needs,
    pick_guest,
    plan_before_lookup,
    plan_booking,
    render_subject,
)
from core.webhooks.jicoo import Answer, BookingEvent, parse_event

SAMPLES = Path(__file__).resolve().parent / "samples" / "jicoo"
NOW = datetime(2026, 12, 1, tzinfo=UTC)

OWNER = "005000000000001AAA"
HOST = "005000000000002AAA"
FIXED = "005000000000003AAA"
FALLBACK = "005000000000004AAA"
CONNECTED = "005000000000009AAA"
QUEUE = "00G000000000001AAA"
CONTACT = GuestMatch("Contact", "003000000000001AAA", owner_id=OWNER, account_id="001000000000001AAA")
LEAD = GuestMatch("Lead", "00Q000000000001AAA", owner_id=OWNER)


def sample(name: str) -> BookingEvent:
    return parse_event((SAMPLES / name).read_bytes())


@pytest.fixture
def new_customer_booking() -> BookingEvent:
    return sample("guest_booked_new_customer_ja.json")


@pytest.fixture
def existing_contact_booking() -> BookingEvent:
    return sample("guest_booked_existing_contact_en.json")


@pytest.fixture
def enabled_page() -> BookingPage:
    return BookingPage(
        id=1,
        team_id=1,
        name="Intro call",
        event_type_uid="ETDEMOINTRO",
        integration_enabled=True,
        answer_mapping={"会社名": "Company", "電話番号": "Phone"},
        updated_at=NOW,
    )


@pytest.fixture
def synced_record() -> BookingRecord:
    return BookingRecord(
        team_id=1,
        booking_uid="BKDEMO0001",
        who_id=LEAD.id,
        lead_id=LEAD.id,
        event_id="00U000000000001AAA",
        applied_updated_at=datetime(2026, 12, 1, 1, 2, 2, 341000, tzinfo=UTC),
    )


# --- before lookup -------------------------------------------------------------------------


def test_unknown_page_is_skipped(new_customer_booking: BookingEvent) -> None:
    plan = plan_before_lookup(new_customer_booking, None, None)

    assert plan == Skip("sync.detail.unknown_booking_page", {"event_type_uid": "ETDEMOINTRO"})


def test_integration_off_is_skipped(new_customer_booking: BookingEvent, enabled_page: BookingPage) -> None:
    enabled_page.integration_enabled = False

    plan = plan_before_lookup(new_customer_booking, enabled_page, None)

    assert isinstance(plan, Skip)
    assert plan.detail_key == "sync.detail.integration_off"
    assert plan.detail_params == {"page_name": "Intro call"}


def test_new_booking_needs_lookup(new_customer_booking: BookingEvent, enabled_page: BookingPage) -> None:
    assert plan_before_lookup(new_customer_booking, enabled_page, None) is None


def test_reschedule_of_synced_booking_moves_event(enabled_page: BookingPage, synced_record: BookingRecord) -> None:
    plan = plan_before_lookup(sample("guest_rescheduled.json"), enabled_page, synced_record)

    assert plan == UpdateEvent(
        event_id=synced_record.event_id,
        fields={"StartDateTime": "2026-12-11T05:00:00Z", "EndDateTime": "2026-12-11T05:30:00Z"},
        detail_key="sync.detail.event_moved",
    )
    assert plan.outcome is SyncOutcome.UPDATED_EVENT


def test_reschedule_of_unsynced_booking_needs_lookup(enabled_page: BookingPage) -> None:
    assert plan_before_lookup(sample("guest_rescheduled.json"), enabled_page, None) is None


def test_older_event_is_stale(enabled_page: BookingPage, synced_record: BookingRecord) -> None:
    synced_record.applied_updated_at = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)

    plan = plan_before_lookup(sample("guest_rescheduled.json"), enabled_page, synced_record)

    assert isinstance(plan, Skip)
    assert plan.detail_key == "sync.detail.stale_event"
    assert plan.marks_cancelled is False


def test_cancel_deletes_event(enabled_page: BookingPage, synced_record: BookingRecord) -> None:
    plan = plan_before_lookup(sample("guest_cancelled.json"), enabled_page, synced_record)

    assert plan == DeleteEvent(event_id=synced_record.event_id)


def test_cancel_marks_event_cancelled(enabled_page: BookingPage, synced_record: BookingRecord) -> None:
    enabled_page.cancellation_action = CancellationAction.MARK_CANCELLED

    plan = plan_before_lookup(sample("guest_cancelled.json"), enabled_page, synced_record)

    assert isinstance(plan, UpdateEvent)
    assert plan.fields == {"Subject": "[Cancelled] Intro call: 山田　太郎"}
    assert plan.marks_cancelled is True


def test_cancel_mark_keeps_subject_within_limit(enabled_page: BookingPage, synced_record: BookingRecord) -> None:
    enabled_page.cancellation_action = CancellationAction.MARK_CANCELLED
    enabled_page.subject_template = "x" * 300

    plan = plan_before_lookup(sample("guest_cancelled.json"), enabled_page, synced_record)

    assert len(plan.fields["Subject"]) == SUBJECT_MAX
    assert plan.fields["Subject"].startswith(CANCELLED_PREFIX)


def test_cancel_keep_changes_nothing(enabled_page: BookingPage, synced_record: BookingRecord) -> None:
    enabled_page.cancellation_action = CancellationAction.KEEP

    plan = plan_before_lookup(sample("guest_cancelled.json"), enabled_page, synced_record)

    assert isinstance(plan, Skip)
    assert plan.detail_key == "sync.detail.cancellation_kept"
    assert plan.marks_cancelled is True


def test_cancel_of_unsynced_booking_is_skipped(enabled_page: BookingPage) -> None:
    plan = plan_before_lookup(sample("guest_cancelled.json"), enabled_page, None)

    assert plan == Skip("sync.detail.cancel_never_synced", {"booking_uid": "BKDEMO0001"})


def test_second_cancel_is_skipped(enabled_page: BookingPage, synced_record: BookingRecord) -> None:
    synced_record.cancelled = True

    plan = plan_before_lookup(sample("guest_cancelled.json"), enabled_page, synced_record)

    assert isinstance(plan, Skip)
    assert plan.detail_key == "sync.detail.already_cancelled"


def test_cancel_without_event_is_skipped(enabled_page: BookingPage, synced_record: BookingRecord) -> None:
    synced_record.event_id = None

    plan = plan_before_lookup(sample("guest_cancelled.json"), enabled_page, synced_record)

    assert isinstance(plan, Skip)
    assert plan.detail_key == "sync.detail.cancel_without_event"


# --- guest lookup results ----------------------------------------------------------------


def test_pick_guest_prefers_contact_over_lead() -> None:
    contacts = [{"Id": CONTACT.id, "OwnerId": OWNER, "AccountId": CONTACT.account_id, "Account": {"IsPersonAccount": False}}]
    leads = [{"Id": LEAD.id, "OwnerId": OWNER}]

    assert pick_guest(contacts, leads) == CONTACT


def test_pick_guest_takes_first_row_of_each_list() -> None:
    leads = [{"Id": "00Q000000000009AAA", "OwnerId": QUEUE}, {"Id": LEAD.id, "OwnerId": OWNER}]

    assert pick_guest([], leads) == GuestMatch("Lead", "00Q000000000009AAA", owner_id=QUEUE)


def test_pick_guest_flags_person_account() -> None:
    contacts = [{"Id": CONTACT.id, "AccountId": "001000000000002AAA", "Account": {"IsPersonAccount": True}}]

    assert pick_guest(contacts, []).is_person_account is True


def test_pick_guest_returns_none_without_rows() -> None:
    assert pick_guest([], []) is None


# --- bookings after lookup ---------------------------------------------------------------


def test_new_customer_gets_lead_and_event(new_customer_booking: BookingEvent, enabled_page: BookingPage) -> None:
    plan = plan_booking(new_customer_booking, enabled_page, None, CONNECTED)

    assert isinstance(plan, CreateLead)
    assert plan.lead_fields == {
        "LastName": "山田",
        "FirstName": "太郎",
        "Email": "taro.yamada@example.co.jp",
        "Company": "サンプル商事株式会社",
        "Phone": "03-1234-5678",
        "Description": "ご相談内容: 料金プラン, 導入支援",
    }
    assert plan.assign_by_rule is True
    assert plan.follow_lead_owner is True
    assert plan.event_fields["Subject"] == "Intro call: 山田　太郎"
    assert plan.event_fields["StartDateTime"] == "2026-12-10T01:00:00Z"
    assert plan.event_fields["EndDateTime"] == "2026-12-10T01:30:00Z"
    assert plan.event_fields["OwnerId"] == CONNECTED
    assert "WhatId" not in plan.event_fields


def test_new_lead_with_fixed_owner_skips_assignment(new_customer_booking: BookingEvent, enabled_page: BookingPage) -> None:
    enabled_page.lead_owner_id = OWNER

    plan = plan_booking(new_customer_booking, enabled_page, None, OWNER)

    assert plan.assign_by_rule is False
    assert plan.follow_lead_owner is False
    assert plan.lead_fields["OwnerId"] == OWNER


def test_new_lead_without_event_when_turned_off(new_customer_booking: BookingEvent, enabled_page: BookingPage) -> None:
    enabled_page.create_event_on_new_lead = False

    plan = plan_booking(new_customer_booking, enabled_page, None, CONNECTED)

    assert isinstance(plan, CreateLead)
    assert plan.event_fields is None


def test_new_customer_skipped_when_lead_creation_off(new_customer_booking: BookingEvent, enabled_page: BookingPage) -> None:
    enabled_page.create_lead_for_new = False

    plan = plan_booking(new_customer_booking, enabled_page, None, CONNECTED)

    assert plan == Skip("sync.detail.lead_creation_off", {"page_name": "Intro call"})


def test_contact_gets_event_with_account(existing_contact_booking: BookingEvent, enabled_page: BookingPage) -> None:
    plan = plan_booking(existing_contact_booking, enabled_page, CONTACT, OWNER)

    assert isinstance(plan, CreateEvent)
    assert plan.fields["WhoId"] == CONTACT.id
    assert plan.fields["WhatId"] == CONTACT.account_id
    assert plan.fields["OwnerId"] == OWNER
    assert plan.fields["Description"] == "How did you find out?: SNS, DM"


def test_lead_gets_event_without_what_id(existing_contact_booking: BookingEvent, enabled_page: BookingPage) -> None:
    plan = plan_booking(existing_contact_booking, enabled_page, LEAD, OWNER)

    assert isinstance(plan, CreateEvent)
    assert plan.fields["WhoId"] == LEAD.id
    assert "WhatId" not in plan.fields


def test_person_account_is_skipped(existing_contact_booking: BookingEvent, enabled_page: BookingPage) -> None:
    person = replace(CONTACT, is_person_account=True)

    plan = plan_booking(existing_contact_booking, enabled_page, person, OWNER)

    assert isinstance(plan, Skip)
    assert plan.detail_key == "sync.detail.person_account"
    assert plan.records[0].id == CONTACT.id


def test_existing_customer_skipped_when_turned_off(existing_contact_booking: BookingEvent, enabled_page: BookingPage) -> None:
    enabled_page.create_event_for_existing = False

    plan = plan_booking(existing_contact_booking, enabled_page, CONTACT, OWNER)

    assert isinstance(plan, Skip)
    assert plan.detail_key == "sync.detail.event_for_existing_off"


# --- field values ------------------------------------------------------------------------


def test_lead_company_falls_back_to_placeholder(new_customer_booking: BookingEvent, enabled_page: BookingPage) -> None:
    enabled_page.answer_mapping = {}

    fields = lead_fields(new_customer_booking, enabled_page)

    assert fields["Company"] == COMPANY_NOT_PROVIDED
    assert "Phone" not in fields
    assert fields["Description"].splitlines() == [
        "会社名: サンプル商事株式会社",
        "電話番号: 03-1234-5678",
        "ご相談内容: 料金プラン, 導入支援",
    ]


def test_lead_source_from_answer_before_page(new_customer_booking: BookingEvent, enabled_page: BookingPage) -> None:
    enabled_page.lead_source = "Web"
    assert lead_fields(new_customer_booking, enabled_page)["LeadSource"] == "Web"

    enabled_page.answer_mapping = {"ご相談内容": "LeadSource"}
    assert lead_fields(new_customer_booking, enabled_page)["LeadSource"] == "料金プラン, 導入支援"


def test_lead_description_puts_mapped_answer_first(new_customer_booking: BookingEvent, enabled_page: BookingPage) -> None:
    enabled_page.answer_mapping = {"ご相談内容": "Description", "会社名": "Company", "電話番号": "Industry"}

    fields = lead_fields(new_customer_booking, enabled_page)

    assert fields["Description"] == "料金プラン, 導入支援\n電話番号: 03-1234-5678"
    assert "Industry" not in fields


def test_lead_name_modes(new_customer_booking: BookingEvent, enabled_page: BookingPage) -> None:
    enabled_page.name_mode = NameMode.LAST_NAME_ONLY

    fields = lead_fields(new_customer_booking, enabled_page)

    assert fields["LastName"] == "山田　太郎"
    assert "FirstName" not in fields


def test_lead_without_name_uses_email_local_part(enabled_page: BookingPage) -> None:
    event = replace(sample("guest_booked_new_customer_ja.json"), guest_name="")

    assert lead_fields(event, enabled_page)["LastName"] == "taro.yamada"


def test_western_name_split(existing_contact_booking: BookingEvent, enabled_page: BookingPage) -> None:
    fields = lead_fields(existing_contact_booking, enabled_page)

    assert fields["FirstName"] == "John"
    assert fields["LastName"] == "Doe"


def test_subject_template_placeholders(new_customer_booking: BookingEvent, enabled_page: BookingPage) -> None:
    enabled_page.subject_template = "{page_name} / {guest_name} <{guest_email}> {unknown} {guest_name.__class__}"

    subject = render_subject(enabled_page, new_customer_booking)

    assert subject == "Intro call / 山田　太郎 <taro.yamada@example.co.jp> {unknown} {guest_name.__class__}"


def test_event_description_cut_to_limit(enabled_page: BookingPage) -> None:
    event = replace(sample("guest_booked_new_customer_ja.json"), answers=(Answer("q", ("x" * 40_000,)),))

    fields = event_fields(event, enabled_page, who_id=None, what_id=None, owner_id=None)

    assert len(fields["Description"]) == DESCRIPTION_MAX
    assert "OwnerId" not in fields


def test_event_times_are_utc(enabled_page: BookingPage) -> None:
    raw = json.loads((SAMPLES / "guest_booked_new_customer_ja.json").read_text(encoding="utf-8"))
    raw["object"]["startedAt"] = "2026-12-10T10:00:00+09:00"
    raw["object"]["endedAt"] = "2026-12-10T10:30:00+09:00"
    event = parse_event(json.dumps(raw).encode())

    fields = event_fields(event, enabled_page, who_id=None, what_id=None, owner_id=None)

    assert fields["StartDateTime"] == "2026-12-10T01:00:00Z"
    assert fields["EndDateTime"] == "2026-12-10T01:30:00Z"


# --- Event owner -------------------------------------------------------------------------


def test_owner_record_owner_when_active(enabled_page: BookingPage) -> None:
    users = UserLookup(active_ids=frozenset({OWNER}))

    assert choose_event_owner(enabled_page, OWNER, users, CONNECTED) == OWNER


@pytest.mark.parametrize("record_owner", [QUEUE, OWNER, None])
def test_owner_falls_to_fallback(enabled_page: BookingPage, record_owner: str | None) -> None:
    enabled_page.fallback_owner_id = FALLBACK
    users = UserLookup(active_ids=frozenset({FALLBACK}))  # OWNER inactive

    assert choose_event_owner(enabled_page, record_owner, users, CONNECTED) == FALLBACK


def test_owner_falls_to_connected_user(enabled_page: BookingPage) -> None:
    assert choose_event_owner(enabled_page, QUEUE, UserLookup(), CONNECTED) == CONNECTED


def test_owner_host_matched_by_email(enabled_page: BookingPage) -> None:
    enabled_page.event_owner_rule = OwnerRule.HOST
    enabled_page.host_emails = ["gone@example.com", "Host@Example.com"]
    users = UserLookup(active_ids=frozenset({HOST}), id_by_email={"host@example.com": HOST})

    assert choose_event_owner(enabled_page, OWNER, users, CONNECTED) == HOST


def test_owner_fixed_user(enabled_page: BookingPage) -> None:
    enabled_page.event_owner_rule = OwnerRule.FIXED
    enabled_page.event_owner_id = FIXED

    assert choose_event_owner(enabled_page, OWNER, UserLookup(active_ids=frozenset({FIXED, OWNER})), CONNECTED) == FIXED
    assert choose_event_owner(enabled_page, OWNER, UserLookup(active_ids=frozenset({OWNER})), CONNECTED) == CONNECTED


def test_owner_lookup_needs_per_rule(enabled_page: BookingPage) -> None:
    enabled_page.fallback_owner_id = FALLBACK
    assert owner_lookup_needs(enabled_page, OWNER) == ({OWNER, FALLBACK}, [])
    assert owner_lookup_needs(enabled_page, QUEUE) == ({FALLBACK}, [])

    enabled_page.event_owner_rule = OwnerRule.HOST
    enabled_page.host_emails = [" Host@Example.com "]
    assert owner_lookup_needs(enabled_page, OWNER) == ({FALLBACK}, ["host@example.com"])

    enabled_page.event_owner_rule = OwnerRule.FIXED
    enabled_page.event_owner_id = FIXED
    assert owner_lookup_needs(enabled_page, OWNER) == ({FIXED, FALLBACK}, [])
