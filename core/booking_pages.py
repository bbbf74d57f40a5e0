"""Booking page settings: validation, storage, and the Salesforce Users the owner pickers offer."""

from __future__ import annotations

import logging
import re
import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, update
from sqlmodel import Session, select

from core.auth.audit import Actor, record_audit
from core.auth.permissions import Action, require
from core.store.db import session_scope
from core.store.models import (
    BookingPage,
    CancellationAction,
    Membership,
    NameMode,
    OwnerRule,
    RoutingLog,
    SyncLog,
)

if TYPE_CHECKING:
    from core.salesforce.client import SalesforceClient

logger = logging.getLogger(__name__)

SUBJECT_PLACEHOLDERS = ("page_name", "guest_name", "guest_email")
# Lead fields a booking answer can fill in.
MAPPABLE_LEAD_FIELDS = ("Company", "Phone", "LeadSource", "Description")

# Field lengths from the Salesforce Object Reference: Event.Subject 255,
# picklist values such as LeadSource 255.
MAX_SUBJECT_LENGTH = 255
MAX_LEAD_SOURCE_LENGTH = 255

# User Ids start with the key prefix 005 and are 15 (case-sensitive) or 18 characters long.
USER_ID_PATTERN = re.compile(r"^005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")
EMAIL_PATTERN = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
HOST_EMAIL_SEPARATORS = re.compile(r"[,\n;\r]+")


@dataclass(frozen=True)
class FieldProblem:
    """One invalid value: the form field, an i18n message key and its parameters."""

    field: str
    message_key: str
    params: dict[str, Any] = field(default_factory=dict)


