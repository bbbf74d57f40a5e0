"""The Sync log page: filters, paging, row details and retry of failed rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from core.runtime import Runtime
from core.store.db import session_scope
from core.store.models import (
    BookingPage,
    ConnectionStatus,
    OutboxEvent,
    OutboxStatus,
    SalesforceConnection,
    SyncLog,
    SyncOutcome,
    Team,
)
from tests.page_support import NOW, open_page, page_runtime, shown, texts

PAGE = "pages/sync_log.py"
INSTANCE = "https://demo.my.salesforce.com"


def add_row(session, team_id: int, number: int, outcome: str, *, page_id: int | None = None, **fields) -> SyncLog:
    outbox = OutboxEvent(
        team_id=team_id,
        dedupe_key=f"guest_booked:BK{number}",
        event_type="guest_booked",
        booking_uid=f"BK{number}",
        event_type_uid="ETINTRO",
        payload={},
        received_at=NOW,
        next_attempt_at=NOW,
        status=OutboxStatus.FAILED if outcome == SyncOutcome.FAILED else OutboxStatus.DONE,
        attempts=3 if outcome == SyncOutcome.FAILED else 1,
    )
    session.add(outbox)
    session.flush()
    created = NOW + timedelta(minutes=number)
    values = {"guest_email": f"guest{number}@example.com", "guest_name": f"Guest {number}", **fields}
    row = SyncLog(
        team_id=team_id,
        outbox_id=outbox.id,
        booking_page_id=page_id,
        booking_uid=f"BK{number}",
        event_type="guest_booked",
        outcome=outcome,
        created_at=created,
        updated_at=created,
        **values,
    )
    session.add(row)
    return row


@pytest.fixture
def logged_runtime(tmp_path: Path) -> Runtime:
    """A connected team with 60 created-Lead rows and, newest, one failed row."""
    with page_runtime(tmp_path, APP_DEMO="0") as runtime:
        with session_scope(runtime.engine) as session:
            team = Team(slug="sales-tokyo", name="Sales Tokyo", created_at=NOW)
            session.add(team)
            session.flush()
            session.add(
                SalesforceConnection(
                    team_id=team.id,
                    login_url="https://login.salesforce.com",
                    consumer_key="3MVGkey",
                    consumer_secret_enc=runtime.box.encrypt("secret"),
                    instance_url=INSTANCE,
                    org_id="00D000000000001EAA",
                    status=ConnectionStatus.CONNECTED,
                )
            )
            page = BookingPage(team_id=team.id, name="Intro call", event_type_uid="ETINTRO", updated_at=NOW)
            session.add(page)
            session.flush()
            for number in range(1, 61):
                add_row(
                    session,
                    team.id,
                    number,
                    SyncOutcome.CREATED_LEAD,
                    page_id=page.id,
                    records=[{"sobject": "Lead", "id": f"00Q{number:015d}"}],
                    api_calls=2,
                    duration_ms=310,
                )
            add_row(
                session,
                team.id,
                61,
                SyncOutcome.FAILED,
                page_id=page.id,
                error_code="REQUIRED_FIELD_MISSING",
                error_message="Required fields are missing: [Company]",
                next_step_key="sf_next.REQUIRED_FIELD_MISSING",
                attempts=3,
            )
        yield runtime


def select_row(app, index: int):
    """Select the table row at index, as a click on its checkbox does."""
    app.session_state[app.dataframe[0].key] = {"selection": {"rows": [index], "columns": [], "cells": []}}
    return app.run()


def add_newer_row(engine, number: int) -> None:
    """Add a row newer than the others, as a webhook arriving while the page is open does."""
    with session_scope(engine) as session:
        team_id = session.exec(select(Team)).one().id
        page_id = session.exec(select(BookingPage)).one().id
        add_row(session, team_id, number, SyncOutcome.CREATED_LEAD, page_id=page_id)


def retry_buttons(app) -> list:
    return [button for button in app.button if button.key and button.key.startswith("retry_")]


def test_table_is_paged_newest_first(logged_runtime):
    app = open_page(PAGE)

    assert not app.exception
    table = app.dataframe[0].value
    assert len(table) == 50
    assert table["guest"].iloc[0] == "Guest 61"
    assert table["outcome"].iloc[0] == "Failed"
    assert table["person"].iloc[1] == f"{INSTANCE}/lightning/r/Lead/00Q000000000000060/view"
    assert "61 events, page 1 of 2" in texts(app)

    app.number_input(key="log_page").set_value(2).run()

    assert app.dataframe[0].value["guest"].tolist() == [f"Guest {n}" for n in range(11, 0, -1)]


@pytest.mark.parametrize("language", ["en", "ja"])
def test_outcome_filter_in_both_languages(logged_runtime, language):
    app = open_page(PAGE, language)
    app.multiselect(key="log_outcomes").select(SyncOutcome.FAILED).run()

    assert not app.exception
    table = app.dataframe[0].value
    assert table["outcome"].tolist() == (["Failed"] if language == "en" else ["失敗"])


def test_guest_email_filter(logged_runtime):
    app = open_page(PAGE)
    app.text_input(key="log_guest_email").input("GUEST5").run()

    assert app.dataframe[0].value["guest"].tolist() == [
        f"Guest {n}" for n in (59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 5)
    ]


@pytest.mark.parametrize(
    ("language", "next_step"),
    [
        ("en", "What to do: A field that the org requires got no value."),
        ("ja", "対処方法: 組織で必須の項目に値が入っていません。"),
    ],
)
def test_failed_row_shows_error_and_next_step(logged_runtime, language, next_step):
    app = select_row(open_page(PAGE, language), 0)

    assert not app.exception
    assert "REQUIRED_FIELD_MISSING" in app.error[0].value
    assert "Required fields are missing: [Company]" in shown(app.error[0].value)
    assert any(info.value.startswith(next_step) for info in app.info)


def test_retry_requeues_failed_row(logged_runtime):
    app = select_row(open_page(PAGE), 0)
    retry_buttons(app)[0].click().run()

    assert not app.exception
    assert app.success[0].value.startswith("The event is queued again")
    with session_scope(logged_runtime.engine) as session:
        log = session.exec(select(SyncLog).where(SyncLog.booking_uid == "BK61")).one()
        outbox = session.get(OutboxEvent, log.outbox_id)
    assert log.outcome == SyncOutcome.QUEUED
    assert log.error_code is None
    assert outbox.status == OutboxStatus.QUEUED


def test_successful_row_has_no_retry(logged_runtime):
    app = select_row(open_page(PAGE), 1)

    assert not app.exception
    assert "Lead 00Q000000000000060" in texts(app)
    assert not retry_buttons(app)


def test_export_button_counts_filtered_rows(logged_runtime):
    app = open_page(PAGE, "ja")

    assert "CSV をエクスポート（61 件）" in [str(button.label) for button in app.get("download_button")]


def test_guest_markdown_is_not_rendered(logged_runtime):
    with session_scope(logged_runtime.engine) as session:
        team_id = session.exec(select(Team)).one().id
        add_row(session, team_id, 99, SyncOutcome.SKIPPED, guest_name="[Win a prize](https://attacker.example)")

    app = select_row(open_page(PAGE), 0)

    assert not app.exception
    assert app.subheader[0].value == r"Details: \[Win a prize\]\(https\://attacker\.example\)"


def test_new_event_does_not_move_selection(logged_runtime):
    app = select_row(open_page(PAGE), 0)
    assert app.subheader[0].value == "Details: Guest 61"

    add_newer_row(logged_runtime.engine, 62)
    app.run()

    assert not app.exception
    assert [subheader.value for subheader in app.subheader] == []
    assert app.dataframe[0].value["guest"].iloc[0] == "Guest 62"
    assert "Select a row in the table to see the error and what to do next." in texts(app)
    assert not retry_buttons(app)


def test_filter_change_does_not_move_selection(logged_runtime):
    app = select_row(open_page(PAGE), 0)

    app.text_input(key="log_guest_email").input("guest5").run()

    assert not app.exception
    assert [subheader.value for subheader in app.subheader] == []
    assert app.dataframe[0].value["guest"].iloc[0] == "Guest 59"


def test_selection_resolves_row_id(logged_runtime):
    app = open_page(PAGE)
    app.text_input(key="log_guest_email").input("guest5").run()

    app = select_row(app, 1)

    assert app.subheader[0].value == "Details: Guest 58"
    assert "**Guest email:** guest58@example\\.com" in texts(app)


def test_retry_keeps_row_selected_with_attempts(logged_runtime):
    app = select_row(open_page(PAGE), 0)
    assert "**Attempts:** 3" in texts(app)

    retry_buttons(app)[0].click().run()

    assert not app.exception
    assert app.subheader[0].value == "Details: Guest 61"
    assert "**Outcome:** Queued" in texts(app)
    assert "**Attempts:** 3" in texts(app)


def test_details_in_japanese(logged_runtime):
    app = select_row(open_page(PAGE, "ja"), 1)

    assert not app.exception
    shown_text = texts(app)
    assert "**結果：** リード作成" in shown_text
    assert "**試行回数：** 0 回" in shown_text
    assert "**API 呼び出し：** 2 回、**処理時間：** 310 ミリ秒" in shown_text


def test_one_row_is_counted_in_singular(logged_runtime):
    app = open_page(PAGE)
    app.multiselect(key="log_outcomes").select(SyncOutcome.FAILED).run()

    assert "1 event, page 1 of 1. Select a row to see its details." in texts(app)
    assert "Export CSV (1 row)" in [str(button.label) for button in app.get("download_button")]


@pytest.mark.parametrize(("language", "placeholder"), [("en", "All outcomes"), ("ja", "すべての結果")])
def test_outcome_filter_placeholder_is_translated(logged_runtime, language, placeholder):
    app = open_page(PAGE, language)

    assert app.multiselect(key="log_outcomes").placeholder == placeholder


def test_table_shows_compact_columns(logged_runtime):
    app = open_page(PAGE)

    columns = list(app.dataframe[0].proto.column_order)
    assert columns == ["time", "booking_page", "guest", "outcome", "person", "event", "api_calls", "duration_ms"]
