"""Carry out sync plans against an org with SalesforceClient, in as few API calls as possible.

A booking for a new customer costs two API calls: one composite request with
both lookup queries, and one composite request that creates the Lead and its
Event. Salesforce counts a composite request of up to 25 subrequests as one
call (REST API guide, "Composite"). When the Event owner follows a Lead owner
that the lead assignment rule picks, up to two more calls check that User and
move the Event to them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote as url_quote

from core.salesforce.client import SalesforceClient
from core.salesforce.errors import NotFoundError, SalesforceError
from core.salesforce.soql import format_soql
from core.store.models import BookingPage, BookingRecord, SyncOutcome
from core.sync.planner import (
    CreateEvent,
    CreateLead,
    DeleteEvent,
    GuestMatch,
    Plan,
    RecordRef,
    Skip,
    UpdateEvent,
    UserLookup,
    choose_event_owner,
    is_user_id,
    owner_lookup_needs,
    pick_guest,
    plan_before_lookup,
    plan_booking,
    record_owner_id,
)
from core.webhooks.jicoo import BookingEvent

logger = logging.getLogger(__name__)

# Several matching records are possible (duplicates); only the most recently modified is used.
LOOKUP_ROWS = 5

DEFAULT_USER_CACHE_TTL = timedelta(minutes=10)

CONTACT_FIELDS = "Id, AccountId, OwnerId, Owner.IsActive, Account.IsPersonAccount, LastModifiedDate"
CONTACT_FIELDS_WITHOUT_PERSON_ACCOUNTS = "Id, AccountId, OwnerId, Owner.IsActive, LastModifiedDate"
LEAD_FIELDS = "Id, OwnerId, Owner.IsActive, LastModifiedDate"


@dataclass
class SyncResult:
    """The effect of one sync, written to its sync log row and the booking's BookingRecord."""

    outcome: SyncOutcome
    records: list[dict[str, str]] = field(default_factory=list)
    detail_key: str | None = None
    detail_params: dict[str, Any] = field(default_factory=dict)
    who_id: str | None = None
    lead_id: str | None = None
    event_id: str | None = None
    # The booking's Event no longer exists (deleted now or found missing).
    event_gone: bool = False
    cancelled: bool = False
    # Whether the event changed the booking's state, so older events are stale from now on.
    applied: bool = True


class OrgCache:
    """Per-worker memory of each team's org: active Users by Id and email, and person-account support.

    Safe to share between threads.
    """

    def __init__(self, ttl: timedelta = DEFAULT_USER_CACHE_TTL) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._users: dict[tuple[int, str, str], tuple[Any, datetime]] = {}
        self._no_person_accounts: set[int] = set()

    def person_accounts_supported(self, team_id: int) -> bool:
        with self._lock:
            return team_id not in self._no_person_accounts

    def forget_person_accounts(self, team_id: int) -> None:
        with self._lock:
            self._no_person_accounts.add(team_id)

    def users(
        self, client: SalesforceClient, team_id: int, ids: Iterable[str], emails: Iterable[str], now: datetime
    ) -> UserLookup:
        """Return which of ids are active Users and the active User of each email.

        Unknown or expired entries are fetched in one query.
        """
        ids = set(ids)
        emails = {email.lower() for email in emails}
        missing_ids = {user_id for user_id in ids if self._get(team_id, "id", user_id, now) is _MISSING}
        missing_emails = {email for email in emails if self._get(team_id, "email", email, now) is _MISSING}
        if missing_ids or missing_emails:
            self._fetch(client, team_id, missing_ids, missing_emails, now)

        active_ids = {user_id for user_id in ids if self._get(team_id, "id", user_id, now) is True}
        id_by_email: dict[str, str] = {}
        for email in emails:
            user_id = self._get(team_id, "email", email, now)
            if isinstance(user_id, str):
                id_by_email[email] = user_id
                active_ids.add(user_id)
        return UserLookup(active_ids=frozenset(active_ids), id_by_email=id_by_email)

    def _get(self, team_id: int, kind: str, key: str, now: datetime) -> Any:
        with self._lock:
            entry = self._users.get((team_id, kind, key))
        if entry is None or entry[1] <= now:
            return _MISSING
        return entry[0]

    def _put(self, team_id: int, kind: str, key: str, value: Any, now: datetime) -> None:
        with self._lock:
            self._users[(team_id, kind, key)] = (value, now + self._ttl)

    def _fetch(self, client: SalesforceClient, team_id: int, ids: set[str], emails: set[str], now: datetime) -> None:
        # Several Users may share an email; ORDER BY Id makes the choice stable.
        if ids and emails:
            template = "SELECT Id, Email, IsActive FROM User WHERE Id IN {ids} OR Email IN {emails} ORDER BY Id"
        elif ids:
            template = "SELECT Id, Email, IsActive FROM User WHERE Id IN {ids} ORDER BY Id"
        else:
            template = "SELECT Id, Email, IsActive FROM User WHERE Email IN {emails} ORDER BY Id"
        rows = client.query(format_soql(template, ids=sorted(ids), emails=sorted(emails)))

        by_id = {row["Id"]: bool(row.get("IsActive")) for row in rows}
        for user_id in ids:
            self._put(team_id, "id", user_id, by_id.get(user_id, False), now)
        for email in emails:
            match = next(
                (row["Id"] for row in rows if row.get("IsActive") and (row.get("Email") or "").lower() == email),
                None,
            )
            self._put(team_id, "email", email, match, now)