class BookingPageInvalid(ValueError):
    """The booking page settings are invalid; ``problems`` lists every invalid field."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        fields = ", ".join(problem.field for problem in problems)
        super().__init__(f"booking page settings are invalid in: {fields}")
        self.problems = problems


@dataclass
class BookingPageSettings:
    """The editable settings of a booking page, as the form submits them."""

    name: str
    event_type_uid: str
    public_url: str = ""
    host_emails: list[str] = field(default_factory=list)
    integration_enabled: bool = False
    create_lead_for_new: bool = True
    create_event_for_existing: bool = True
    create_event_on_new_lead: bool = True
    lead_owner_id: str | None = None
    event_owner_rule: str = OwnerRule.RECORD_OWNER
    event_owner_id: str | None = None
    fallback_owner_id: str | None = None
    subject_template: str = "{page_name}: {guest_name}"
    cancellation_action: str = CancellationAction.DELETE
    name_mode: str = NameMode.SPLIT
    lead_source: str | None = None
    answer_mapping: dict[str, str] = field(default_factory=dict)
    # The console user whose page this is; members see the settings and sync log of their own pages.
    owner_user_id: int | None = None

    @classmethod
    def from_page(cls, page: BookingPage) -> BookingPageSettings:
        return cls(**{name: getattr(page, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class SalesforceUser:
    """An active User offered as a Lead or Event owner."""

    id: str
    name: str
    email: str


def parse_host_emails(raw: str) -> list[str]:
    """Split comma-, semicolon- or newline-separated addresses, lower-cased and without repeats."""
    emails: list[str] = []
    for part in HOST_EMAIL_SEPARATORS.split(raw):
        email = part.strip().lower()
        if email and email not in emails:
            emails.append(email)
    return emails


def subject_placeholders(template: str) -> list[str]:
    """Return the placeholder names in a subject template.

    Raises ValueError when a brace is not closed or not escaped as {{ or }}.
    """
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def answer_mapping_from_rows(rows: list[tuple[str | None, str | None]]) -> dict[str, str]:
    """Return the answer mapping from (answer label, Lead field) rows, skipping blank rows.

    Raises BookingPageInvalid when a label is missing or repeated, or a field is not mappable.
    """
    mapping: dict[str, str] = {}
    problems: list[FieldProblem] = []
    for raw_label, raw_field in rows:
        label = (raw_label or "").strip()
        lead_field = (raw_field or "").strip()
        if not label and not lead_field:
            continue
        if not label:
            problems.append(FieldProblem("answer_mapping", "booking_pages.error.mapping_label"))
        elif label in mapping:
            problems.append(FieldProblem("answer_mapping", "booking_pages.error.mapping_duplicate", {"label": label}))
        elif lead_field not in MAPPABLE_LEAD_FIELDS:
            problems.append(
                FieldProblem(
                    "answer_mapping",
                    "booking_pages.error.mapping_field",
                    {"value": lead_field, "allowed": ", ".join(MAPPABLE_LEAD_FIELDS)},
                )
            )
        else:
            mapping[label] = lead_field
    if problems:
        raise BookingPageInvalid(problems)
    return mapping


def is_user_id(value: str) -> bool:
    return bool(USER_ID_PATTERN.match(value))


def validate_settings(settings: BookingPageSettings) -> BookingPageSettings:
    """Return the settings trimmed and normalized.

    Raises BookingPageInvalid listing every invalid field.
    """
    clean = _normalized(settings)
    problems = _setting_problems(settings, clean)
    if problems:
        raise BookingPageInvalid(problems)
    return clean


def _normalized(settings: BookingPageSettings) -> BookingPageSettings:
    clean = BookingPageSettings(**vars(settings))
    clean.name = settings.name.strip()
    clean.event_type_uid = settings.event_type_uid.strip()
    clean.public_url = settings.public_url.strip()
    clean.host_emails = [email.strip().lower() for email in settings.host_emails if email.strip()]
    clean.lead_owner_id = (settings.lead_owner_id or "").strip() or None
    clean.event_owner_id = (settings.event_owner_id or "").strip() or None
    clean.fallback_owner_id = (settings.fallback_owner_id or "").strip() or None
    clean.subject_template = settings.subject_template.strip()
    clean.lead_source = (settings.lead_source or "").strip() or None
    clean.answer_mapping = {
        label.strip(): lead_field for label, lead_field in settings.answer_mapping.items()
    }
    if clean.event_owner_rule != OwnerRule.FIXED:
        clean.event_owner_id = None
    return clean


def _setting_problems(settings: BookingPageSettings, clean: BookingPageSettings) -> list[FieldProblem]:
    return [
        *_check_identity(clean),
        *_check_owners(clean),
        *_check_subject(clean.subject_template),
        *_check_choices(clean),
        *_check_answer_mapping(settings.answer_mapping),
    ]


def _check_identity(settings: BookingPageSettings) -> list[FieldProblem]:
    problems = []
    if not settings.name or len(settings.name) > 200:
        problems.append(FieldProblem("name", "booking_pages.error.name"))
    if not settings.event_type_uid or len(settings.event_type_uid) > 100 or any(
        ch.isspace() for ch in settings.event_type_uid
    ):
        problems.append(FieldProblem("event_type_uid", "booking_pages.error.event_type_uid"))
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(
                FieldProblem("public_url", "booking_pages.error.public_url", {"value": settings.public_url})
            )
    for email in settings.host_emails:
        if not EMAIL_PATTERN.match(email):
            problems.append(FieldProblem("host_emails", "booking_pages.error.host_email", {"value": email}))
    return problems


def _check_owners(settings: BookingPageSettings) -> list[FieldProblem]:
    problems = []
    for name in ("lead_owner_id", "event_owner_id", "fallback_owner_id"):
        value = getattr(settings, name)
        if value is not None and not is_user_id(value):
            problems.append(FieldProblem(name, "booking_pages.error.user_id", {"value": value}))
    if settings.event_owner_rule == OwnerRule.FIXED and settings.event_owner_id is None:
        problems.append(FieldProblem("event_owner_id", "booking_pages.error.fixed_owner_missing"))
    return problems


def _check_subject(template: str) -> list[FieldProblem]:
    if not template or len(template) > MAX_SUBJECT_LENGTH:
        return [FieldProblem("subject_template", "booking_pages.error.subject_length", {"max": MAX_SUBJECT_LENGTH})]
    try:
        names = subject_placeholders(template)
    except ValueError:
        return [FieldProblem("subject_template", "booking_pages.error.subject_braces")]

    unknown = [name for name in names if name not in SUBJECT_PLACEHOLDERS]
    if unknown:
        return [
            FieldProblem(
                "subject_template",
                "booking_pages.error.subject_placeholder",
                {
                    "names": ", ".join("{" + name + "}" for name in unknown),
                    "allowed": ", ".join("{" + name + "}" for name in SUBJECT_PLACEHOLDERS),
                },
            )
        ]
    return []


def _check_choices(settings: BookingPageSettings) -> list[FieldProblem]:
    problems = []
    choices = {
        "event_owner_rule": OwnerRule,
        "cancellation_action": CancellationAction,
        "name_mode": NameMode,
    }
    for name, enum in choices.items():
        value = getattr(settings, name)
        if value not in {member.value for member in enum}:
            problems.append(FieldProblem(name, "booking_pages.error.choice", {"value": value}))
    if settings.lead_source and len(settings.lead_source) > MAX_LEAD_SOURCE_LENGTH:
        problems.append(
            FieldProblem("lead_source", "booking_pages.error.lead_source", {"max": MAX_LEAD_SOURCE_LENGTH})
        )
    return problems


def _check_answer_mapping(mapping: dict[str, str]) -> list[FieldProblem]:
    problems = []
    seen: set[str] = set()
    for label, lead_field in mapping.items():
        label = label.strip()
        if not label:
            problems.append(FieldProblem("answer_mapping", "booking_pages.error.mapping_label"))
        elif label in seen:
            problems.append(FieldProblem("answer_mapping", "booking_pages.error.mapping_duplicate", {"label": label}))
        seen.add(label)
        if lead_field not in MAPPABLE_LEAD_FIELDS:
            problems.append(
                FieldProblem(
                    "answer_mapping",
                    "booking_pages.error.mapping_field",
                    {"value": lead_field, "allowed": ", ".join(MAPPABLE_LEAD_FIELDS)},
                )
            )
    return problems


def list_booking_pages(engine: Engine, team_id: int, *, owner_user_id: int | None = None) -> list[BookingPage]:
    """Return the team's booking pages ordered by name, only owner_user_id's pages when it is given."""
    with session_scope(engine) as session:
        statement = select(BookingPage).where(BookingPage.team_id == team_id).order_by(BookingPage.name)
        if owner_user_id is not None:
            statement = statement.where(BookingPage.owner_user_id == owner_user_id)
        return list(session.exec(statement).all())


def get_booking_page(engine: Engine, team_id: int, page_id: int) -> BookingPage | None:
    """Return the team's booking page with page_id, or None."""
    with session_scope(engine) as session:
        page = session.get(BookingPage, page_id)
        return page if page is not None and page.team_id == team_id else None


