"""The demo booking page's domain: find the booking page, check the form and send the booking webhook."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlmodel import select

from core.demo_booking.slots import SLOT_ZONE, Slot, find_slot
from core.secrets import SecretBox
from core.store.db import session_scope
from core.store.models import BookingPage, OutboxEvent, Team
from core.sync.names import is_japanese
from core.teams import read_webhook_secret
from core.webhooks.intake import IntakeResult, receive_webhook
from core.webhooks.jicoo import booked_payload, signed_delivery

logger = logging.getLogger(__name__)

DEMO_BOOKING_PATH = "/demo-booking"
PAGE_SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")

# The sync log's guest_name column is 200 characters long.
MAX_NAME_LENGTH = 200
# Lead.Email and Contact.Email hold 80 characters (Salesforce Object Reference, Lead and Contact).
MAX_EMAIL_LENGTH = 80
MAX_ANSWER_LENGTH = 1000
# The grammar of a valid address for <input type="email"> in the HTML Living Standard.
EMAIL_PATTERN = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)

NAME_FIELD = "name"
EMAIL_FIELD = "email"
SLOT_FIELD = "slot"
ANSWER_FIELD_PREFIX = "answer:"


class SigningSecretMissing(Exception):
    """The booking page's team has no webhook signing secret, so a booking cannot be signed."""


@dataclass(frozen=True)
class DemoPage:
    """A booking page served by the demo booking page, with its team's webhook address."""

    id: int
    team_id: int
    team_slug: str
    name: str
    event_type_uid: str
    # The labels of the questions the page maps to Lead fields, in the page's order.
    questions: tuple[str, ...]
    integration_enabled: bool


@dataclass(frozen=True)
class BookingForm:
    """The booking form's values as the visitor entered them; answers are keyed by question label."""

    name: str = ""
    email: str = ""
    slot: str = ""
    answers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldProblem:
    """An invalid form field: the field name and the message to show, with its parameters."""

    field: str
    message_key: str
    params: dict[str, Any] = field(default_factory=dict)


def demo_booking_url(public_url: str, page_slug: str) -> str:
    """Return the address of the demo booking page for page_slug."""
    return f"{public_url.rstrip('/')}{DEMO_BOOKING_PATH}/{page_slug}"


def page_slug_of(url: str) -> str | None:
    """Return the page slug when url is a demo booking page address, else None."""
    head, _, slug = urlsplit(url).path.rstrip("/").rpartition("/")
    if not head.endswith(DEMO_BOOKING_PATH) or not PAGE_SLUG_PATTERN.fullmatch(slug):
        return None
    return slug


def find_demo_page(engine: Engine, page_slug: str) -> DemoPage | None:
    """Return the booking page whose public URL path ends in /demo-booking/{page_slug}, on any host.

    The host is not compared, so a store moved to another APP_PUBLIC_URL still
    finds its pages. Of several pages with that path, the oldest wins.
    """
    with session_scope(engine) as session:
        rows = session.exec(
            select(BookingPage, Team)
            .join(Team, Team.id == BookingPage.team_id)
            .where(BookingPage.public_url.contains(f"{DEMO_BOOKING_PATH}/{page_slug}"))
            .order_by(BookingPage.id)
        ).all()
        for page, team in rows:
            if page_slug_of(page.public_url) == page_slug:
                return DemoPage(
                    id=page.id,
                    team_id=team.id,
                    team_slug=team.slug,
                    name=page.name,
                    event_type_uid=page.event_type_uid,
                    questions=tuple(page.answer_mapping),
                    integration_enabled=page.integration_enabled,
                )
    return None


def prefill_form(query: Mapping[str, str]) -> BookingForm:
    """Return the form prefilled from the scheduler's prefill parameters name, email, first_name and last_name.

    Without ``name``, the name joins last_name and first_name, family name
    first when either is Japanese.
    """
    name = query.get("name", "").strip()
    if not name:
        first = query.get("first_name", "").strip()
        last = query.get("last_name", "").strip()
        parts = [last, first] if is_japanese(first + last) else [first, last]
        name = " ".join(part for part in parts if part)
    return BookingForm(
        name=name[:MAX_NAME_LENGTH], email=query.get("email", "").strip()[:MAX_EMAIL_LENGTH]
    )


