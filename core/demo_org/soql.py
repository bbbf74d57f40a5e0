"""Tokenizer and recursive-descent parser for the SOQL subset the demo org runs.

Supported: ``SELECT f1, Rel.f2 | COUNT() FROM Object [WHERE cond] [ORDER BY f [ASC|DESC]
[NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]``. Conditions use ``= != <> < <= > >=``,
``IN (...)``, ``NOT IN (...)``, ``LIKE``, ``AND``, ``OR``, ``NOT`` and parentheses. Like
Salesforce, AND and OR cannot be mixed at one level without parentheses. Literals are
strings, numbers, ``true``/``false``/``null``, dates (``2026-01-31``) and datetimes
(``2026-01-31T09:00:00Z``). Not supported: subqueries, aggregate functions other than
``COUNT()``, GROUP BY, date literals such as ``TODAY``, and bind variables.

String escapes are the ones SOQL allows: ``\\n \\r \\t
\\b \\f \\" \\' \\\\ \\uXXXX``, plus ``\\%`` and ``\\_`` inside LIKE patterns only. Any other
backslash sequence is a MALFORMED_QUERY error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core.demo_org.errors import ApiError
from core.demo_org.values import parse_date, parse_datetime

_KEYWORDS = frozenset(
    {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "NULL", "TRUE", "FALSE",
     "ORDER", "BY", "ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET"}
)

_TOKEN_PATTERN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<operator>!=|<>|<=|>=|=|<|>)
  | (?P<punctuation>[(),.])
    """,
    re.VERBOSE,
)

_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    column: int  # 1-based, as Salesforce reports positions in MALFORMED_QUERY errors

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "name" and self.text.upper() in words


@dataclass(frozen=True)
class FieldPath:
    """A field reference such as ``Email`` or ``Account.Owner.Name``, with its position in the query."""

    parts: tuple[str, ...]
    column: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    """A literal value; `raw` is the source text, kept because LIKE decodes escapes its own way."""

    kind: str  # string, number, boolean, null, date or datetime
    value: Any
    raw: str
    column: int


@dataclass(frozen=True)
class Comparison:
    field: FieldPath
    operator: str  # = != < <= > >= LIKE IN "NOT IN"
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Junction:
    operator: str  # AND or OR
    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Negation:
    operand: Condition


Condition = Comparison | Junction | Negation


@dataclass(frozen=True)
class OrderItem:
    field: FieldPath
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    """A parsed SOQL statement."""

    fields: tuple[FieldPath, ...]
    count_only: bool
    sobject: str
    sobject_column: int
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


def malformed(column: int, detail: str) -> ApiError:
    """Build the 400 MALFORMED_QUERY error that points at `column`."""
    return ApiError(400, "MALFORMED_QUERY", f"ERROR at Row:1:Column:{column}\n{detail}")


def tokenize(text: str) -> list[Token]:
    """Split a SOQL statement into tokens, ending with an ``end`` token.

    Raises ApiError (MALFORMED_QUERY) at the first character that starts no token.
    """
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_PATTERN.match(text, position)
        if match is None:
            if text[position] == "'":
                raise malformed(position + 1, "unterminated string literal")
            raise malformed(position + 1, f"unexpected token: '{text[position]}'")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def decode_string(raw: str, column: int) -> str:
    """Decode a quoted string literal outside LIKE. Raises ApiError on an escape SOQL does not allow."""
    return "".join(text for text, _ in _decode_pieces(raw, column, in_like=False))


def like_to_regex(raw: str, column: int) -> re.Pattern[str]:
    """Compile a quoted LIKE pattern: ``%`` matches any run of characters, ``_`` one character, case-insensitively."""
    pattern = ""
    for text, is_wildcard in _decode_pieces(raw, column, in_like=True):
        if is_wildcard:
            pattern += ".*" if text == "%" else "."
        else:
            pattern += re.escape(text)
    return re.compile(pattern, re.IGNORECASE | re.DOTALL)


def _decode_pieces(raw: str, column: int, *, in_like: bool) -> list[tuple[str, bool]]:
    """Return (text, is_wildcard) pieces of a quoted literal; escaped ``%`` and ``_`` are plain text."""
    body = raw[1:-1]
    pieces: list[tuple[str, bool]] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            pieces.append((char, in_like and char in "%_"))
            index += 1
            continue

        escape = body[index + 1 : index + 2]
        if escape in _SIMPLE_ESCAPES:
            pieces.append((_SIMPLE_ESCAPES[escape], False))
            index += 2
        elif escape == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", body[index + 2 : index + 6]):
            pieces.append((chr(int(body[index + 2 : index + 6], 16)), False))
            index += 6
        elif in_like and escape in ("%", "_"):
            pieces.append((escape, False))
            index += 2
        else:
            raise malformed(column + index + 1, f"Invalid string literal '{raw}'. Illegal character sequence '\\{escape}' in string literal.")
    return pieces


