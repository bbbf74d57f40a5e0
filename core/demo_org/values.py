"""Conversion of field values between the JSON wire form and the stored form."""

from __future__ import annotations

from datetime import UTC, date, datetime


def format_datetime(moment: datetime) -> str:
    """Format an aware datetime the way Salesforce returns it: UTC, milliseconds, ``+0000``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """Parse an ISO-8601 datetime with ``Z`` or an offset (``+09:00`` or ``+0900``) into UTC.

    Raises ValueError when the text is not such a datetime; a value without an offset is rejected.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    elif len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        value = value[:-2] + ":" + value[-2:]

    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"datetime {text!r} has no time zone offset; add Z or an offset such as +09:00")
    return moment.astimezone(UTC)


def parse_date(text: str) -> date:
    """Parse a ``YYYY-MM-DD`` date. Raises ValueError on any other form."""
    return date.fromisoformat(text.strip())
