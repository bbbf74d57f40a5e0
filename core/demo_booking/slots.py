"""The time slots the demo booking page offers: the next three weekdays at 10:00 and 14:00, Japan time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SLOT_ZONE = ZoneInfo("Asia/Tokyo")
SLOT_TIMES = (time(10, 0), time(14, 0))
SLOT_DURATION = timedelta(minutes=30)
SLOT_DAYS = 3
# date.weekday() numbers Monday 0 to Sunday 6.
SATURDAY = 5


@dataclass(frozen=True)
class Slot:
    """One bookable time; ``value`` is the form value, the start as ISO 8601 with its UTC offset."""

    start: datetime
    end: datetime

    @property
    def value(self) -> str:
        return self.start.isoformat(timespec="minutes")


def offered_slots(now: datetime) -> list[Slot]:
    """Return the slots offered at now: 10:00 and 14:00 (Asia/Tokyo) on the next three weekdays.

    The days start tomorrow in Japan, so every slot is in the future.
    Japanese public holidays are not skipped.
    """
    slots = []
    for day in next_weekdays(now.astimezone(SLOT_ZONE).date(), SLOT_DAYS):
        for start_time in SLOT_TIMES:
            start = datetime.combine(day, start_time, tzinfo=SLOT_ZONE)
            slots.append(Slot(start=start, end=start + SLOT_DURATION))
    return slots


def next_weekdays(today: date, count: int) -> list[date]:
    """Return the count weekdays (Monday to Friday) after today."""
    days = []
    day = today
    while len(days) < count:
        day += timedelta(days=1)
        if day.weekday() < SATURDAY:
            days.append(day)
    return days


def find_slot(slots: list[Slot], value: str) -> Slot | None:
    """Return the slot whose form value is value, or None when value is not one of them."""
    return next((slot for slot in slots if slot.value == value), None)
