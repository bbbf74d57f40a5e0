"""Split a guest's full name into the Lead's LastName and FirstName.

The booking form has one name field, typed in whatever order the guest uses.
Japanese guests write the family name first, usually separated by a full-width
space; Western guests write "First Last".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.store.models import NameMode

# Lead field lengths (Salesforce Object Reference, Lead): FirstName 40, LastName 80.
FIRST_NAME_MAX = 40
LAST_NAME_MAX = 80

# ASCII whitespace and the ideographic (full-width) space U+3000 both separate names.
_SEPARATORS = re.compile(r"[\s\u3000]+")

# Hiragana, katakana (full and half width), CJK ideographs and the iteration mark 々.
_JAPANESE = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f\u3005]")


@dataclass(frozen=True)
class PersonName:
    last_name: str
    first_name: str | None = None


def is_japanese(name: str) -> bool:
    """Return whether name contains kana or CJK ideographs."""
    return _JAPANESE.search(name) is not None


def split_name(full_name: str, mode: NameMode | str = NameMode.SPLIT) -> PersonName:
    """Split full_name into LastName and FirstName according to mode.

    Japanese names put the first word in LastName; other names put the last
    word in LastName. A single word, or NameMode.LAST_NAME_ONLY, fills LastName
    only. Values are cut to the Lead field lengths. An empty name gives an
    empty LastName, which the caller must replace.
    """
    words = [word for word in _SEPARATORS.split(full_name.strip()) if word]
    if not words:
        return PersonName(last_name="")

    if mode == NameMode.LAST_NAME_ONLY:
        # The name as the guest typed it, so a Japanese name keeps its full-width space.
        return PersonName(last_name=full_name.strip()[:LAST_NAME_MAX])
    if len(words) == 1:
        return PersonName(last_name=words[0][:LAST_NAME_MAX])

    if is_japanese(full_name):
        last, first = words[0], " ".join(words[1:])
    else:
        last, first = words[-1], " ".join(words[:-1])
    return PersonName(last_name=last[:LAST_NAME_MAX], first_name=first[:FIRST_NAME_MAX])
