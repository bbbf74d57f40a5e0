"""The scheduler's booking webhooks: signature scheme and payload parsing.

A delivery is a JSON body signed in the ``Jicoo-Webhook-Signature`` header as
``t=<unix seconds>,v1=<hex>``: HMAC-SHA256 keyed with the endpoint's signing
secret over ``"<t>.<raw body>"``. Several ``v1`` entries may appear while a
secret is being rolled, and any one of them may match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

SIGNATURE_HEADER = "Jicoo-Webhook-Signature"

# Five minutes either side of our clock, so a captured delivery cannot be replayed later.
DEFAULT_TOLERANCE_SECONDS = 300

BOOKED_EVENTS = frozenset({"guest_booked"})
RESCHEDULED_EVENTS = frozenset({"guest_rescheduled", "host_rescheduled"})
# Both spellings, because the scheduler's published examples do not show a cancellation.
CANCELLED_EVENTS = frozenset({"guest_cancelled", "guest_canceled", "host_cancelled", "host_canceled"})
CANCELLED_STATUSES = frozenset({"cancel", "cancelled", "canceled"})

# Column sizes of the outbox and sync log tables.
MAX_EVENT_TYPE_LENGTH = 64
MAX_UID_LENGTH = 100


class WebhookError(Exception):
    """A rejected delivery: ``code`` is the machine-readable reason and the message tells the sender what to do."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class SignatureError(WebhookError):
    """The signature header is missing, malformed, too old or matches no signing secret."""


class PayloadError(WebhookError):
    """The body is not a booking event in the scheduler's published format."""


class EventKind(StrEnum):
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Answer:
    """One answer of the booking form; ``content`` is a list even for one value."""

    question: str
    content: tuple[str, ...]


@dataclass(frozen=True)
class BookingEvent:
    """A parsed webhook delivery."""

    event_type: str
    kind: EventKind
    booking_uid: str
    event_type_uid: str
    status: str
    guest_email: str
    guest_name: str
    started_at: datetime | None
    ended_at: datetime | None
    updated_at: datetime | None
    time_zone: str
    answers: tuple[Answer, ...]
    cancel_reason: str

    @property
    def guest_email_normalized(self) -> str:
        """Return the guest email lower-cased, as the sync log stores it for filtering."""
        return self.guest_email.strip().lower()


# --- signature ---------------------------------------------------------------------------


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """Return the signature header value for body, as the scheduler would send it."""
    return f"t={timestamp},v1={_digest(body, secret, str(timestamp))}"


def signed_delivery(payload: dict[str, Any], secret: str, now: datetime) -> tuple[bytes, dict[str, str]]:
    """Return payload as a UTF-8 JSON body and the headers that sign it with secret at now."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret, int(now.timestamp()))}
    return body, headers


def verify_signature(
    header: str | None,
    body: bytes,
    secrets: Iterable[str],
    now: datetime,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check that header signs body with one of secrets within tolerance seconds of now.

    Raises SignatureError with code signature_missing, signature_malformed,
    signature_expired or signature_mismatch.
    """
    if not header or not header.strip():
        raise SignatureError(
            "signature_missing",
            f"the {SIGNATURE_HEADER} header is missing: send the delivery from the scheduler's webhook settings",
        )

    timestamp, signatures = _parse_signature_header(header)

    age = now.timestamp() - int(timestamp)
    if abs(age) > tolerance:
        raise SignatureError(
            "signature_expired",
            f"the signature timestamp t={timestamp} is {int(abs(age))} s away from this server's clock "
            f"(tolerance {tolerance} s): check the server clock, then resend the delivery",
        )

    for secret in secrets:
        expected = _digest(body, secret, timestamp)
        # compare_digest against every v1 entry, so timing reveals nothing about a near match.
        if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            return
    raise SignatureError(
        "signature_mismatch",
        "the signature matches no signing secret of this team: "
        "paste the endpoint's signing secret from the scheduler into the team's webhook settings",
    )