def read_form(fields: Sequence[tuple[str, str]], questions: Sequence[str]) -> BookingForm:
    """Return the booking form from the submitted fields; the first value of a repeated field wins.

    Only the answers to questions are kept.
    """
    values: dict[str, str] = {}
    for name, value in fields:
        values.setdefault(name, value)
    answers = {question: values.get(ANSWER_FIELD_PREFIX + question, "").strip() for question in questions}
    return BookingForm(
        name=values.get(NAME_FIELD, "").strip(),
        email=values.get(EMAIL_FIELD, "").strip(),
        slot=values.get(SLOT_FIELD, "").strip(),
        answers=answers,
    )


def check_form(form: BookingForm, slots: Sequence[Slot]) -> list[FieldProblem]:
    """Return the form's invalid fields: name, email format, a slot from slots, answer lengths."""
    problems = []
    if not form.name:
        problems.append(FieldProblem(NAME_FIELD, "demo_booking.error.name_missing"))
    elif len(form.name) > MAX_NAME_LENGTH:
        problems.append(FieldProblem(NAME_FIELD, "demo_booking.error.name_too_long", {"max": MAX_NAME_LENGTH}))

    if not form.email:
        problems.append(FieldProblem(EMAIL_FIELD, "demo_booking.error.email_missing"))
    elif len(form.email) > MAX_EMAIL_LENGTH:
        problems.append(FieldProblem(EMAIL_FIELD, "demo_booking.error.email_too_long", {"max": MAX_EMAIL_LENGTH}))
    elif not EMAIL_PATTERN.fullmatch(form.email):
        problems.append(FieldProblem(EMAIL_FIELD, "demo_booking.error.email_invalid", {"value": form.email}))

    if not form.slot:
        problems.append(FieldProblem(SLOT_FIELD, "demo_booking.error.slot_missing"))
    elif find_slot(list(slots), form.slot) is None:
        problems.append(FieldProblem(SLOT_FIELD, "demo_booking.error.slot_unavailable"))

    for question, answer in form.answers.items():
        if len(answer) > MAX_ANSWER_LENGTH:
            problems.append(
                FieldProblem(
                    ANSWER_FIELD_PREFIX + question,
                    "demo_booking.error.answer_too_long",
                    {"question": question, "max": MAX_ANSWER_LENGTH},
                )
            )
    return problems


def demo_booking_uid(page: DemoPage, slot: Slot, email: str) -> str:
    """Return the booking uid of email booking slot on page: the same three values always give the same uid.

    A derived uid, unlike a random one, makes a booking sent again after Back
    recognisable, so it can be refused instead of adding a second Event.
    """
    key = f"{page.id}|{slot.start.isoformat()}|{email.strip().casefold()}"
    return "BKDEMOPAGE" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24].upper()


def is_booked(engine: Engine, team_id: int, booking_uid: str) -> bool:
    """Return whether the webhook intake has already received a delivery for booking_uid of the team."""
    with session_scope(engine) as session:
        statement = select(OutboxEvent.id).where(
            OutboxEvent.team_id == team_id, OutboxEvent.booking_uid == booking_uid
        )
        return session.exec(statement).first() is not None


def build_booking_payload(page: DemoPage, form: BookingForm, slot: Slot, booking_uid: str, now: datetime) -> dict:
    """Return a guest_booked webhook body in the scheduler's format for the checked form."""
    return booked_payload(
        uid=booking_uid,
        event_type_uid=page.event_type_uid,
        time_zone=SLOT_ZONE.key,
        started_at=slot.start,
        ended_at=slot.end,
        contact={"email": form.email, "name": form.name},
        answers={question: answer for question, answer in form.answers.items() if answer},
        now=now,
    )


def send_booking(engine: Engine, box: SecretBox, page: DemoPage, payload: dict, now: datetime) -> IntakeResult:
    """Sign payload with the team's webhook secret and pass it to the console's webhook intake.

    Raises SigningSecretMissing when the team has no signing secret.
    """
    secret = read_webhook_secret(engine, box, page.team_id)
    if secret is None:
        raise SigningSecretMissing(
            f"team {page.team_slug!r} has no webhook signing secret: set one on the Booking pages screen"
        )

    body, headers = signed_delivery(payload, secret, now)
    result = receive_webhook(engine, box, page.team_slug, headers, body, now)
    logger.info("sent a demo booking for booking page %s of team %s: HTTP %s", page.id, page.team_id, result.status)
    return result
