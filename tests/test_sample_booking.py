"""The demo's sample booking answers one question per Lead field, and the sync keeps a repeated value once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core.sample_booking import SampleGuest, build_sample_booking, question_per_field
from core.store.models import BookingPage
from core.sync.planner import lead_fields, map_answers
from core.webhooks.jicoo import Answer, parse_event

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# The demo's "Intro call" page: a bilingual form asks each question in Japanese and in English.
BILINGUAL_MAPPING = {"会社名": "Company", "電話番号": "Phone", "Company": "Company", "Phone": "Phone"}


def intro_page(answer_mapping: dict[str, str]) -> BookingPage:
    return BookingPage(
        id=1,
        team_id=1,
        name="Intro call",
        event_type_uid="ETDEMOINTRO",
        integration_enabled=True,
        answer_mapping=answer_mapping,
        updated_at=NOW,
    )


def sample_answers(mapping: dict[str, str], language: str) -> list[dict[str, object]]:
    payload = build_sample_booking(intro_page(mapping), SampleGuest.NEW_CUSTOMER, NOW, language=language)
    return payload["object"]["answers"]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                {"question": "Company", "content": ["Sample Trading Inc."]},
                {"question": "Phone", "content": ["03-1234-5678"]},
            ],
        ),
        (
            "ja",
            [
                {"question": "会社名", "content": ["サンプル商事株式会社"]},
                {"question": "電話番号", "content": ["03-1234-5678"]},
            ],
        ),
    ],
)
def test_sample_answers_one_label_per_field(language, expected):
    assert sample_answers(BILINGUAL_MAPPING, language) == expected


def test_sample_falls_back_to_first_label():
    mapping = {"会社名": "Company", "御社名": "Company", "ご相談内容": "Description"}

    assert question_per_field(mapping, "en") == {"Company": "会社名", "Description": "ご相談内容"}


def test_sample_lead_company_is_not_repeated():
    page = intro_page(BILINGUAL_MAPPING)
    payload = build_sample_booking(page, SampleGuest.NEW_CUSTOMER, NOW, language="en")
    event = parse_event(json.dumps(payload).encode("utf-8"))

    fields = lead_fields(event, page)

    assert fields["Company"] == "Sample Trading Inc."
    assert fields["Phone"] == "03-1234-5678"


def test_identical_answers_to_one_field_are_kept_once():
    answers = [
        Answer(question="会社名", content=("Example KK",)),
        Answer(question="Company", content=("Example KK ",)),
    ]

    mapped, unmapped = map_answers(answers, BILINGUAL_MAPPING)

    assert mapped == {"Company": "Example KK"}
    assert unmapped == []


def test_distinct_answers_to_one_field_are_joined():
    answers = [
        Answer(question="会社名", content=("株式会社サンプル",)),
        Answer(question="Company", content=("Sample KK",)),
        Answer(question="Phone", content=("03-1234-5678",)),
    ]

    mapped, _ = map_answers(answers, BILINGUAL_MAPPING)

    assert mapped == {"Company": "株式会社サンプル, Sample KK", "Phone": "03-1234-5678"}
