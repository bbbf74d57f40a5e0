"""Text and number normalization shared by rule evaluation and validation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

# An optional sign, ASCII digits, thousands separators in groups of three, and at
# most one decimal point. Groups of three are required so that "1,5" (a decimal
# comma in many locales) is rejected instead of being read as 15. The input is
# NFKC-normalized first, which turns "１，０００．５" into "1,000.5".
NUMBER_PATTERN = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")


def normalize_text(value: str) -> str:
    """Normalize value for caseless comparison: NFKC, casefold, trim.

    NFKC maps full-width letters, digits and the ideographic space to their ASCII
    forms and half-width katakana to full-width. NFKC runs again after casefold
    because casefold can produce characters that are not in NFKC form (Unicode
    Standard, section 3.13, "compatibility caseless matching").
    """
    folded = unicodedata.normalize("NFKC", value).casefold()
    return unicodedata.normalize("NFKC", folded).strip()


def parse_number(value: str) -> Decimal | None:
    """Parse value as a decimal number, or return None when it is not one.

    Accepts full-width digits and separators, surrounding whitespace, an optional
    sign, thousands separators and one decimal point. Any other text, such as a
    unit ("100人") or a range ("10-50"), makes the value not a number.
    """
    text = unicodedata.normalize("NFKC", value).strip()
    if not NUMBER_PATTERN.fullmatch(text):
        return None

    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def answer_values(raw: str | Sequence[str] | None) -> list[str]:
    """Return the non-blank values of one answer, trimmed, in the order given.

    A single string is one value. A sequence is a multi-value answer, such as the
    boxes ticked in a checkbox field. None and blank values are dropped. The values
    keep their original characters, so explanations show what the visitor typed.
    """
    if raw is None:
        return []

    values = [raw] if isinstance(raw, str) else list(raw)
    return [value.strip() for value in values if value is not None and normalize_text(value)]
