"""Decide what a booking event changes in Salesforce, without calling it.

Planning has two steps. plan_before_lookup() settles every event that needs no
Salesforce data: skips, stale events, cancellations and reschedules of a synced
booking. The rest need the guest looked up by email first; plan_booking() then
turns the lookup result and the chosen Event owner into a Lead or Event plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.store.models import BookingPage, BookingRecord, CancellationAction, OwnerRule, SyncOutcome
from core.sync.names import split_name
from core.webhooks.jicoo import Answer, BookingEvent, EventKind

# Lead.Company is required (Salesforce Object Reference, Lead), and the booking form
# may not ask for it. This placeholder is what the Lead gets then; sales staff
# recognise it and replace it with the real company.
COMPANY_NOT_PROVIDED = "[not provided]"

# Prefix of the Event subject for cancellation_action "mark_cancelled". It stays English
# for every language so that list views and reports can filter on one value.
CANCELLED_PREFIX = "[Cancelled] "

# Field lengths from the Salesforce Object Reference (Lead, Event).
SUBJECT_MAX = 255
DESCRIPTION_MAX = 32_000
COMPANY_MAX = 255
PHONE_MAX = 40
LEAD_SOURCE_MAX = 255

# Lead fields a booking answer may be mapped to; answers mapped elsewhere go to Description.
MAPPABLE_LEAD_FIELDS = frozenset({"Company", "Phone", "LeadSource", "Description"})

USER_ID_PREFIX = "005"

_SUBJECT_PLACEHOLDER = re.compile(r"\{(page_name|guest_name|guest_email)\}")


# --- plans -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordRef:
    sobject: str
    id: str

    def as_log(self) -> dict[str, str]:
        return {"sobject": self.sobject, "id": self.id}


@dataclass(frozen=True)
class Skip:
    """Change nothing in Salesforce, for the reason in detail_key."""

    detail_key: str
    detail_params: dict[str, Any] = field(default_factory=dict)
    records: tuple[RecordRef, ...] = ()
    # The booking is cancelled from now on, though no record changes.
    marks_cancelled: bool = False
    outcome: SyncOutcome = SyncOutcome.SKIPPED


@dataclass(frozen=True)
class CreateLead:
    """Create a Lead for a new customer and, when event_fields is set, its Event in the same request."""

    lead_fields: dict[str, Any]
    event_fields: dict[str, Any] | None
    # No OwnerId on the Lead: the org's active lead assignment rule picks the owner.
    assign_by_rule: bool
    # The Event owner follows the Lead owner that the assignment rule picks.
    follow_lead_owner: bool = False
    outcome: SyncOutcome = SyncOutcome.CREATED_LEAD


@dataclass(frozen=True)
class CreateEvent:
    """Create an Event on an existing Lead or Contact."""

    fields: dict[str, Any]
    who: RecordRef
    outcome: SyncOutcome = SyncOutcome.CREATED_EVENT


@dataclass(frozen=True)
class UpdateEvent:
    """Change the Event a booking created earlier."""

    event_id: str
    fields: dict[str, Any]
    detail_key: str
    marks_cancelled: bool = False
    outcome: SyncOutcome = SyncOutcome.UPDATED_EVENT


@dataclass(frozen=True)
class DeleteEvent:
    """Delete the Event of a cancelled booking."""

    event_id: str
    outcome: SyncOutcome = SyncOutcome.DELETED_EVENT


Plan = Skip | CreateLead | CreateEvent | UpdateEvent | DeleteEvent


@dataclass(frozen=True)
class GuestMatch:
    """The Contact or unconverted Lead whose Email matches the guest's."""

    sobject: str  # "Contact" or "Lead"
    id: str
    owner_id: str | None = None
    account_id: str | None = None
    is_person_account: bool = False

    @property
    def ref(self) -> RecordRef:
        return RecordRef(self.sobject, self.id)