def booked_payload(
    *,
    uid: str,
    event_type_uid: str,
    time_zone: str,
    started_at: datetime,
    ended_at: datetime,
    contact: dict[str, str],
    answers: Mapping[str, str],
    now: datetime,
) -> dict[str, Any]:
    """Return a guest_booked webhook body in the scheduler's format; answers maps each question to its answer."""
    return {
        "createdAt": _iso(now),
        "event": "guest_booked",
        "object": {
            "uid": uid,
            "eventTypeUid": event_type_uid,
            "status": "open",
            "timeZone": time_zone,
            "startedAt": _iso(started_at),
            "endedAt": _iso(ended_at),
            "createdAt": _iso(now),
            "updatedAt": _iso(now),
            "contact": contact,
            "answers": [{"question": question, "content": [answer]} for question, answer in answers.items()],
            "tracking": {"utm_campaign": "", "utm_source": "", "utm_medium": "", "utm_content": "", "utm_term": ""},
        },
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _digest(body: bytes, secret: str, timestamp: str) -> str:
    # str.encode reads the plain value of a core.secrets.Secret too.
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _parse_signature_header(header: str) -> tuple[str, list[str]]:
    timestamp: str | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, separator, value = part.strip().partition("=")
        if not separator:
            continue
        if name == "t":
            timestamp = value.strip()
        elif name == "v1":
            signatures.append(value.strip().lower())

    if timestamp is None or not timestamp.isdigit() or not signatures:
        raise SignatureError(
            "signature_malformed",
            f"the {SIGNATURE_HEADER} header must look like t=<unix seconds>,v1=<hex>: "
            "send the delivery from the scheduler unchanged",
        )
    return timestamp, signatures


# --- payload -----------------------------------------------------------------------------


def parse_event(body: bytes) -> BookingEvent:
    """Parse a raw delivery body into a BookingEvent.

    Raises PayloadError naming the first field that is missing or invalid.
    """
    return parse_payload(decode_body(body))


def decode_body(body: bytes) -> Any:
    """Decode a raw delivery body as UTF-8 JSON.

    Raises PayloadError with code invalid_json.
    """
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError("invalid_json", f"the body is not UTF-8 JSON ({exc}): send a JSON object") from exc


def parse_payload(data: Any) -> BookingEvent:
    """Build a BookingEvent from a decoded delivery body.

    Raises PayloadError naming the first field that is missing or invalid.
    """
    if not isinstance(data, dict):
        raise PayloadError("invalid_payload", "the body must be a JSON object with event and object")

    event_type = _required_string(data, "event", "event", MAX_EVENT_TYPE_LENGTH)
    obj = data.get("object")
    if not isinstance(obj, dict):
        raise PayloadError("missing_field", "object is missing or not a JSON object: send the booking under object")

    booking_uid = _required_string(obj, "uid", "object.uid", MAX_UID_LENGTH)
    event_type_uid = _required_string(obj, "eventTypeUid", "object.eventTypeUid", MAX_UID_LENGTH)
    status = _optional_string(obj, "status", "object.status")
    kind = classify(event_type, status)

    contact = obj.get("contact")
    if contact is not None and not isinstance(contact, dict):
        raise PayloadError("invalid_field", "object.contact must be a JSON object with email and name")
    contact = contact or {}
    guest_email = _optional_string(contact, "email", "object.contact.email").strip()
    guest_name = _optional_string(contact, "name", "object.contact.name").strip()

    started_at = _optional_time(obj, "startedAt")
    ended_at = _optional_time(obj, "endedAt")
    updated_at = _optional_time(obj, "updatedAt")
    _optional_time(obj, "createdAt")
    _optional_time(obj, "cancelledAt")

    if kind in (EventKind.BOOKED, EventKind.RESCHEDULED):
        _check_booking_fields(guest_email, started_at, ended_at)

    return BookingEvent(
        event_type=event_type,
        kind=kind,
        booking_uid=booking_uid,
        event_type_uid=event_type_uid,
        status=status,
        guest_email=guest_email,
        guest_name=guest_name,
        started_at=started_at,
        ended_at=ended_at,
        updated_at=updated_at,
        time_zone=_optional_string(obj, "timeZone", "object.timeZone"),
        answers=_parse_answers(obj.get("answers")),
        cancel_reason=_optional_string(obj, "cancelReason", "object.cancelReason"),
    )


def classify(event_type: str, status: str = "") -> EventKind:
    """Return what an event type and booking status mean for the synced records."""
    if event_type in CANCELLED_EVENTS or status.lower() in CANCELLED_STATUSES:
        return EventKind.CANCELLED
    if event_type in RESCHEDULED_EVENTS:
        return EventKind.RESCHEDULED
    if event_type in BOOKED_EVENTS:
        return EventKind.BOOKED
    return EventKind.UNKNOWN


def dedupe_key(event: BookingEvent, raw: bytes) -> str:
    """Return the key that recognises a redelivery of the same event.

    The body carries no delivery id, so the key is the event type, booking uid
    and object.updatedAt, or a SHA-256 of the raw body when updatedAt is absent.
    """
    if event.updated_at is not None:
        stamp = event.updated_at.isoformat(timespec="microseconds")
        return f"{event.event_type}:{event.booking_uid}:{stamp}"
    return f"sha256:{hashlib.sha256(raw).hexdigest()}"


def _check_booking_fields(guest_email: str, started_at: datetime | None, ended_at: datetime | None) -> None:
    if not guest_email or "@" not in guest_email:
        raise PayloadError(
            "missing_field",
            "object.contact.email is missing or not an email address: a booking needs the guest's email",
        )
    if started_at is None or ended_at is None:
        missing = "object.startedAt" if started_at is None else "object.endedAt"
        raise PayloadError("missing_field", f"{missing} is missing: a booking needs its start and end time")
    if ended_at < started_at:
        raise PayloadError(
            "invalid_field",
            f"object.endedAt ({ended_at.isoformat()}) is before object.startedAt ({started_at.isoformat()})",
        )


def _required_string(container: dict[str, Any], key: str, label: str, max_length: int) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PayloadError("missing_field", f"{label} is missing or empty: send it as a non-empty string")
    value = value.strip()
    if len(value) > max_length:
        raise PayloadError("invalid_field", f"{label} is {len(value)} characters long; the maximum is {max_length}")
    return value


def _optional_string(container: dict[str, Any], key: str, label: str) -> str:
    value = container.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError("invalid_field", f"{label} must be a string, not {type(value).__name__}")
    return value


def _optional_time(obj: dict[str, Any], key: str) -> datetime | None:
    raw = obj.get(key)
    if raw is None or raw == "":
        return None
    label = f"object.{key}"
    if not isinstance(raw, str):
        raise PayloadError("invalid_time", f"{label} must be an ISO-8601 string, not {type(raw).__name__}")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise PayloadError(
            "invalid_time",
            f"{label}={raw!r} is not an ISO-8601 time: send it like 2026-12-10T01:00:00.000Z",
        ) from exc
    if value.tzinfo is None:
        raise PayloadError(
            "invalid_time",
            f"{label}={raw!r} has no UTC offset: send it like 2026-12-10T01:00:00.000Z",
        )
    return value


def _parse_answers(raw: Any) -> tuple[Answer, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PayloadError("invalid_field", "object.answers must be a list of {question, content}")

    answers: list[Answer] = []
    for index, item in enumerate(raw):
        label = f"object.answers[{index}]"
        if not isinstance(item, dict):
            raise PayloadError("invalid_field", f"{label} must be a JSON object with question and content")
        question = item.get("question")
        if not isinstance(question, str):
            raise PayloadError("invalid_field", f"{label}.question must be a string")
        content = item.get("content")
        if content is None:
            content = []
        if not isinstance(content, list) or not all(isinstance(value, str) for value in content):
            raise PayloadError("invalid_field", f"{label}.content must be a list of strings")
        answers.append(Answer(question=question.strip(), content=tuple(content)))
    return tuple(answers)
