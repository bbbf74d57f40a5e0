"""Sync log queries for the Sync log screen: filter, page, count and CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import select

from core.auth.audit import Actor
from core.auth.permissions import Action, PermissionDenied, decide, role_in_team
from core.i18n import translate
from core.store.db import session_scope
from core.store.models import BookingPage, Plan, Role, SyncLog, SyncOutcome, Team
from core.store.paging import Page, clamp_page, day_range_conditions

PAGE_SIZE = 50
EXPORT_CHUNK_SIZE = 500

# Excel opens a UTF-8 CSV with Japanese text correctly only when it starts with a BOM.
UTF8_BOM = "\ufeff"

# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV Injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class SyncLogFilter:
    """Which sync log rows to show; empty fields match every row.

    ``start`` and ``end`` are calendar days in ``zone``, both included.
    """

    start: date | None = None
    end: date | None = None
    outcomes: tuple[str, ...] = ()
    booking_page_id: int | None = None
    guest_email: str = ""
    zone: tzinfo = timezone.utc


@dataclass(frozen=True)
class SyncLogEntry:
    """One sync log row with the name of its booking page."""

    id: int
    created_at: datetime
    updated_at: datetime
    booking_page_id: int | None
    booking_page_name: str | None
    booking_uid: str
    event_type: str
    guest_name: str
    guest_email: str
    outcome: str
    records: list[dict[str, str]]
    api_calls: int
    duration_ms: int
    attempts: int
    detail_key: str | None
    detail_params: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    next_step_key: str | None = None
    next_step_params: dict[str, Any] = field(default_factory=dict)

    @property
    def can_retry(self) -> bool:
        return self.outcome == SyncOutcome.FAILED


class SyncLogPage(Page[SyncLogEntry]):
    """One page of filtered rows, newest first, with the count of all matches."""


def _viewer_conditions(engine: Engine, team_id: int, viewer: Actor | None) -> list[Any]:
    """Return the conditions that limit rows to what viewer may see; None stands for the system.

    Members see the rows of booking pages they own; managers and above see the
    whole team. Raises PermissionDenied when viewer is not a member of the team.
    """
    if viewer is None:
        return []
    with session_scope(engine) as session:
        role = role_in_team(session, viewer.user_id, team_id)
        team = session.get(Team, team_id)
        plan = team.plan if team is not None else Plan.FREE
    if role is None:
        raise PermissionDenied(Action.VIEW_SYNC_LOG, decide(None, Action.VIEW_SYNC_LOG, plan))
    if role == Role.MEMBER:
        return [BookingPage.owner_user_id == viewer.user_id]
    return []


def _conditions(team_id: int, filters: SyncLogFilter) -> list[Any]:
    conditions: list[Any] = [SyncLog.team_id == team_id]
    conditions += day_range_conditions(SyncLog.created_at, filters.start, filters.end, filters.zone)
    if filters.outcomes:
        conditions.append(SyncLog.outcome.in_(filters.outcomes))
    if filters.booking_page_id is not None:
        conditions.append(SyncLog.booking_page_id == filters.booking_page_id)
    term = filters.guest_email.strip().lower()
    if term:
        # guest_email is stored lower-cased, so a lower-cased term matches case-insensitively.
        conditions.append(SyncLog.guest_email.contains(term, autoescape=True))
    return conditions


def _select_entries(conditions: list[Any]):
    return (
        select(SyncLog, BookingPage.name)
        .outerjoin(BookingPage, SyncLog.booking_page_id == BookingPage.id)
        .where(*conditions)
        .order_by(SyncLog.created_at.desc(), SyncLog.id.desc())
    )


def _entry(row: SyncLog, page_name: str | None) -> SyncLogEntry:
    return SyncLogEntry(
        id=row.id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        booking_page_id=row.booking_page_id,
        booking_page_name=page_name,
        booking_uid=row.booking_uid,
        event_type=row.event_type,
        guest_name=row.guest_name,
        guest_email=row.guest_email,
        outcome=row.outcome,
        records=list(row.records or []),
        api_calls=row.api_calls,
        duration_ms=row.duration_ms,
        attempts=row.attempts,
        detail_key=row.detail_key,
        detail_params=dict(row.detail_params or {}),
        error_code=row.error_code,
        error_message=row.error_message,
        next_step_key=row.next_step_key,
        next_step_params=dict(row.next_step_params or {}),
    )


def count_sync_log(engine: Engine, team_id: int, filters: SyncLogFilter, *, viewer: Actor | None) -> int:
    """Return how many of the team's rows that viewer may see match filters.

    Raises PermissionDenied when viewer is not a member of the team.
    """
    conditions = _conditions(team_id, filters) + _viewer_conditions(engine, team_id, viewer)
    with session_scope(engine) as session:
        statement = (
            select(func.count())
            .select_from(SyncLog)
            .outerjoin(BookingPage, SyncLog.booking_page_id == BookingPage.id)
            .where(*conditions)
        )
        return session.exec(statement).one()


def fetch_sync_log_page(
    engine: Engine,
    team_id: int,
    filters: SyncLogFilter,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    *,
    viewer: Actor | None,
) -> SyncLogPage:
    """Return one page (1-based) of the team's matching rows that viewer may see, newest first.

    A page past the last one returns the last page. A viewer of None stands
    for the system, which may read every row. Raises PermissionDenied when viewer is not a
    member of the team.
    """
    total = count_sync_log(engine, team_id, filters, viewer=viewer)
    page = clamp_page(page, total, page_size)

    conditions = _conditions(team_id, filters) + _viewer_conditions(engine, team_id, viewer)
    with session_scope(engine) as session:
        statement = _select_entries(conditions).limit(page_size).offset((page - 1) * page_size)
        entries = [_entry(row, name) for row, name in session.exec(statement).all()]
    return SyncLogPage(entries=entries, total=total, page=page, page_size=page_size)


def get_sync_log_entry(engine: Engine, team_id: int, entry_id: int, *, viewer: Actor | None) -> SyncLogEntry | None:
    """Return the team's row with entry_id, or None when it does not exist or viewer may not see it."""
    conditions = [SyncLog.team_id == team_id, SyncLog.id == entry_id, *_viewer_conditions(engine, team_id, viewer)]
    with session_scope(engine) as session:
        statement = _select_entries(conditions)
        result = session.exec(statement).first()
        return _entry(*result) if result else None