@dataclass(frozen=True)
class UserLookup:
    """Active Users known for one owner decision."""

    active_ids: frozenset[str] = frozenset()
    # Lower-cased email -> Id of an active User with that email.
    id_by_email: Mapping[str, str] = field(default_factory=dict)


# --- step 1: events that need no lookup --------------------------------------------------


def plan_before_lookup(event: BookingEvent, page: BookingPage | None, record: BookingRecord | None) -> Plan | None:
    """Return the plan for event when it needs no Salesforce data, else None.

    None means: look the guest up, then call plan_booking().
    """
    if page is None:
        return Skip("sync.detail.unknown_booking_page", {"event_type_uid": event.event_type_uid})
    if not page.integration_enabled:
        return Skip("sync.detail.integration_off", {"page_name": page.name})
    if event.kind is EventKind.UNKNOWN:
        return Skip("sync.detail.unknown_event_type", {"event_type": event.event_type})
    if _is_stale(event, record):
        return Skip(
            "sync.detail.stale_event",
            {"updated_at": event.updated_at.isoformat(), "applied_updated_at": record.applied_updated_at.isoformat()},
        )

    if event.kind is EventKind.CANCELLED:
        return _plan_cancellation(event, page, record)

    if record is not None and record.event_id and not record.cancelled:
        # A reschedule, or a second booked event for a booking already synced.
        return UpdateEvent(
            event_id=record.event_id,
            fields={"StartDateTime": format_datetime(event.started_at), "EndDateTime": format_datetime(event.ended_at)},
            detail_key="sync.detail.event_moved",
        )
    return None


def _is_stale(event: BookingEvent, record: BookingRecord | None) -> bool:
    if record is None or record.applied_updated_at is None or event.updated_at is None:
        return False
    return event.updated_at < record.applied_updated_at


def _plan_cancellation(event: BookingEvent, page: BookingPage, record: BookingRecord | None) -> Plan:
    if record is None:
        return Skip("sync.detail.cancel_never_synced", {"booking_uid": event.booking_uid})
    if record.cancelled:
        return Skip("sync.detail.already_cancelled", {"booking_uid": event.booking_uid})
    if not record.event_id:
        return Skip("sync.detail.cancel_without_event", {"booking_uid": event.booking_uid}, marks_cancelled=True)

    action = page.cancellation_action
    if action == CancellationAction.DELETE:
        return DeleteEvent(event_id=record.event_id)
    if action == CancellationAction.MARK_CANCELLED:
        subject = (CANCELLED_PREFIX + render_subject(page, event))[:SUBJECT_MAX]
        return UpdateEvent(
            event_id=record.event_id,
            fields={"Subject": subject},
            detail_key="sync.detail.event_marked_cancelled",
            marks_cancelled=True,
        )
    return Skip(
        "sync.detail.cancellation_kept",
        {"booking_uid": event.booking_uid},
        records=(RecordRef("Event", record.event_id),),
        marks_cancelled=True,
    )


# --- step 2: bookings after the guest lookup ---------------------------------------------


def pick_guest(contacts: Iterable[Mapping[str, Any]], leads: Iterable[Mapping[str, Any]]) -> GuestMatch | None:
    """Return the guest's record from lookup query rows: a Contact wins over a Lead.

    Each list must be ordered most recently modified first (ORDER BY LastModifiedDate DESC).
    """
    for row in contacts:
        account = row.get("Account") or {}
        return GuestMatch(
            sobject="Contact",
            id=row["Id"],
            owner_id=row.get("OwnerId"),
            account_id=row.get("AccountId"),
            is_person_account=bool(account.get("IsPersonAccount")),
        )
    for row in leads:
        return GuestMatch(sobject="Lead", id=row["Id"], owner_id=row.get("OwnerId"))
    return None


def record_owner_id(page: BookingPage, guest: GuestMatch | None) -> str | None:
    """Return the owner of the record the Event will hang on, if known before creating it."""
    if guest is not None:
        return guest.owner_id
    return page.lead_owner_id


