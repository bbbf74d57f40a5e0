"""The routing log: writing rows, masking email addresses, filters and paging."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from core.routing.log import (
    MAX_FIELDS,
    MAX_VALUE_LENGTH,
    RoutingLogFilter,
    RoutingOutcome,
    clip_answers,
    fetch_routing_log_page,
    get_routing_log_entry,
    mask_email,
    write_routing_log,
)
from core.routing.store import get_or_create_form_routing
from core.store.db import session_scope
from core.store.models import RoutingLog
from tests.routing_fixtures import FORM_ID, NOW, RoutingTeam, routing_team  # noqa: F401


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("taro@example.co.jp", "t***@example.co.jp"),
        ("t@example.com", "t***@example.com"),
        ("@example.com", "***@example.com"),
        ("not an address", "not an address"),
        ("", ""),
    ],
)
def test_mask_email(email, masked):
    assert mask_email(email) == masked


def test_clip_answers_limits_size():
    answers = {f"field{number}": "x" * (MAX_VALUE_LENGTH + 10) for number in range(MAX_FIELDS + 5)}

    clipped = clip_answers(answers)

    assert len(clipped) == MAX_FIELDS
    assert all(len(values[0]) == MAX_VALUE_LENGTH for values in clipped.values())


@pytest.fixture
def logged_team(routing_team: RoutingTeam) -> RoutingTeam:
    """The routing team with 60 matched rows a minute apart and, newest, one fallback row."""
    routing = get_or_create_form_routing(routing_team.engine, routing_team.owner, routing_team.id, FORM_ID, NOW)
    for number in range(60):
        write_routing_log(
            routing_team.engine,
            form_key=routing.form_key,
            outcome=RoutingOutcome.MATCHED,
            now=NOW + timedelta(minutes=number),
            team_id=routing_team.id,
            form_routing_id=routing.id,
            matched_rule_id="large",
            matched_rule_name="Large companies",
            booking_page_id=routing_team.demo_page_id,
            answers={"email": f"visitor{number}@example.co.jp", "employees": "500"},
        )
    write_routing_log(
        routing_team.engine,
        form_key=routing.form_key,
        outcome=RoutingOutcome.FALLBACK,
        now=NOW + timedelta(hours=2),
        team_id=routing_team.id,
        form_routing_id=routing.id,
        booking_page_id=routing_team.intro_page_id,
        answers={"Email": ["taro@example.co.jp"], "interest": ["CRM", "SFA"]},
    )
    return routing_team


def test_page_is_newest_first_and_masked(logged_team):
    page = fetch_routing_log_page(logged_team.engine, logged_team.id, RoutingLogFilter(), page=1, page_size=50)

    assert page.total == 61
    assert page.page_count == 2
    newest = page.entries[0]
    assert newest.outcome == RoutingOutcome.FALLBACK
    assert newest.email == "t***@example.co.jp"
    assert newest.answers == {"Email": ["t***@example.co.jp"], "interest": ["CRM", "SFA"]}
    assert newest.form_name == "Demo request JP"
    assert newest.form_id == FORM_ID
    assert newest.booking_page_name == "Intro call"
    assert page.entries[1].matched_rule_name == "Large companies"
    assert page.entries[1].email == "v***@example.co.jp"


def test_second_page_holds_the_rest(logged_team):
    page = fetch_routing_log_page(logged_team.engine, logged_team.id, RoutingLogFilter(), page=2, page_size=50)

    assert page.page == 2
    assert len(page.entries) == 11


def test_page_past_the_end_is_clamped(logged_team):
    page = fetch_routing_log_page(logged_team.engine, logged_team.id, RoutingLogFilter(), page=9, page_size=50)

    assert page.page == 2


def test_filter_by_outcome(logged_team):
    filters = RoutingLogFilter(outcomes=(RoutingOutcome.FALLBACK.value,))

    page = fetch_routing_log_page(logged_team.engine, logged_team.id, filters)

    assert page.total == 1
    assert page.entries[0].booking_page_id == logged_team.intro_page_id


def test_filter_by_day_in_zone(logged_team):
    # NOW is 09:00 UTC, 18:00 in Tokyo; rows run to 11:00 UTC, which is 20:00 in Tokyo on the same day.
    tokyo = ZoneInfo("Asia/Tokyo")
    same_day = RoutingLogFilter(start=date(2026, 12, 1), end=date(2026, 12, 1), zone=tokyo)
    next_day = RoutingLogFilter(start=date(2026, 12, 2), zone=tokyo)

    assert fetch_routing_log_page(logged_team.engine, logged_team.id, same_day).total == 61
    assert fetch_routing_log_page(logged_team.engine, logged_team.id, next_day).total == 0


def test_filter_by_form(logged_team):
    other_form = RoutingLogFilter(form_routing_id=9999)

    assert fetch_routing_log_page(logged_team.engine, logged_team.id, other_form).total == 0


def test_other_team_sees_no_rows(logged_team):
    page = fetch_routing_log_page(logged_team.engine, logged_team.other_team_id, RoutingLogFilter())

    assert page.total == 0


def test_details_show_email_unmasked(logged_team):
    newest = fetch_routing_log_page(logged_team.engine, logged_team.id, RoutingLogFilter()).entries[0]

    entry = get_routing_log_entry(logged_team.engine, logged_team.id, newest.id, masked=False)

    assert entry.email == "taro@example.co.jp"
    assert entry.answers["Email"] == ["taro@example.co.jp"]
    assert get_routing_log_entry(logged_team.engine, logged_team.other_team_id, newest.id) is None


def test_unknown_form_row_keeps_no_answers(routing_team):
    row_id = write_routing_log(
        routing_team.engine,
        form_key="k" * 80,
        outcome=RoutingOutcome.UNKNOWN_FORM,
        now=NOW,
        answers={"email": "taro@example.co.jp"},
    )

    with session_scope(routing_team.engine) as session:
        row = session.exec(select(RoutingLog).where(RoutingLog.id == row_id)).one()
    assert row.team_id is None
    assert row.answers == {}
    assert row.form_key == "k" * 64