def iter_sync_log(
    engine: Engine,
    team_id: int,
    filters: SyncLogFilter,
    chunk_size: int = EXPORT_CHUNK_SIZE,
    *,
    viewer: Actor | None,
) -> Iterator[list[SyncLogEntry]]:
    """Yield every matching row that viewer may see, newest first, in chunks of at most chunk_size.

    Each chunk is one query that continues after the last row of the previous one
    (keyset paging), so rows added during an export do not shift later chunks.
    """
    conditions = _conditions(team_id, filters) + _viewer_conditions(engine, team_id, viewer)
    after: tuple[datetime, int] | None = None
    while True:
        with session_scope(engine) as session:
            statement = _select_entries(conditions)
            if after is not None:
                created_at, entry_id = after
                statement = statement.where(
                    (SyncLog.created_at < created_at)
                    | ((SyncLog.created_at == created_at) & (SyncLog.id < entry_id))
                )
            chunk = [_entry(row, name) for row, name in session.exec(statement.limit(chunk_size)).all()]
        if not chunk:
            return
        yield chunk
        if len(chunk) < chunk_size:
            return
        after = (chunk[-1].created_at, chunk[-1].id)


def export_sync_log_csv(
    engine: Engine,
    team_id: int,
    filters: SyncLogFilter,
    *,
    language: str,
    record_url: Callable[[str, str], str | None],
    chunk_size: int = EXPORT_CHUNK_SIZE,
    viewer: Actor | None,
) -> bytes:
    """Return every matching row that viewer may see as a UTF-8 CSV with a BOM, headers and outcomes in language.

    Times are ISO 8601 in filters.zone. record_url turns (sobject, id) into a link,
    or None when the org's instance URL is unknown; then the Id is written.
    """
    buffer = io.StringIO()
    buffer.write(UTF8_BOM)
    writer = csv.writer(buffer)
    writer.writerow([translate(f"sync_log.csv.{name}", language) for name in CSV_COLUMNS])

    for chunk in iter_sync_log(engine, team_id, filters, chunk_size, viewer=viewer):
        for entry in chunk:
            writer.writerow(_csv_row(entry, filters.zone, language, record_url))
    return buffer.getvalue().encode("utf-8")


CSV_COLUMNS = (
    "time",
    "booking_page",
    "guest_name",
    "guest_email",
    "event_type",
    "outcome",
    "records",
    "api_calls",
    "duration_ms",
    "attempts",
    "error_code",
    "error_message",
    "booking_uid",
)


def _csv_row(
    entry: SyncLogEntry,
    zone: tzinfo,
    language: str,
    record_url: Callable[[str, str], str | None],
) -> list[Any]:
    links = [record_url(record["sobject"], record["id"]) or record["id"] for record in entry.records]
    row = [
        entry.created_at.astimezone(zone).isoformat(timespec="seconds"),
        entry.booking_page_name or "",
        entry.guest_name,
        entry.guest_email,
        entry.event_type,
        translate(f"sync_log.outcome.{entry.outcome}", language),
        " ".join(links),
        entry.api_calls,
        entry.duration_ms,
        entry.attempts,
        entry.error_code or "",
        entry.error_message or "",
        entry.booking_uid,
    ]
    return [neutralize_formula(cell) if isinstance(cell, str) else cell for cell in row]


def neutralize_formula(text: str) -> str:
    """Return text with a leading single quote when a spreadsheet would run it as a formula.

    Guest names, page names and Salesforce messages come from outside, so a cell
    such as =HYPERLINK(...) must open as text.
    """
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
