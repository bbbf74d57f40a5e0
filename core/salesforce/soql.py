"""SOQL literals built from Python values, so user data never reaches a query unquoted.

Quoting rules from the SOQL reference ("Quoted String Escape Sequences"): inside
a string literal only the single quote and the backslash are reserved, and the
escapes \\n \\r \\t \\b \\f \\" \\' \\\\ are allowed. Date literals are
YYYY-MM-DD and dateTime literals YYYY-MM-DDThh:mm:ssZ.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

# Backslash first, so the backslashes added by the other escapes are not doubled.
_STRING_ESCAPES = (
    ("\\", "\\\\"),
    ("'", "\\'"),
    ('"', '\\"'),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
    ("\b", "\\b"),
    ("\f", "\\f"),
)

# A field list such as "Id, Email, Owner.Name, COUNT(Id)": names, dots, commas,
# parentheses and spaces, and nothing that could end a clause or open a literal.
_FIELD_LIST = re.compile(r"[A-Za-z][A-Za-z0-9_.]*(\(\s*[A-Za-z0-9_.]*\s*\))?(\s*,\s*[A-Za-z][A-Za-z0-9_.]*(\(\s*[A-Za-z0-9_.]*\s*\))?)*")


def quote(value: Any) -> str:
    """Return value as a SOQL literal.

    Strings are quoted and escaped, None is null, booleans are true/false,
    dates and aware datetimes become SOQL date and dateTime literals (UTC), and a
    list or tuple becomes a parenthesised list for IN.

    Raises TypeError for other types, and ValueError for a naive datetime, a
    non-finite float or an empty list (IN () is a syntax error).
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quote_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _quote_float(value)
    if isinstance(value, Decimal):
        return _quote_decimal(value)
    if isinstance(value, datetime):
        return _quote_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return _quote_list(value)
    raise TypeError(
        f"cannot quote a {type(value).__name__} as a SOQL literal: "
        "pass a str, bool, int, float, Decimal, date, datetime, None, or a list of these"
    )


def format_soql(template: str, *args: Any, **kwargs: Any) -> str:
    """Fill a SOQL template: each {} or {name} becomes quote(value).

    {name:literal} inserts a field list unquoted (a str such as "Id, Email" or a
    list of field names). It is for field lists only and raises ValueError for
    anything else.

        format_soql("SELECT {fields:literal} FROM Lead WHERE Email = {}", email, fields=["Id"])

    Raises ValueError for another format spec or a conversion such as {!r}.
    """
    return _SoqlFormatter().vformat(template, args, kwargs)


def _quote_string(value: str) -> str:
    for plain, escaped in _STRING_ESCAPES:
        value = value.replace(plain, escaped)
    return f"'{value}'"


def _quote_float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"cannot use {value!r} in SOQL: only finite numbers have a literal form")
    return repr(value)


def _quote_decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot use Decimal({str(value)!r}) in SOQL: only finite numbers have a literal form")
    # "f" avoids exponent notation such as 1E+3, which SOQL does not accept.
    return format(value, "f")


def _quote_datetime(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"cannot use the naive datetime {value.isoformat()} in SOQL: "
            "give it a time zone, for example datetime.now(UTC)"
        )
    # NOTE: microseconds are dropped, because the documented dateTime literal has whole seconds.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _quote_list(values: Sequence[Any]) -> str:
    if not values:
        raise ValueError("cannot build an empty IN list: SOQL rejects IN (); skip the query instead")
    return "(" + ",".join(quote(item) for item in values) + ")"


def _literal_field_list(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(item) for item in value)
    if not isinstance(value, str) or not _FIELD_LIST.fullmatch(value.strip()):
        raise ValueError(
            f"{value!r} is not a field list: a :literal field takes names such as 'Id, Email, Owner.Name'"
        )
    return value.strip()


class _SoqlFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "literal":
            return _literal_field_list(value)
        if format_spec:
            raise ValueError(
                f"unknown SOQL format spec {format_spec!r}: use {{}} for a value or {{name:literal}} for a field list"
            )
        return quote(value)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            raise ValueError(f"conversion !{conversion} is not allowed in SOQL templates: values are always quoted")
        return value

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        try:
            return super().get_value(key, args, kwargs)
        except (IndexError, KeyError) as exc:
            raise ValueError(f"the SOQL template names {{{key}}} but no value was given for it") from exc
