"""A signed sample booking webhook, sent to this app's own endpoint for demos."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import Engine

from core.auth.audit import Actor, record_audit
from core.auth.permissions import Action, require
from core.config import Settings
from core.secrets import SecretBox
from core.store.db import session_scope
from core.store.models import BookingPage, Team
from core.teams import webhook_url
from core.webhooks.jicoo import booked_payload, signed_delivery

logger = logging.getLogger(__name__)

SAMPLE_ZONE = ZoneInfo("Asia/Tokyo")
SAMPLE_START = time(10, 0)
SAMPLE_DURATION = timedelta(minutes=30)

# A Contact the demo org seeds, so this scenario finds an existing customer.
EXISTING_CONTACT_NAME = "John Doe"
EXISTING_CONTACT_EMAIL = "john.doe@example.com"

# Answer values for each Lead field a booking page can map an answer to.
SAMPLE_ANSWERS = {
    "en": {
        "Company": "Sample Trading Inc.",
        "Phone": "03-1234-5678",
        "LeadSource": "Web",
        "Description": "Would like a product demo.",
    },
    "ja": {
        "Company": "サンプル商事株式会社",
        "Phone": "03-1234-5678",
        "LeadSource": "Web",
        "Description": "製品デモを希望します。",
    },
}
SAMPLE_NEW_GUEST_NAME = {"en": "Alex Sample", "ja": "見本　花子"}


class SampleGuest(StrEnum):
    NEW_CUSTOMER = "new_customer"
    EXISTING_CONTACT = "existing_contact"


@dataclass(frozen=True)
class SampleBookingResult:
    """The endpoint's answer to the sample booking."""

    status: int
    body: Any
    booking_uid: str


def build_sample_booking(
    page: BookingPage, guest: SampleGuest, now: datetime, *, language: str = "en"
) -> dict[str, Any]:
    """Return a guest_booked webhook body for page in the scheduler's format.

    The booking starts tomorrow (Asia/Tokyo) at 10:00 for 30 minutes and answers
    one question for each Lead field the page maps answers to.
    """
    uid = f"BKSAMPLE{uuid.uuid4().hex[:12].upper()}"
    tomorrow = now.astimezone(SAMPLE_ZONE).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, SAMPLE_START, tzinfo=SAMPLE_ZONE)
    end = start + SAMPLE_DURATION

    if guest == SampleGuest.EXISTING_CONTACT:
        contact = {"email": EXISTING_CONTACT_EMAIL, "name": EXISTING_CONTACT_NAME}
    else:
        # A fresh address each time, so the guest is never found in Salesforce.
        contact = {
            "email": f"sample-{uid[-12:].lower()}@example.com",
            "name": SAMPLE_NEW_GUEST_NAME.get(language, SAMPLE_NEW_GUEST_NAME["en"]),
        }

    values = SAMPLE_ANSWERS.get(language, SAMPLE_ANSWERS["en"])
    answers = {
        label: values[lead_field]
        for lead_field, label in question_per_field(page.answer_mapping, language).items()
        if lead_field in values
    }

    return booked_payload(
        uid=uid,
        event_type_uid=page.event_type_uid,
        time_zone=SAMPLE_ZONE.key,
        started_at=start,
        ended_at=end,
        contact=contact,
        answers=answers,
        now=now,
    )


def question_per_field(answer_mapping: dict[str, str], language: str) -> dict[str, str]:
    """Return one question label for each Lead field in answer_mapping.

    A page may map a Japanese and an English label to one field, as a bilingual
    form asks the question in both. A real guest sees one of them, so the sample
    answers the label written in language's script, else the first label.
    """
    chosen: dict[str, str] = {}
    for label, lead_field in answer_mapping.items():
        current = chosen.get(lead_field)
        if current is None or (not _in_script(current, language) and _in_script(label, language)):
            chosen[lead_field] = label
    return chosen


def _in_script(label: str, language: str) -> bool:
    return _has_japanese(label) == (language == "ja")


def _has_japanese(text: str) -> bool:
    return any(_is_japanese_character(character) for character in text)


def _is_japanese_character(character: str) -> bool:
    code = ord(character)
    # Hiragana and katakana, CJK ideographs, and full-width forms.
    return 0x3040 <= code <= 0x30FF or 0x4E00 <= code <= 0x9FFF or 0xFF00 <= code <= 0xFFEF


def send_sample_booking(
    engine: Engine,
    box: SecretBox,
    settings: Settings,
    team_id: int,
    page_id: int,
    guest: SampleGuest,
    now: datetime,
    *,
    language: str = "en",
    http: requests.Session | None = None,
    timeout: float = 10.0,
) -> SampleBookingResult:
    """Sign a sample booking with the team's secret and POST it to the team's webhook URL.

    Raises LookupError when the team or page does not exist, ValueError when the
    team has no signing secret, and requests.RequestException when the endpoint
    cannot be reached.
    """
    with session_scope(engine) as session:
        team = session.get(Team, team_id)
        page = session.get(BookingPage, page_id)
        if team is None or page is None or page.team_id != team_id:
            raise LookupError(f"booking page {page_id} of team {team_id} not found")
        if not team.webhook_secret_enc:
            raise ValueError(f"team {team.slug!r} has no webhook signing secret: set one first")
        secret = box.decrypt(team.webhook_secret_enc)
        slug = team.slug

    payload = build_sample_booking(page, guest, now, language=language)
    body, headers = signed_delivery(payload, secret.reveal(), now)

    url = webhook_url(settings.public_url, slug)
    sender = http or requests
    response = sender.post(url, data=body, headers=headers, timeout=timeout)
    try:
        answer: Any = response.json()
    except ValueError:
        answer = {"body": response.text[:500]}

    logger.info("sent a sample booking for page %s of team %s: HTTP %s", page_id, team_id, response.status_code)
    return SampleBookingResult(
        status=response.status_code, body=answer, booking_uid=payload["object"]["uid"]
    )


def send_test_booking(
    engine: Engine,
    box: SecretBox,
    settings: Settings,
    team_id: int,
    page_id: int,
    guest: SampleGuest,
    now: datetime,
    *,
    actor: Actor,
    language: str = "en",
    http: requests.Session | None = None,
) -> SampleBookingResult:
    """Send a sample booking for actor from the Booking pages screen, audited.

    Raises PermissionDenied when actor may not send test bookings in the team,
    and what send_sample_booking raises.
    """
    target = f"booking page {page_id}"
    require(engine, actor, team_id, Action.SEND_TEST_BOOKING, now, target=target)
    result = send_sample_booking(engine, box, settings, team_id, page_id, guest, now, language=language, http=http)
    with session_scope(engine) as session:
        record_audit(
            session,
            actor=actor,
            action="booking_page.test_booking_sent",
            now=now,
            team_id=team_id,
            target=target,
            after={"guest": guest.value, "status": result.status, "booking_uid": result.booking_uid},
        )
    return result
