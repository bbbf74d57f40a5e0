"""The routing log: one row per visitor sent through GET /route/{form_key}, and its queries.

Rows hold the visitor's answers, which are guest data. List views mask email
addresses (``t***@example.co.jp``); only the details of one row show them whole.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, and_, func
from sqlmodel import select

from core.routing.text import normalize_text
from core.store.db import session_scope
from core.store.models import AccountEngagementForm, BookingPage, FormRouting, RoutingLog
from core.store.paging import Page, clamp_page, day_range_conditions

logger = logging.getLogger(__name__)

PAGE_SIZE = 50

# The endpoint is public, so one request must not be able to store an unbounded amount of text.
MAX_FIELDS = 50
MAX_VALUES_PER_FIELD = 20
MAX_VALUE_LENGTH = 500
MAX_FIELD_NAME_LENGTH = 100
FORM_KEY_LENGTH = 64  # RoutingLog.form_key column length

EMAIL_FIELD = "email"
MASK = "***"


class RoutingOutcome(StrEnum):
    """The result of one request to the redirect endpoint."""

    MATCHED = "matched"  # a rule matched; the visitor went to its booking page
    FALLBACK = "fallback"  # no rule matched; the visitor went to the fallback page
    NO_MATCH = "no_match"  # nothing matched and there is no usable fallback; the visitor chose a page
    UNKNOWN_FORM = "unknown_form"  # no routing has this form key
    DISABLED = "disabled"  # the form's routing is turned off
    NOT_VERIFIED = "not_verified"  # the prospect lookup failed or found no prospect, so the fallback was used


@dataclass(frozen=True)
class RoutingLogFilter:
    """The filter of the routing log screen; empty fields match every row.

    ``start`` and ``end`` are calendar days in ``zone``, both included.
    """

    start: date | None = None
    end: date | None = None
    form_routing_id: int | None = None
    outcomes: tuple[str, ...] = ()
    zone: tzinfo = timezone.utc


@dataclass(frozen=True)
class RoutingLogEntry:
    """One routing log row with the names of its form and booking page.

    ``email`` is the visitor's email address, masked unless the entry was read
    with masked=False; ``answers`` are masked the same way.
    """

    id: int
    created_at: datetime
    form_routing_id: int | None
    form_id: int | None
    form_name: str | None
    outcome: str
    matched_rule_id: str | None
    matched_rule_name: str | None
    booking_page_id: int | None
    booking_page_name: str | None
    email: str
    answers: dict[str, list[str]] = field(default_factory=dict)


class RoutingLogPage(Page[RoutingLogEntry]):
    """One page of filtered rows, newest first, with the count of all matches."""


def mask_email(value: str) -> str:
    """Mask the local part of an email address but its first character: taro@example.jp -> t***@example.jp.

    A value without "@" is returned unchanged.
    """
    local, at, domain = value.partition("@")
    if not at:
        return value
    return f"{local[:1]}{MASK}@{domain}"


def clip_answers(answers: Mapping[str, str | Sequence[str]]) -> dict[str, list[str]]:
    """Return answers as lists of strings, cut to the field, value and length limits above."""
    clipped: dict[str, list[str]] = {}
    for name, raw in answers.items():
        if len(clipped) >= MAX_FIELDS:
            break
        values = [raw] if isinstance(raw, str) else list(raw)
        clipped[name[:MAX_FIELD_NAME_LENGTH]] = [str(value)[:MAX_VALUE_LENGTH] for value in values[:MAX_VALUES_PER_FIELD]]
    return clipped


def email_of(answers: Mapping[str, Sequence[str]]) -> str:
    """Return the first email answer, matching the field name caselessly, or ""."""
    for name, values in answers.items():
        if normalize_text(name) == EMAIL_FIELD and values:
            return values[0].strip()
    return ""


def mask_answers(answers: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Return answers with every value that contains "@" masked as an email address."""
    return {name: [mask_email(value) for value in values] for name, values in answers.items()}


