"""Signature scheme and payload parsing of the scheduler's booking webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.secrets import Secret
from core.webhooks.jicoo import (
    EventKind,
    PayloadError,
    SignatureError,
    classify,
    dedupe_key,
    parse_event,
    sign,
    verify_signature,
)

SAMPLES = Path(__file__).resolve().parent / "samples" / "jicoo"
SECRET = "whsec-test"
NOW = datetime(2026, 12, 1, 1, 2, 3, tzinfo=UTC)
T = int(NOW.timestamp())


def booking(**object_changes) -> dict:
    payload = json.loads((SAMPLES / "guest_booked_new_customer_ja.json").read_text(encoding="utf-8"))
    payload["object"].update(object_changes)
    return payload


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def test_sign_matches_hmac_over_timestamp_and_body() -> None:
    body = b'{"event":"guest_booked"}'
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + body, hashlib.sha256).hexdigest()

    assert sign(body, SECRET, T) == f"t={T},v1={expected}"


def test_verify_signature_accepts_own_signature() -> None:
    body = b"{}"

    verify_signature(sign(body, SECRET, T), body, [SECRET], NOW)


def test_verify_signature_accepts_secret_object() -> None:
    body = b"{}"

    verify_signature(sign(body, SECRET, T), body, [Secret(SECRET)], NOW)


def test_verify_signature_accepts_any_of_several_v1() -> None:
    body = b"{}"
    good = sign(body, SECRET, T).split("v1=")[1]
    header = f"t={T},v1={'0' * 64},v1={good}"

    verify_signature(header, body, [SECRET], NOW)


def test_verify_signature_accepts_rolled_secret() -> None:
    body = b"{}"

    verify_signature(sign(body, "old-secret", T), body, [SECRET, "old-secret"], NOW)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "signature_missing"),
        ("", "signature_missing"),
        ("v1=abc", "signature_malformed"),
        (f"t={T}", "signature_malformed"),
        ("t=yesterday,v1=abc", "signature_malformed"),
        (f"t={T},v1={'0' * 64}", "signature_mismatch"),
    ],
)
def test_verify_signature_rejects_bad_header(header: str | None, code: str) -> None:
    with pytest.raises(SignatureError) as excinfo:
        verify_signature(header, b"{}", [SECRET], NOW)

    assert excinfo.value.code == code


def test_verify_signature_rejects_changed_body() -> None:
    header = sign(b'{"a":1}', SECRET, T)

    with pytest.raises(SignatureError) as excinfo:
        verify_signature(header, b'{"a":2}', [SECRET], NOW)

    assert excinfo.value.code == "signature_mismatch"


@pytest.mark.parametrize("offset", [timedelta(minutes=5, seconds=1), -timedelta(minutes=5, seconds=1)])
def test_verify_signature_rejects_timestamp_outside_tolerance(offset: timedelta) -> None:
    body = b"{}"
    header = sign(body, SECRET, T)

    with pytest.raises(SignatureError) as excinfo:
        verify_signature(header, body, [SECRET], NOW + offset)

    assert excinfo.value.code == "signature_expired"
    assert "300 s" in excinfo.value.detail


def test_verify_signature_accepts_timestamp_at_tolerance_edge() -> None:
    body = b"{}"

    verify_signature(sign(body, SECRET, T), body, [SECRET], NOW + timedelta(minutes=5))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("guest_booked_new_customer_ja.json", EventKind.BOOKED),
        ("guest_booked_existing_contact_en.json", EventKind.BOOKED),
        ("guest_rescheduled.json", EventKind.RESCHEDULED),
        ("guest_cancelled.json", EventKind.CANCELLED),
    ],
)
def test_parse_event_reads_samples(name: str, kind: EventKind) -> None:
    event = parse_event((SAMPLES / name).read_bytes())

    assert event.kind is kind
    assert event.event_type_uid == "ETDEMOINTRO"
    assert event.started_at.tzinfo is not None
    assert event.updated_at is not None


def test_parse_event_fields_of_new_customer_sample() -> None:
    event = parse_event((SAMPLES / "guest_booked_new_customer_ja.json").read_bytes())

    assert event.booking_uid == "BKDEMO0001"
    assert event.guest_name == "山田　太郎"
    assert event.guest_email == "taro.yamada@example.co.jp"
    assert event.started_at == datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
    assert event.ended_at == datetime(2026, 12, 10, 1, 30, tzinfo=UTC)
    assert event.answers[2].question == "ご相談内容"
    assert event.answers[2].content == ("料金プラン", "導入支援")


def test_parse_event_lower_cases_email_for_log() -> None:
    event = parse_event((SAMPLES / "guest_booked_existing_contact_en.json").read_bytes())

    assert event.guest_email == "John.Doe@Example.com"
    assert event.guest_email_normalized == "john.doe@example.com"


@pytest.mark.parametrize(
    ("event_type", "status", "kind"),
    [
        ("guest_booked", "open", EventKind.BOOKED),
        ("guest_rescheduled", "open", EventKind.RESCHEDULED),
        ("host_rescheduled", "open", EventKind.RESCHEDULED),
        ("guest_cancelled", "cancel", EventKind.CANCELLED),
        ("guest_canceled", "", EventKind.CANCELLED),
        ("host_cancelled", "", EventKind.CANCELLED),
        ("host_canceled", "", EventKind.CANCELLED),
        ("guest_booked", "cancelled", EventKind.CANCELLED),
        ("host_rescheduled", "Canceled", EventKind.CANCELLED),
        ("guest_survey_answered", "open", EventKind.UNKNOWN),
    ],
)
def test_classify_event_types(event_type: str, status: str, kind: EventKind) -> None:
    assert classify(event_type, status) is kind


def test_parse_event_accepts_unknown_type_without_contact() -> None:
    body = encode({"event": "guest_survey_answered", "object": {"uid": "BK1", "eventTypeUid": "ET1"}})

    event = parse_event(body)

    assert event.kind is EventKind.UNKNOWN
    assert event.guest_email == ""


def test_parse_event_accepts_cancellation_without_times() -> None:
    payload = booking(startedAt=None, endedAt=None)
    payload["event"] = "host_canceled"

    event = parse_event(encode(payload))

    assert event.kind is EventKind.CANCELLED


@pytest.mark.parametrize(
    ("body", "code", "mentions"),
    [
        (b"not json", "invalid_json", "JSON"),
        (b"\xff\xfe", "invalid_json", "UTF-8"),
        (b"[1, 2]", "invalid_payload", "JSON object"),
        (encode({"object": {"uid": "B", "eventTypeUid": "E"}}), "missing_field", "event"),
        (encode({"event": "guest_booked"}), "missing_field", "object"),
        (encode({"event": "guest_booked", "object": {"eventTypeUid": "E"}}), "missing_field", "object.uid"),
        (encode({"event": "guest_booked", "object": {"uid": "B"}}), "missing_field", "object.eventTypeUid"),
        (encode({"event": "guest_booked", "object": {"uid": "B" * 101, "eventTypeUid": "E"}}), "invalid_field", "100"),
    ],
)
def test_parse_event_rejects_invalid_envelope(body: bytes, code: str, mentions: str) -> None:
    with pytest.raises(PayloadError) as excinfo:
        parse_event(body)

    assert excinfo.value.code == code
    assert mentions in excinfo.value.detail


@pytest.mark.parametrize(
    ("changes", "code", "mentions"),
    [
        ({"contact": {"name": "山田"}}, "missing_field", "object.contact.email"),
        ({"contact": {"email": "not-an-email"}}, "missing_field", "object.contact.email"),
        ({"contact": "taro@example.com"}, "invalid_field", "object.contact"),
        ({"startedAt": None}, "missing_field", "object.startedAt"),
        ({"endedAt": "2026-12-10T00:00:00Z"}, "invalid_field", "before"),
        ({"startedAt": "next tuesday"}, "invalid_time", "object.startedAt"),
        ({"updatedAt": "2026-12-01T01:02:02"}, "invalid_time", "UTC offset"),
        ({"updatedAt": 1764550922}, "invalid_time", "object.updatedAt"),
        ({"answers": {"会社名": "x"}}, "invalid_field", "object.answers"),
        ({"answers": [{"question": "会社名", "content": "x"}]}, "invalid_field", "object.answers[0].content"),
        ({"answers": [{"content": ["x"]}]}, "invalid_field", "object.answers[0].question"),
        ({"answers": ["x"]}, "invalid_field", "object.answers[0]"),
    ],
)
def test_parse_event_rejects_invalid_booking(changes: dict, code: str, mentions: str) -> None:
    with pytest.raises(PayloadError) as excinfo:
        parse_event(encode(booking(**changes)))

    assert excinfo.value.code == code
    assert mentions in excinfo.value.detail


def test_dedupe_key_uses_type_uid_and_updated_at() -> None:
    raw = (SAMPLES / "guest_rescheduled.json").read_bytes()
    event = parse_event(raw)

    assert dedupe_key(event, raw) == "guest_rescheduled:BKDEMO0001:2026-12-02T03:00:00.000000+00:00"


def test_dedupe_key_same_for_reformatted_body() -> None:
    raw = (SAMPLES / "guest_rescheduled.json").read_bytes()
    compact = json.dumps(json.loads(raw), separators=(",", ":")).encode()

    assert dedupe_key(parse_event(raw), raw) == dedupe_key(parse_event(compact), compact)


def test_dedupe_key_hashes_body_without_updated_at() -> None:
    raw = encode(booking(updatedAt=None))
    other = encode(booking(updatedAt=None, timeZone="UTC"))

    key = dedupe_key(parse_event(raw), raw)

    assert key == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert key != dedupe_key(parse_event(other), other)