def owner_lookup_needs(page: BookingPage, record_owner: str | None) -> tuple[set[str], list[str]]:
    """Return the User Ids whose IsActive and the emails whose active User choose_event_owner() needs."""
    ids: set[str] = set()
    emails: list[str] = []
    if page.event_owner_rule == OwnerRule.RECORD_OWNER and is_user_id(record_owner):
        ids.add(record_owner)
    elif page.event_owner_rule == OwnerRule.HOST:
        emails = [email.strip().lower() for email in page.host_emails if email.strip()]
    elif page.event_owner_rule == OwnerRule.FIXED and is_user_id(page.event_owner_id):
        ids.add(page.event_owner_id)
    if is_user_id(page.fallback_owner_id):
        ids.add(page.fallback_owner_id)
    return ids, emails


def choose_event_owner(
    page: BookingPage, record_owner: str | None, users: UserLookup, connected_user_id: str | None
) -> str | None:
    """Return the OwnerId for a booking's Event by the page's owner rule.

    The rule's User comes first (record owner, first host with an active User,
    or the fixed User), then page.fallback_owner_id, then the connected user.
    A queue (00G...) or an inactive User is passed over. None leaves OwnerId
    unset, so Salesforce makes the connected user the owner.
    """
    candidates: list[str | None] = []
    if page.event_owner_rule == OwnerRule.RECORD_OWNER:
        candidates.append(record_owner)
    elif page.event_owner_rule == OwnerRule.HOST:
        candidates.extend(users.id_by_email.get(email.strip().lower()) for email in page.host_emails)
    elif page.event_owner_rule == OwnerRule.FIXED:
        candidates.append(page.event_owner_id)
    candidates.append(page.fallback_owner_id)

    for candidate in candidates:
        if is_user_id(candidate) and candidate in users.active_ids:
            return candidate
    return connected_user_id


def plan_booking(
    event: BookingEvent, page: BookingPage, guest: GuestMatch | None, event_owner_id: str | None
) -> Plan:
    """Return the plan for a booking whose guest lookup found guest (None: a new customer)."""
    if guest is None:
        return _plan_new_customer(event, page, event_owner_id)

    if guest.is_person_account:
        return Skip("sync.detail.person_account", {"contact_id": guest.id}, records=(guest.ref,))
    if not page.create_event_for_existing:
        return Skip("sync.detail.event_for_existing_off", {"page_name": page.name}, records=(guest.ref,))

    # A Lead cannot be related to an Account, so only a Contact's Event gets a WhatId.
    what_id = guest.account_id if guest.sobject == "Contact" else None
    fields = event_fields(event, page, who_id=guest.id, what_id=what_id, owner_id=event_owner_id)
    return CreateEvent(fields=fields, who=guest.ref)


def _plan_new_customer(event: BookingEvent, page: BookingPage, event_owner_id: str | None) -> Plan:
    if not page.create_lead_for_new:
        return Skip("sync.detail.lead_creation_off", {"page_name": page.name})

    assign_by_rule = not page.lead_owner_id
    fields = None
    if page.create_event_on_new_lead:
        # WhoId is filled in by the executor with a reference to the new Lead.
        fields = event_fields(event, page, who_id=None, what_id=None, owner_id=event_owner_id)
    return CreateLead(
        lead_fields=lead_fields(event, page),
        event_fields=fields,
        assign_by_rule=assign_by_rule,
        follow_lead_owner=fields is not None and assign_by_rule and page.event_owner_rule == OwnerRule.RECORD_OWNER,
    )


# --- field values ------------------------------------------------------------------------