def save_booking_page(
    engine: Engine,
    team_id: int,
    settings: BookingPageSettings,
    now: datetime,
    *,
    actor: Actor,
    page_id: int | None = None,
) -> BookingPage:
    """Validate settings and insert a booking page, or update page_id; return the stored page.

    The change and its audit event are written in one transaction. Raises
    PermissionDenied when actor may not edit the team's booking pages, and
    LookupError when page_id is not one of the team's pages. Raises
    BookingPageInvalid for invalid settings, for an event type id that another
    page of the team uses, and for an owner who is not a member of the team.
    """
    require(engine, actor, team_id, Action.EDIT_BOOKING_PAGE, now, target=_page_target(page_id))
    clean = _normalized(settings)

    with session_scope(engine) as session:
        # The checks against the store join the others, so one failed save names every problem.
        problems = [
            *_setting_problems(settings, clean),
            *_check_unique_event_type(session, team_id, clean, page_id),
            *_check_owner_is_member(session, team_id, clean.owner_user_id),
        ]
        if problems:
            raise BookingPageInvalid(problems)

        if page_id is None:
            before = None
            page = BookingPage(team_id=team_id, updated_at=now, **vars(clean))
        else:
            page = session.get(BookingPage, page_id)
            if page is None or page.team_id != team_id:
                raise LookupError(f"booking page {page_id} of team {team_id} not found")
            before = vars(BookingPageSettings.from_page(page))
            for name, value in vars(clean).items():
                setattr(page, name, value)
            page.updated_at = now
        session.add(page)
        session.flush()
        session.refresh(page)

        changed_before, changed_after = _changed_values(before, vars(clean))
        record_audit(
            session,
            actor=actor,
            action="booking_page.created" if before is None else "booking_page.updated",
            now=now,
            team_id=team_id,
            target=_page_target(page.id, page.name),
            before=changed_before,
            after=changed_after,
        )

    logger.info("saved booking page %s of team %s", page.id, team_id)
    return page


