"""Salesforce record ids: 15-character ids, their 18-character case-safe form, and key prefixes."""

from __future__ import annotations

import re

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_PATTERN = re.compile(r"^[0-9A-Za-z]{15}(?:[A-Z0-5]{3})?$")

# Instance and reserved characters between the key prefix and the counter. Real
# ids carry the pod here; the demo org uses one fixed value.
_INSTANCE = "8d00000"


def make_id(prefix: str, number: int) -> str:
    """Build the 18-character id of record `number` of the object with key prefix `prefix`."""
    if len(prefix) != 3 or not 0 <= number < 62**5:
        raise ValueError(f"cannot build an id from prefix {prefix!r} and number {number}")

    digits = ""
    for _ in range(5):
        number, remainder = divmod(number, 62)
        digits = _BASE62[remainder] + digits
    return to_18(prefix + _INSTANCE + digits)


def to_18(id15: str) -> str:
    """Append the case-safe suffix that turns a 15-character id into its 18-character form."""
    suffix = ""
    for start in (0, 5, 10):
        chunk = id15[start : start + 5]
        flags = sum(1 << position for position, char in enumerate(chunk) if char.isupper())
        suffix += _SUFFIX_ALPHABET[flags]
    return id15 + suffix


def normalize_id(value: object) -> str | None:
    """Return the 18-character form of a 15- or 18-character id, or None when `value` is not an id.

    An 18-character id whose suffix does not match its first 15 characters is not an id.
    """
    if not isinstance(value, str) or not _ID_PATTERN.match(value):
        return None

    full = to_18(value[:15])
    if len(value) == 18 and value != full:
        return None
    return full