_MISSING = object()


class SyncExecutor:
    """Look guests up and apply plans to one org per call."""

    def __init__(self, cache: OrgCache | None = None) -> None:
        self.cache = cache or OrgCache()

    def sync(
        self,
        client: SalesforceClient,
        team_id: int,
        event: BookingEvent,
        page: BookingPage,
        record: BookingRecord | None,
        now: datetime,
    ) -> SyncResult:
        """Plan and apply event for page; look the guest up first when the plan needs it.

        Raises SalesforceError subclasses from the client; an error leaves
        nothing half-done because each change is a single request.
        """
        plan = plan_before_lookup(event, page, record)
        if plan is None:
            plan = self.plan_with_lookup(client, team_id, event, page, now)
        return self.apply(client, team_id, plan, now)

    def plan_with_lookup(
        self, client: SalesforceClient, team_id: int, event: BookingEvent, page: BookingPage, now: datetime
    ) -> Plan:
        """Look the guest up, choose the Event owner and return the booking's plan."""
        guest, owner_active = self.lookup_guest(client, team_id, event.guest_email)
        record_owner = record_owner_id(page, guest)

        ids, emails = owner_lookup_needs(page, record_owner)
        if guest is not None and owner_active is not None:
            # The lookup query already returned the owner's IsActive.
            ids.discard(record_owner)
        users = self.cache.users(client, team_id, ids, emails, now) if ids or emails else UserLookup()
        if guest is not None and owner_active:
            users = UserLookup(active_ids=users.active_ids | {record_owner}, id_by_email=users.id_by_email)

        owner = choose_event_owner(page, record_owner, users, client.user_id)
        return plan_booking(event, page, guest, owner)

    def lookup_guest(
        self, client: SalesforceClient, team_id: int, email: str
    ) -> tuple[GuestMatch | None, bool | None]:
        """Find the guest's Contact or unconverted Lead by email in one composite request.

        Returns the match and whether its owner is an active User (None when unknown).
        """
        person_accounts = self.cache.person_accounts_supported(team_id)
        try:
            results = client.composite(_lookup_subrequests(email, person_accounts=person_accounts))
        except SalesforceError as exc:
            if not (person_accounts and exc.error_code == "INVALID_FIELD" and "IsPersonAccount" in exc.message):
                raise
            # Orgs without Person Accounts have no Account.IsPersonAccount field.
            # NOTE: the demo org always has the field, so no test runs this branch.
            logger.info("team %s: org has no Person Accounts; looking guests up without IsPersonAccount", team_id)
            self.cache.forget_person_accounts(team_id)
            results = client.composite(_lookup_subrequests(email, person_accounts=False))

        contacts = results["contacts"].body.get("records", [])
        leads = results["leads"].body.get("records", [])
        guest = pick_guest(contacts, leads)
        if guest is None:
            return None, None
        row = (contacts or leads)[0]
        owner = row.get("Owner") or {}
        return guest, (bool(owner["IsActive"]) if "IsActive" in owner else None)

    def apply(self, client: SalesforceClient | None, team_id: int, plan: Plan, now: datetime) -> SyncResult:
        """Carry out plan; a Skip needs no client."""
        if isinstance(plan, Skip):
            return SyncResult(
                outcome=plan.outcome,
                records=[ref.as_log() for ref in plan.records],
                detail_key=plan.detail_key,
                detail_params=dict(plan.detail_params),
                cancelled=plan.marks_cancelled,
                applied=plan.marks_cancelled,
            )
        if client is None:
            raise ValueError(f"{type(plan).__name__} needs a Salesforce client")
        if isinstance(plan, CreateLead):
            return self._create_lead(client, team_id, plan, now)
        if isinstance(plan, CreateEvent):
            return _create_event(client, plan)
        if isinstance(plan, UpdateEvent):
            return _update_event(client, plan)
        return _delete_event(client, plan)

    def _create_lead(self, client: SalesforceClient, team_id: int, plan: CreateLead, now: datetime) -> SyncResult:
        subrequests: list[dict[str, Any]] = [
            {"method": "POST", "url": "sobjects/Lead", "referenceId": "newLead", "body": plan.lead_fields}
        ]
        if plan.assign_by_rule:
            # TRUE runs the org's active lead assignment rule (REST API guide, "Assignment Rule Header").
            subrequests[0]["httpHeaders"] = {"Sforce-Auto-Assign": "TRUE"}
        if plan.event_fields is not None:
            if plan.follow_lead_owner:
                subrequests.append(
                    {"method": "GET", "url": "sobjects/Lead/@{newLead.id}?fields=OwnerId", "referenceId": "newLeadOwner"}
                )
            event_body = {**plan.event_fields, "WhoId": "@{newLead.id}"}
            subrequests.append({"method": "POST", "url": "sobjects/Event", "referenceId": "newEvent", "body": event_body})

        results = client.composite(subrequests)

        lead_id = results["newLead"].body["id"]
        result = SyncResult(
            outcome=SyncOutcome.CREATED_LEAD,
            records=[RecordRef("Lead", lead_id).as_log()],
            who_id=lead_id,
            lead_id=lead_id,
            detail_key="sync.detail.lead_created",
        )
        if plan.event_fields is None:
            return result

        result.event_id = results["newEvent"].body["id"]
        result.records.append(RecordRef("Event", result.event_id).as_log())
        result.detail_key = "sync.detail.lead_and_event_created"
        if plan.follow_lead_owner:
            lead_owner = (results["newLeadOwner"].body or {}).get("OwnerId")
            self._move_event_to_lead_owner(client, team_id, plan, result, lead_owner, now)
        return result

    def _move_event_to_lead_owner(
        self,
        client: SalesforceClient,
        team_id: int,
        plan: CreateLead,
        result: SyncResult,
        lead_owner: str | None,
        now: datetime,
    ) -> None:
        # The assignment rule chose the Lead owner only when the Lead was saved, so
        # the Event was created with the fallback owner and moves here if it can.
        event_owner = plan.event_fields.get("OwnerId") or client.user_id
        if not is_user_id(lead_owner) or lead_owner == event_owner:
            return
        users = self.cache.users(client, team_id, {lead_owner}, (), now)
        if lead_owner not in users.active_ids:
            return
        try:
            client.update("Event", result.event_id, {"OwnerId": lead_owner})
        except SalesforceError as exc:
            # The Lead and Event exist; failing the sync now would create them twice on retry.
            logger.warning("could not give Event %s to the Lead owner: %s", result.event_id, exc)
            result.detail_key = "sync.detail.event_owner_not_moved"
            result.detail_params = {"error_code": exc.error_code or type(exc).__name__}


