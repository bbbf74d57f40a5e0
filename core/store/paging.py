"""Paging helpers shared by the log screens: a page of rows, page arithmetic and calendar-day filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Generic, TypeVar

EntryT = TypeVar("EntryT")


@dataclass(frozen=True)
class Page(Generic[EntryT]):
    """One page of matching rows, newest first, with the count of all matches."""

    entries: list[EntryT]
    total: int
    page: int
    page_size: int

    @property
    def page_count(self) -> int:
        return count_pages(self.total, self.page_size)


def count_pages(total: int, page_size: int) -> int:
    """Return how many pages of page_size rows hold total rows; an empty result still has one page."""
    return max(1, -(-total // page_size))


def clamp_page(page: int, total: int, page_size: int) -> int:
    """Return page (1-based) moved into the pages that exist; a page past the last one becomes the last."""
    return min(max(1, page), count_pages(total, page_size))


def day_range_conditions(column: Any, start: date | None, end: date | None, zone: tzinfo) -> list[Any]:
    """Return the conditions that keep a UTC timestamp column within calendar days start to end in zone.

    Both days are included; None leaves that side open.
    """
    conditions: list[Any] = []
    if start is not None:
        start_at = datetime.combine(start, time.min, tzinfo=zone)
        conditions.append(column >= start_at.astimezone(timezone.utc))
    if end is not None:
        end_at = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
        conditions.append(column < end_at.astimezone(timezone.utc))
    return conditions