def lead_fields(event: BookingEvent, page: BookingPage) -> dict[str, Any]:
    """Return the fields of the Lead created for a new customer."""
    name = split_name(event.guest_name, page.name_mode)
    # LastName is required; a guest who left the name blank gets the email's local part.
    last_name = name.last_name or event.guest_email.split("@", 1)[0]
    mapped, unmapped = map_answers(event.answers, page.answer_mapping)

    fields: dict[str, Any] = {"LastName": last_name}
    if name.first_name:
        fields["FirstName"] = name.first_name
    fields["Email"] = event.guest_email
    fields["Company"] = (mapped.get("Company") or COMPANY_NOT_PROVIDED)[:COMPANY_MAX]
    if mapped.get("Phone"):
        fields["Phone"] = mapped["Phone"][:PHONE_MAX]
    lead_source = mapped.get("LeadSource") or page.lead_source
    if lead_source:
        fields["LeadSource"] = lead_source[:LEAD_SOURCE_MAX]

    lines = [mapped["Description"]] if mapped.get("Description") else []
    lines.extend(answer_line(answer) for answer in unmapped)
    if lines:
        fields["Description"] = "\n".join(lines)[:DESCRIPTION_MAX]
    if page.lead_owner_id:
        fields["OwnerId"] = page.lead_owner_id
    return fields


def event_fields(
    event: BookingEvent,
    page: BookingPage,
    *,
    who_id: str | None,
    what_id: str | None,
    owner_id: str | None,
) -> dict[str, Any]:
    """Return the fields of the Event created for a booking."""
    fields: dict[str, Any] = {
        "Subject": render_subject(page, event)[:SUBJECT_MAX],
        "StartDateTime": format_datetime(event.started_at),
        "EndDateTime": format_datetime(event.ended_at),
    }
    description = "\n".join(answer_line(answer) for answer in event.answers if answer.content)
    if description:
        fields["Description"] = description[:DESCRIPTION_MAX]
    if who_id:
        fields["WhoId"] = who_id
    if what_id:
        fields["WhatId"] = what_id
    if owner_id:
        fields["OwnerId"] = owner_id
    return fields


def render_subject(page: BookingPage, event: BookingEvent) -> str:
    """Fill {page_name}, {guest_name} and {guest_email} in the page's subject template.

    Other braces stay as typed: the template is user input, so str.format is not used.
    """
    values = {
        "page_name": page.name,
        "guest_name": event.guest_name or event.guest_email,
        "guest_email": event.guest_email,
    }
    subject = _SUBJECT_PLACEHOLDER.sub(lambda match: values[match.group(1)], page.subject_template)
    return subject.strip() or page.name


def map_answers(answers: Iterable[Answer], mapping: Mapping[str, str]) -> tuple[dict[str, str], list[Answer]]:
    """Split answers into Lead field values by mapping and the answers no field takes.

    Question labels match case-insensitively. Several answers mapped to one
    field are joined with ", ", and a value repeated by a second question is kept once.
    """
    targets = {question.strip().casefold(): target for question, target in mapping.items()}
    mapped: dict[str, list[str]] = {}
    unmapped: list[Answer] = []
    for answer in answers:
        values = [value.strip() for value in answer.content if value.strip()]
        if not values:
            continue
        target = targets.get(answer.question.casefold())
        if target in MAPPABLE_LEAD_FIELDS:
            field_values = mapped.setdefault(target, [])
            for value in values:
                if value not in field_values:
                    field_values.append(value)
        else:
            unmapped.append(answer)
    return {name: ", ".join(values) for name, values in mapped.items()}, unmapped


def answer_line(answer: Answer) -> str:
    """Return an answer as one "question: a, b" line."""
    values = ", ".join(value.strip() for value in answer.content if value.strip())
    return f"{answer.question}: {values}"


def format_datetime(value: datetime | None) -> str | None:
    """Return value as a Salesforce UTC datetime such as 2026-12-10T01:00:00Z."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_user_id(value: str | None) -> bool:
    """Return whether value is a User Id (005...), not a queue (00G...) or empty."""
    return bool(value) and value.startswith(USER_ID_PREFIX) and len(value) in (15, 18)