def _lookup_subrequests(email: str, *, person_accounts: bool) -> list[dict[str, Any]]:
    contact_fields = CONTACT_FIELDS if person_accounts else CONTACT_FIELDS_WITHOUT_PERSON_ACCOUNTS
    # SOQL = on strings is case-insensitive (SOQL reference, "Comparison Operators").
    contacts = format_soql(
        "SELECT {fields:literal} FROM Contact WHERE Email = {email} ORDER BY LastModifiedDate DESC LIMIT {limit}",
        fields=contact_fields,
        email=email,
        limit=LOOKUP_ROWS,
    )
    leads = format_soql(
        "SELECT {fields:literal} FROM Lead WHERE Email = {email} AND IsConverted = false "
        "ORDER BY LastModifiedDate DESC LIMIT {limit}",
        fields=LEAD_FIELDS,
        email=email,
        limit=LOOKUP_ROWS,
    )
    return [
        {"method": "GET", "url": "query?q=" + url_quote(contacts, safe=""), "referenceId": "contacts"},
        {"method": "GET", "url": "query?q=" + url_quote(leads, safe=""), "referenceId": "leads"},
    ]


def _create_event(client: SalesforceClient, plan: CreateEvent) -> SyncResult:
    event_id = client.create("Event", plan.fields)
    return SyncResult(
        outcome=SyncOutcome.CREATED_EVENT,
        records=[RecordRef("Event", event_id).as_log(), plan.who.as_log()],
        who_id=plan.who.id,
        event_id=event_id,
        detail_key="sync.detail.event_created",
        detail_params={"who_sobject": plan.who.sobject},
    )


def _update_event(client: SalesforceClient, plan: UpdateEvent) -> SyncResult:
    try:
        client.update("Event", plan.event_id, plan.fields)
    except NotFoundError:
        logger.info("Event %s was deleted in Salesforce; nothing to update", plan.event_id)
        return SyncResult(
            outcome=SyncOutcome.SKIPPED,
            records=[RecordRef("Event", plan.event_id).as_log()],
            detail_key="sync.detail.event_missing",
            detail_params={"event_id": plan.event_id},
            event_gone=True,
            cancelled=plan.marks_cancelled,
        )
    return SyncResult(
        outcome=SyncOutcome.UPDATED_EVENT,
        records=[RecordRef("Event", plan.event_id).as_log()],
        event_id=plan.event_id,
        detail_key=plan.detail_key,
        cancelled=plan.marks_cancelled,
    )


def _delete_event(client: SalesforceClient, plan: DeleteEvent) -> SyncResult:
    detail_key = "sync.detail.event_deleted"
    try:
        client.delete("Event", plan.event_id)
    except NotFoundError:
        detail_key = "sync.detail.event_already_deleted"
    return SyncResult(
        outcome=SyncOutcome.DELETED_EVENT,
        records=[RecordRef("Event", plan.event_id).as_log()],
        detail_key=detail_key,
        event_gone=True,
        cancelled=True,
    )
