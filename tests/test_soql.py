from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from core.salesforce.soql import format_soql, quote


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("taro@example.com", "'taro@example.com'"),
        ("O'Brien", "'O\\'Brien'"),
        ("back\\slash", "'back\\\\slash'"),
        ("say \"hi\"", "'say \\\"hi\\\"'"),
        ("line\nbreak\ttab\rreturn", "'line\\nbreak\\ttab\\rreturn'"),
        ("\b\f", "'\\b\\f'"),
        ("山田 太郎", "'山田 太郎'"),
        ("", "''"),
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-7, "-7"),
        (2.5, "2.5"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0.10"), "0.10"),
        (date(2026, 3, 1), "2026-03-01"),
        (datetime(2026, 3, 1, 10, 30, 5, tzinfo=UTC), "2026-03-01T10:30:05Z"),
        (["a", "b'c"], "('a','b\\'c')"),
        ((1, 2), "(1,2)"),
    ],
)
def test_quote_values(value, expected):
    assert quote(value) == expected


def test_quote_converts_datetime_to_utc():
    tokyo = timezone(timedelta(hours=9))

    assert quote(datetime(2026, 3, 1, 9, 0, tzinfo=tokyo)) == "2026-03-01T00:00:00Z"


def test_quote_escapes_backslash_before_quote():
    # An attacker's \' must not turn into \\' (an escaped backslash and a closing quote).
    assert quote("\\' OR Name != '") == "'\\\\\\' OR Name != \\''"


def test_quote_rejects_naive_datetime():
    with pytest.raises(ValueError, match="naive datetime"):
        quote(datetime(2026, 3, 1, 9, 0))


def test_quote_rejects_empty_list():
    with pytest.raises(ValueError, match="empty IN list"):
        quote([])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN")])
def test_quote_rejects_non_finite_numbers(value):
    with pytest.raises(ValueError, match="finite"):
        quote(value)


def test_quote_rejects_unknown_type():
    with pytest.raises(TypeError, match="cannot quote a dict"):
        quote({"a": 1})


def test_format_soql_quotes_positional_and_named_values():
    soql = format_soql(
        "SELECT Id FROM Lead WHERE Email = {} AND IsConverted = {converted} AND Id IN {ids}",
        "o'hara@example.com",
        converted=False,
        ids=["00Q000000000001AAA", "00Q000000000002AAA"],
    )

    assert soql == (
        "SELECT Id FROM Lead WHERE Email = 'o\\'hara@example.com' AND IsConverted = false "
        "AND Id IN ('00Q000000000001AAA','00Q000000000002AAA')"
    )


def test_format_soql_inserts_field_list_literal():
    soql = format_soql("SELECT {fields:literal} FROM Contact LIMIT 1", fields=["Id", "Email", "Owner.Name"])

    assert soql == "SELECT Id, Email, Owner.Name FROM Contact LIMIT 1"


def test_format_soql_accepts_field_list_string_and_count():
    assert format_soql("SELECT {f:literal} FROM Lead", f="COUNT(Id)") == "SELECT COUNT(Id) FROM Lead"
    assert format_soql("SELECT {f:literal} FROM Lead", f="Id,  Email") == "SELECT Id,  Email FROM Lead"


@pytest.mark.parametrize("fields", ["Id FROM User WHERE Name = 'x'", "Id; DELETE", "Id, 'x'", ""])
def test_format_soql_rejects_literal_that_is_not_field_list(fields):
    with pytest.raises(ValueError, match="is not a field list"):
        format_soql("SELECT {f:literal} FROM Lead", f=fields)


def test_format_soql_rejects_conversion():
    with pytest.raises(ValueError, match="conversion !r"):
        format_soql("SELECT Id FROM Lead WHERE Email = {!r}", "a@example.com")


def test_format_soql_rejects_unknown_spec():
    with pytest.raises(ValueError, match="unknown SOQL format spec"):
        format_soql("SELECT Id FROM Lead WHERE Email = {:>10}", "a@example.com")


def test_format_soql_reports_missing_value():
    with pytest.raises(ValueError, match=r"names \{email\} but no value"):
        format_soql("SELECT Id FROM Lead WHERE Email = {email}")