def parse(text: str) -> Query:
    """Parse a SOQL statement. Raises ApiError (400 MALFORMED_QUERY) on a syntax error."""
    return _Parser(tokenize(text)).parse_query()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._position = 0

    # Token access

    def _peek(self, ahead: int = 0) -> Token:
        return self._tokens[min(self._position + ahead, len(self._tokens) - 1)]

    def _advance(self) -> Token:
        token = self._peek()
        self._position += 1
        return token

    def _accept_keyword(self, *words: str) -> Token | None:
        if self._peek().is_keyword(*words):
            return self._advance()
        return None

    def _accept_punctuation(self, symbol: str) -> Token | None:
        token = self._peek()
        if token.kind == "punctuation" and token.text == symbol:
            return self._advance()
        return None

    def _expect_keyword(self, word: str) -> Token:
        token = self._accept_keyword(word)
        if token is None:
            raise self._unexpected()
        return token

    def _expect_punctuation(self, symbol: str) -> Token:
        token = self._accept_punctuation(symbol)
        if token is None:
            raise self._unexpected()
        return token

    def _unexpected(self) -> ApiError:
        token = self._peek()
        shown = token.text if token.kind != "end" else "<EOF>"
        return malformed(token.column, f"unexpected token: '{shown}'")

    # Grammar

    def parse_query(self) -> Query:
        self._expect_keyword("SELECT")
        count_only = False
        fields: list[FieldPath] = []
        if self._peek().is_keyword("COUNT") and self._peek(1).text == "(":
            self._advance()
            self._expect_punctuation("(")
            self._expect_punctuation(")")
            count_only = True
        else:
            fields.append(self._parse_field())
            while self._accept_punctuation(","):
                fields.append(self._parse_field())

        self._expect_keyword("FROM")
        sobject = self._parse_name()

        where = None
        if self._accept_keyword("WHERE"):
            where = self._parse_condition()

        order_by: list[OrderItem] = []
        if self._accept_keyword("ORDER"):
            self._expect_keyword("BY")
            order_by.append(self._parse_order_item())
            while self._accept_punctuation(","):
                order_by.append(self._parse_order_item())

        limit = self._parse_count_clause("LIMIT")
        offset = self._parse_count_clause("OFFSET")
        if self._peek().kind != "end":
            raise self._unexpected()
        return Query(tuple(fields), count_only, sobject.text, sobject.column, where, tuple(order_by), limit, offset)

    def _parse_name(self) -> Token:
        token = self._peek()
        if token.kind != "name" or token.text.upper() in _KEYWORDS:
            raise self._unexpected()
        return self._advance()

    def _parse_field(self) -> FieldPath:
        first = self._parse_name()
        parts = [first.text]
        while self._accept_punctuation("."):
            parts.append(self._parse_name().text)
        return FieldPath(tuple(parts), first.column)

    def _parse_count_clause(self, keyword: str) -> int | None:
        if not self._accept_keyword(keyword):
            return None
        token = self._peek()
        if token.kind != "number" or not token.text.isdigit():
            raise self._unexpected()
        self._advance()
        return int(token.text)

    def _parse_order_item(self) -> OrderItem:
        field = self._parse_field()
        descending = bool(self._accept_keyword("DESC"))
        if not descending:
            self._accept_keyword("ASC")
        # Salesforce puts nulls first in ascending order and last in descending order unless NULLS FIRST/LAST is given.
        nulls_first = not descending
        if self._accept_keyword("NULLS"):
            nulls_first = self._expect_either("FIRST", "LAST") == "FIRST"
        return OrderItem(field, descending, nulls_first)

    def _expect_either(self, *words: str) -> str:
        token = self._accept_keyword(*words)
        if token is None:
            raise self._unexpected()
        return token.text.upper()

    def _parse_condition(self) -> Condition:
        operands = [self._parse_unary()]
        operator: str | None = None
        while self._peek().is_keyword("AND", "OR"):
            word = self._peek().text.upper()
            if operator is not None and word != operator:
                # SOQL needs parentheses to mix AND and OR at one level.
                raise self._unexpected()
            operator = word
            self._advance()
            operands.append(self._parse_unary())
        if operator is None:
            return operands[0]
        return Junction(operator, tuple(operands))

    def _parse_unary(self) -> Condition:
        if self._accept_keyword("NOT"):
            return Negation(self._parse_unary())
        if self._accept_punctuation("("):
            condition = self._parse_condition()
            self._expect_punctuation(")")
            return condition
        return self._parse_comparison()

    def _parse_comparison(self) -> Comparison:
        field = self._parse_field()

        if self._accept_keyword("NOT"):
            self._expect_keyword("IN")
            return Comparison(field, "NOT IN", self._parse_value_list())
        if self._accept_keyword("IN"):
            return Comparison(field, "IN", self._parse_value_list())
        if self._accept_keyword("LIKE"):
            return Comparison(field, "LIKE", (self._parse_literal(),))

        token = self._peek()
        if token.kind != "operator":
            raise self._unexpected()
        self._advance()
        operator = "!=" if token.text == "<>" else token.text
        return Comparison(field, operator, (self._parse_literal(),))

    def _parse_value_list(self) -> tuple[Literal, ...]:
        self._expect_punctuation("(")
        values = [self._parse_literal()]
        while self._accept_punctuation(","):
            values.append(self._parse_literal())
        self._expect_punctuation(")")
        return tuple(values)

    def _parse_literal(self) -> Literal:
        token = self._peek()
        value: Any
        if token.kind == "string":
            kind, value = "string", None  # decoded later, once the operator (LIKE or not) is known
        elif token.kind == "number":
            kind, value = "number", float(token.text) if "." in token.text else int(token.text)
        elif token.kind == "datetime":
            kind, value = "datetime", _parse_datetime_literal(token)
        elif token.kind == "date":
            kind, value = "date", _parse_date_literal(token)
        elif token.is_keyword("TRUE", "FALSE"):
            kind, value = "boolean", token.text.upper() == "TRUE"
        elif token.is_keyword("NULL"):
            kind, value = "null", None
        else:
            raise self._unexpected()
        self._advance()
        return Literal(kind, value, token.text, token.column)


def _parse_datetime_literal(token: Token) -> datetime:
    try:
        return parse_datetime(token.text)
    except ValueError:
        raise malformed(token.column, f"invalid date or datetime literal: {token.text}") from None


def _parse_date_literal(token: Token) -> date:
    try:
        return parse_date(token.text)
    except ValueError:
        raise malformed(token.column, f"invalid date or datetime literal: {token.text}") from None