def _page_target(page_id: int | None, name: str | None = None) -> str:
    if page_id is None:
        return "booking page (new)"
    return f"booking page {page_id}" + (f" ({name})" if name else "")


def _check_unique_event_type(
    session: Session, team_id: int, clean: BookingPageSettings, page_id: int | None
) -> list[FieldProblem]:
    if not clean.event_type_uid:
        return []
    clash = session.exec(
        select(BookingPage).where(
            BookingPage.team_id == team_id,
            BookingPage.event_type_uid == clean.event_type_uid,
        )
    ).first()
    if clash is None or clash.id == page_id:
        return []
    return [
        FieldProblem(
            "event_type_uid",
            "booking_pages.error.event_type_uid_taken",
            {"value": clean.event_type_uid, "page": clash.name},
        )
    ]


def _check_owner_is_member(session: Session, team_id: int, owner_user_id: int | None) -> list[FieldProblem]:
    if owner_user_id is None:
        return []
    membership = session.exec(
        select(Membership).where(Membership.team_id == team_id, Membership.user_id == owner_user_id)
    ).first()
    if membership is None:
        return [FieldProblem("owner_user_id", "auth.error.owner_not_member", {"user_id": owner_user_id})]
    return []


def _changed_values(
    before: dict[str, Any] | None, after: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Return the settings that differ, as (before, after); a new page has no before."""
    if before is None:
        return None, dict(after)
    names = [name for name, value in after.items() if before.get(name) != value]
    return {name: before.get(name) for name in names}, {name: after[name] for name in names}


def delete_booking_page(engine: Engine, team_id: int, page_id: int, now: datetime, *, actor: Actor) -> None:
    """Delete a booking page; its sync log and routing log rows stay, without a page reference.

    Form routing rules that name the page are left as they are: the route
    endpoint skips a page that no longer exists and uses the fallback page.
    Raises PermissionDenied when actor may not edit the team's booking pages,
    and LookupError when page_id is not one of the team's pages.
    """
    require(engine, actor, team_id, Action.EDIT_BOOKING_PAGE, now, target=_page_target(page_id))

    with session_scope(engine) as session:
        page = session.get(BookingPage, page_id)
        if page is None or page.team_id != team_id:
            raise LookupError(f"booking page {page_id} of team {team_id} not found")
        for log_table in (SyncLog, RoutingLog):
            session.exec(
                update(log_table).where(log_table.booking_page_id == page_id).values(booking_page_id=None)
            )
        record_audit(
            session,
            actor=actor,
            action="booking_page.deleted",
            now=now,
            team_id=team_id,
            target=_page_target(page_id, page.name),
            before={"name": page.name, "event_type_uid": page.event_type_uid},
        )
        session.delete(page)
    logger.info("deleted booking page %s of team %s", page_id, team_id)


def list_active_users(client: SalesforceClient) -> list[SalesforceUser]:
    """Return the org's active Users, sorted by name.

    Raises the client's SalesforceError subclasses.
    """
    from core.salesforce.soql import format_soql

    soql = format_soql("SELECT Id, Name, Email FROM User WHERE IsActive = {}", True)
    records = client.query(soql)
    users = [
        SalesforceUser(id=record["Id"], name=record.get("Name") or "", email=record.get("Email") or "")
        for record in records
    ]
    return sorted(users, key=lambda user: (user.name.lower(), user.id))
