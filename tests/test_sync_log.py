"""Sync log queries: filters, database paging, counting and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from core.store.db import session_scope
from core.store.models import BookingPage, OutboxEvent, SyncLog, SyncOutcome, Team
from core.sync.log import (
    SyncLogFilter,
    count_sync_log,
    export_sync_log_csv,
    fetch_sync_log_page,
    get_sync_log_entry,
    iter_sync_log,
)

START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
INSTANCE = "https://demo.my.salesforce.com"


def record_url(sobject: str, record_id: str) -> str:
    return f"{INSTANCE}/lightning/r/{sobject}/{record_id}/view"


def add_log(session, team_id: int, number: int, *, page_id=None, outcome=SyncOutcome.CREATED_LEAD, **fields) -> None:
    outbox = OutboxEvent(
        team_id=team_id,
        dedupe_key=f"guest_booked:BK{number}",
        event_type="guest_booked",
        booking_uid=f"BK{number}",
        event_type_uid="ETINTRO",
        payload={},
        received_at=START,
        next_attempt_at=START,
    )
    session.add(outbox)
    session.flush()
    values = {
        "guest_email": f"guest{number}@example.com",
        "guest_name": f"Guest {number}",
        "created_at": START + timedelta(hours=number),
    }
    values.update(fields)
    session.add(
        SyncLog(
            team_id=team_id,
            outbox_id=outbox.id,
            booking_page_id=page_id,
            booking_uid=f"BK{number}",
            event_type="guest_booked",
            outcome=outcome,
            updated_at=values["created_at"],
            **values,
        )
    )


@pytest.fixture
def team_ids(empty_store: Engine) -> tuple[int, int]:
    with session_scope(empty_store) as session:
        teams = [Team(slug=slug, name=slug, created_at=START) for slug in ("tokyo", "osaka")]
        session.add_all(teams)
        session.flush()
        return teams[0].id, teams[1].id


@pytest.fixture
def logged_store(empty_store: Engine, team_ids) -> Engine:
    """120 rows for team tokyo an hour apart from 2026-12-01 01:00 UTC, plus 3 rows of team osaka."""
    tokyo, osaka = team_ids
    with session_scope(empty_store) as session:
        page = BookingPage(team_id=tokyo, name="Intro call", event_type_uid="ETINTRO", updated_at=START)
        session.add(page)
        session.flush()
        for number in range(1, 121):
            outcome = SyncOutcome.FAILED if number % 10 == 0 else SyncOutcome.CREATED_LEAD
            records = [{"sobject": "Lead", "id": f"00Q{number:015d}"}]
            add_log(
                session,
                tokyo,
                number,
                page_id=page.id if number % 2 else None,
                outcome=outcome,
                records=records,
                error_code="REQUIRED_FIELD_MISSING" if outcome == SyncOutcome.FAILED else None,
            )
        for number in range(121, 124):
            add_log(session, osaka, number)
    return empty_store


def test_page_is_newest_first_and_sized(logged_store, team_ids):
    page = fetch_sync_log_page(logged_store, team_ids[0], SyncLogFilter(), page=1, viewer=None)

    assert page.total == 120
    assert page.page_count == 3
    assert len(page.entries) == 50
    assert page.entries[0].booking_uid == "BK120"
    assert page.entries[-1].booking_uid == "BK71"


def test_last_page_holds_the_rest(logged_store, team_ids):
    page = fetch_sync_log_page(logged_store, team_ids[0], SyncLogFilter(), page=3, viewer=None)

    assert [entry.booking_uid for entry in page.entries] == [f"BK{n}" for n in range(20, 0, -1)]


def test_page_past_the_end_returns_last_page(logged_store, team_ids):
    page = fetch_sync_log_page(logged_store, team_ids[0], SyncLogFilter(), page=9, viewer=None)

    assert page.page == 3
    assert page.entries[0].booking_uid == "BK20"


def test_outcome_filter(logged_store, team_ids):
    filters = SyncLogFilter(outcomes=(SyncOutcome.FAILED,))

    page = fetch_sync_log_page(logged_store, team_ids[0], filters, viewer=None)

    assert page.total == 12
    assert {entry.error_code for entry in page.entries} == {"REQUIRED_FIELD_MISSING"}


def test_booking_page_filter_and_name(logged_store, team_ids):
    first = fetch_sync_log_page(logged_store, team_ids[0], SyncLogFilter(), viewer=None).entries[0]
    page_id = fetch_sync_log_page(logged_store, team_ids[0], SyncLogFilter(), viewer=None).entries[1].booking_page_id

    page = fetch_sync_log_page(logged_store, team_ids[0], SyncLogFilter(booking_page_id=page_id), viewer=None)

    assert first.booking_page_name is None
    assert page.total == 60
    assert {entry.booking_page_name for entry in page.entries} == {"Intro call"}


def test_guest_email_filter_is_case_insensitive_contains(logged_store, team_ids):
    filters = SyncLogFilter(guest_email=" GUEST11")

    page = fetch_sync_log_page(logged_store, team_ids[0], filters, viewer=None)

    assert [entry.guest_email for entry in page.entries] == [
        "guest119@example.com",
        "guest118@example.com",
        "guest117@example.com",
        "guest116@example.com",
        "guest115@example.com",
        "guest114@example.com",
        "guest113@example.com",
        "guest112@example.com",
        "guest111@example.com",
        "guest110@example.com",
        "guest11@example.com",
    ]


def test_guest_email_filter_treats_wildcards_literally(logged_store, team_ids):
    assert count_sync_log(logged_store, team_ids[0], SyncLogFilter(guest_email="guest_1%"), viewer=None) == 0


def test_date_range_includes_both_days_in_utc(logged_store, team_ids):
    # Rows are at 01:00, 02:00, ... UTC; 2026-12-02 holds rows 24 to 47.
    filters = SyncLogFilter(start=date(2026, 12, 2), end=date(2026, 12, 2))

    page = fetch_sync_log_page(logged_store, team_ids[0], filters, viewer=None)

    assert page.total == 24
    assert page.entries[0].booking_uid == "BK47"
    assert page.entries[-1].booking_uid == "BK24"


def test_date_range_follows_zone(logged_store, team_ids):
    # 2026-12-02 in Tokyo is 2026-12-01 15:00 to 2026-12-02 15:00 UTC: rows 15 to 38.
    filters = SyncLogFilter(start=date(2026, 12, 2), end=date(2026, 12, 2), zone=ZoneInfo("Asia/Tokyo"))

    page = fetch_sync_log_page(logged_store, team_ids[0], filters, viewer=None)

    assert page.total == 24
    assert page.entries[0].booking_uid == "BK38"
    assert page.entries[-1].booking_uid == "BK15"


def test_other_team_rows_are_hidden(logged_store, team_ids):
    assert count_sync_log(logged_store, team_ids[1], SyncLogFilter(), viewer=None) == 3
    assert get_sync_log_entry(logged_store, team_ids[1], 1, viewer=None) is None


def test_iter_chunks_cover_every_row_once(logged_store, team_ids):
    chunks = list(iter_sync_log(logged_store, team_ids[0], SyncLogFilter(), chunk_size=50, viewer=None))

    assert [len(chunk) for chunk in chunks] == [50, 50, 20]
    uids = [entry.booking_uid for chunk in chunks for entry in chunk]
    assert uids == [f"BK{n}" for n in range(120, 0, -1)]


def test_iter_handles_rows_with_equal_times(empty_store, team_ids):
    with session_scope(empty_store) as session:
        for number in range(1, 6):
            add_log(session, team_ids[0], number, created_at=START)

    chunks = list(iter_sync_log(empty_store, team_ids[0], SyncLogFilter(), chunk_size=2, viewer=None))

    assert sorted(entry.booking_uid for chunk in chunks for entry in chunk) == [f"BK{n}" for n in range(1, 6)]


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_export_has_all_filtered_rows(logged_store, team_ids):
    filters = SyncLogFilter(outcomes=(SyncOutcome.FAILED,))

    rows = read_csv(
        export_sync_log_csv(
            logged_store, team_ids[0], filters, language="en", record_url=record_url, chunk_size=5, viewer=None
        )
    )

    assert rows[0][:6] == ["Received", "Booking page", "Guest name", "Guest email", "Event type", "Outcome"]
    assert len(rows) == 13
    first = dict(zip(rows[0], rows[1]))
    assert first["Received"] == "2026-12-06T00:00:00+00:00"
    assert first["Outcome"] == "Failed"
    assert first["Error code"] == "REQUIRED_FIELD_MISSING"
    assert first["Salesforce records"] == f"{INSTANCE}/lightning/r/Lead/00Q000000000000120/view"


def test_csv_export_in_japanese_uses_tokyo_time(logged_store, team_ids):
    filters = SyncLogFilter(guest_email="guest1@", zone=ZoneInfo("Asia/Tokyo"))

    rows = read_csv(
        export_sync_log_csv(
            logged_store, team_ids[0], filters, language="ja", record_url=lambda s, i: None, viewer=None
        )
    )

    assert rows[0][0] == "受信日時"
    assert rows[1][0] == "2026-12-01T10:00:00+09:00"
    assert rows[1][5] == "リード作成"
    assert rows[1][6] == "00Q000000000000001"


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_export_neutralizes_formulas(empty_store, team_ids, prefix):
    with session_scope(empty_store) as session:
        add_log(
            session,
            team_ids[0],
            1,
            guest_name=f'{prefix}HYPERLINK("http://evil.example","x")',
            error_message=f"{prefix}1+1",
            api_calls=2,
        )

    data = export_sync_log_csv(
        empty_store, team_ids[0], SyncLogFilter(), language="en", record_url=record_url, viewer=None
    )

    rows = read_csv(data)
    row = dict(zip(rows[0], rows[1]))
    assert row["Guest name"] == f"'{prefix}HYPERLINK(\"http://evil.example\",\"x\")"
    assert row["Error message"] == f"'{prefix}1+1"
    assert row["Guest email"] == "guest1@example.com"


def test_csv_export_keeps_numbers_numeric(empty_store, team_ids):
    with session_scope(empty_store) as session:
        add_log(session, team_ids[0], 1, api_calls=2, duration_ms=310, attempts=1)

    data = export_sync_log_csv(
        empty_store, team_ids[0], SyncLogFilter(), language="en", record_url=record_url, viewer=None
    )

    line = data.decode("utf-8-sig").splitlines()[1]
    # csv.writer quotes no cell here, so a spreadsheet reads 2, 310 and 1 as numbers.
    assert ",2,310,1," in line
