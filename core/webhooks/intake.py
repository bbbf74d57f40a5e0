"""Receive one webhook delivery: authenticate, validate and store it in the outbox.

The outbox row and its sync log row are written in one transaction before the
delivery is acknowledged, so an acknowledged event is never lost and an
unacknowledged one is retried by the scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.secrets import SecretBox, SecretDecryptionError
from core.store.db import session_scope
from core.store.models import BookingPage, OutboxEvent, OutboxStatus, SyncLog, SyncOutcome, Team
from core.webhooks.jicoo import (
    SIGNATURE_HEADER,
    BookingEvent,
    EventKind,
    PayloadError,
    SignatureError,
    decode_body,
    dedupe_key,
    parse_payload,
    verify_signature,
)

logger = logging.getLogger(__name__)

# Booking payloads are a few KiB; the cap keeps a misdirected upload from filling memory.
MAX_BODY_BYTES = 256 * 1024

UNKNOWN_EVENT_DETAIL_KEY = "sync.detail.unknown_event_type"

MAX_GUEST_EMAIL_LENGTH = 320
MAX_GUEST_NAME_LENGTH = 200


@dataclass(frozen=True)
class IntakeResult:
    """The HTTP response to a delivery: status code and JSON body."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    outbox_id: int | None = None

    @property
    def stored(self) -> bool:
        """Return whether this delivery added a new outbox row."""
        return self.status == 202


def error_result(status: int, code: str, detail: str) -> IntakeResult:
    """Return a rejection with the JSON body {"error": code, "detail": detail}."""
    return IntakeResult(status=status, body={"error": code, "detail": detail})


def body_too_large_result() -> IntakeResult:
    """Return the 413 response for a body above MAX_BODY_BYTES."""
    return error_result(
        413,
        "body_too_large",
        f"the body is larger than {MAX_BODY_BYTES} bytes: booking deliveries are far smaller, "
        "so check that this URL is the scheduler's webhook endpoint",
    )


def receive_webhook(
    engine: Engine,
    box: SecretBox,
    team_slug: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> IntakeResult:
    """Verify, parse and store one delivery for the team with team_slug.

    Returns 202 when stored, 200 for a redelivery, 404 for an unknown team, 401
    for a missing or invalid signature, 400 for an invalid body and 413 for a
    body above MAX_BODY_BYTES. Writes an OutboxEvent and a SyncLog row.
    """
    if len(body) > MAX_BODY_BYTES:
        return body_too_large_result()

    with Session(engine) as session:
        team = session.exec(select(Team).where(Team.slug == team_slug)).first()
    if team is None:
        return error_result(
            404,
            "team_not_found",
            f"no team has the webhook address /hooks/jicoo/{team_slug}: "
            "copy the webhook URL from the team's settings in the console",
        )

    try:
        secrets = _signing_secrets(box, team)
        verify_signature(_header(headers, SIGNATURE_HEADER), body, secrets, now)
    except SignatureError as exc:
        logger.warning("rejected a webhook for team %s: %s", team.id, exc.code)
        return error_result(401, exc.code, exc.detail)

    try:
        payload = decode_body(body)
        event = parse_payload(payload)
    except PayloadError as exc:
        logger.warning("rejected a webhook for team %s: %s", team.id, exc.code)
        return error_result(400, exc.code, exc.detail)

    return _store(engine, team, event, payload, dedupe_key(event, body), now)


def _signing_secrets(box: SecretBox, team: Team) -> list[str]:
    if not team.webhook_secret_enc:
        raise SignatureError(
            "signing_secret_not_set",
            "this team has no webhook signing secret yet: "
            "paste the endpoint's signing secret from the scheduler into the team's webhook settings",
        )
    try:
        return [box.decrypt(team.webhook_secret_enc)]
    except SecretDecryptionError as exc:
        logger.error("the webhook signing secret of team %s cannot be decrypted", team.id)
        raise SignatureError("signing_secret_unreadable", str(exc)) from exc


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    # Plain dicts are case-sensitive; HTTP header names are not.
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def _store(
    engine: Engine, team: Team, event: BookingEvent, payload: dict[str, Any], key: str, now: datetime
) -> IntakeResult:
    existing = _find_duplicate(engine, team.id, key)
    if existing is not None:
        return _duplicate_result(team.id, existing)

    try:
        with session_scope(engine) as session:
            outbox_id = _insert_rows(session, team, event, payload, key, now)
    except IntegrityError:
        # Another request stored the same delivery between the check and the insert.
        existing = _find_duplicate(engine, team.id, key)
        if existing is None:
            raise
        return _duplicate_result(team.id, existing)

    logger.info("stored webhook %s (%s) for team %s as outbox %s", event.event_type, event.kind, team.id, outbox_id)
    return IntakeResult(status=202, body={"status": "queued", "id": outbox_id}, outbox_id=outbox_id)


def _find_duplicate(engine: Engine, team_id: int, key: str) -> int | None:
    with Session(engine) as session:
        statement = select(OutboxEvent.id).where(OutboxEvent.team_id == team_id, OutboxEvent.dedupe_key == key)
        return session.exec(statement).first()


def _duplicate_result(team_id: int, outbox_id: int) -> IntakeResult:
    logger.info("ignored a redelivery of outbox %s for team %s", outbox_id, team_id)
    return IntakeResult(status=200, body={"status": "duplicate", "id": outbox_id}, outbox_id=outbox_id)


def _insert_rows(
    session: Session, team: Team, event: BookingEvent, payload: dict[str, Any], key: str, now: datetime
) -> int:
    known = event.kind is not EventKind.UNKNOWN
    outbox = OutboxEvent(
        team_id=team.id,
        dedupe_key=key,
        event_type=event.event_type,
        booking_uid=event.booking_uid,
        event_type_uid=event.event_type_uid,
        object_updated_at=event.updated_at,
        payload=payload,
        received_at=now,
        status=OutboxStatus.QUEUED if known else OutboxStatus.DONE,
        next_attempt_at=now,
    )
    session.add(outbox)
    session.flush()

    page_id = session.exec(
        select(BookingPage.id).where(BookingPage.team_id == team.id, BookingPage.event_type_uid == event.event_type_uid)
    ).first()
    log = SyncLog(
        team_id=team.id,
        outbox_id=outbox.id,
        booking_page_id=page_id,
        booking_uid=event.booking_uid,
        event_type=event.event_type,
        guest_email=event.guest_email_normalized[:MAX_GUEST_EMAIL_LENGTH],
        guest_name=event.guest_name[:MAX_GUEST_NAME_LENGTH],
        outcome=SyncOutcome.QUEUED if known else SyncOutcome.SKIPPED,
        detail_key=None if known else UNKNOWN_EVENT_DETAIL_KEY,
        detail_params={} if known else {"event_type": event.event_type},
        created_at=now,
        updated_at=now,
    )
    session.add(log)
    session.flush()
    return outbox.id