def write_routing_log(
    engine: Engine,
    *,
    form_key: str,
    outcome: RoutingOutcome,
    now: datetime,
    team_id: int | None = None,
    form_routing_id: int | None = None,
    matched_rule_id: str | None = None,
    matched_rule_name: str | None = None,
    booking_page_id: int | None = None,
    answers: Mapping[str, str | Sequence[str]] | None = None,
) -> int:
    """Insert one routing log row and return its id.

    Rows of unknown form keys belong to no team, so their answers are dropped
    rather than kept where no manager can see or delete them.
    """
    stored_answers = clip_answers(answers or {}) if team_id is not None else {}
    row = RoutingLog(
        team_id=team_id,
        form_routing_id=form_routing_id,
        form_key=form_key[:FORM_KEY_LENGTH],
        outcome=outcome.value,
        matched_rule_id=matched_rule_id,
        matched_rule_name=matched_rule_name,
        booking_page_id=booking_page_id,
        answers=stored_answers,
        created_at=now,
    )
    with session_scope(engine) as session:
        session.add(row)
        session.flush()
        row_id = row.id
    logger.info("routing log %s: form routing %s, outcome %s", row_id, form_routing_id, outcome.value)
    return row_id


def count_routing_log(engine: Engine, team_id: int, filters: RoutingLogFilter) -> int:
    """Return how many of the team's rows match filters."""
    with session_scope(engine) as session:
        statement = select(func.count()).select_from(RoutingLog).where(*_conditions(team_id, filters))
        return session.exec(statement).one()


def fetch_routing_log_page(
    engine: Engine, team_id: int, filters: RoutingLogFilter, page: int = 1, page_size: int = PAGE_SIZE
) -> RoutingLogPage:
    """Return one page (1-based) of the team's matching rows, newest first, with emails masked.

    A page past the last one returns the last page.
    """
    total = count_routing_log(engine, team_id, filters)
    page = clamp_page(page, total, page_size)

    with session_scope(engine) as session:
        statement = _select_entries(_conditions(team_id, filters)).limit(page_size).offset((page - 1) * page_size)
        entries = [_entry(*result, masked=True) for result in session.exec(statement).all()]
    return RoutingLogPage(entries=entries, total=total, page=page, page_size=page_size)


def get_routing_log_entry(
    engine: Engine, team_id: int, entry_id: int, *, masked: bool = True
) -> RoutingLogEntry | None:
    """Return the team's row with entry_id, or None; masked=False shows email addresses whole."""
    with session_scope(engine) as session:
        result = session.exec(_select_entries([RoutingLog.team_id == team_id, RoutingLog.id == entry_id])).first()
        return _entry(*result, masked=masked) if result else None


def _conditions(team_id: int, filters: RoutingLogFilter) -> list[Any]:
    conditions: list[Any] = [RoutingLog.team_id == team_id]
    conditions += day_range_conditions(RoutingLog.created_at, filters.start, filters.end, filters.zone)
    if filters.form_routing_id is not None:
        conditions.append(RoutingLog.form_routing_id == filters.form_routing_id)
    if filters.outcomes:
        conditions.append(RoutingLog.outcome.in_(filters.outcomes))
    return conditions


def _select_entries(conditions: list[Any]):
    return (
        select(RoutingLog, FormRouting.form_id, AccountEngagementForm.name, BookingPage.name)
        .outerjoin(FormRouting, RoutingLog.form_routing_id == FormRouting.id)
        .outerjoin(
            AccountEngagementForm,
            and_(
                AccountEngagementForm.team_id == FormRouting.team_id,
                AccountEngagementForm.form_id == FormRouting.form_id,
            ),
        )
        .outerjoin(BookingPage, RoutingLog.booking_page_id == BookingPage.id)
        .where(*conditions)
        .order_by(RoutingLog.created_at.desc(), RoutingLog.id.desc())
    )


def _entry(
    row: RoutingLog, form_id: int | None, form_name: str | None, page_name: str | None, *, masked: bool
) -> RoutingLogEntry:
    answers = {name: list(values) for name, values in (row.answers or {}).items()}
    email = email_of(answers)
    if masked:
        answers = mask_answers(answers)
        email = mask_email(email)
    return RoutingLogEntry(
        id=row.id,
        created_at=row.created_at,
        form_routing_id=row.form_routing_id,
        form_id=form_id,
        form_name=form_name,
        outcome=row.outcome,
        matched_rule_id=row.matched_rule_id,
        matched_rule_name=row.matched_rule_name,
        booking_page_id=row.booking_page_id,
        booking_page_name=page_name,
        email=email,
        answers=answers,
    )
