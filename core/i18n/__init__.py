"""The translation layer: every user-facing string is looked up here by key.

Catalogs are TOML files in catalog/, one per screen or domain, each key a table
with an ``en`` and a ``ja`` string. Parameters use str.format names.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "ja")
DEFAULT_LANGUAGE = "en"
CATALOG_DIR = Path(__file__).resolve().parent / "catalog"


def _flatten(prefix: str, table: dict[str, Any], into: dict[str, dict[str, str]], source: Path) -> None:
    if set(table) & set(LANGUAGES):
        into[prefix] = table
        return
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if not isinstance(value, dict):
            raise ValueError(f"{source}: {key} must be a table with en and ja strings")
        _flatten(key, value, into, source)


@cache
def load_catalog() -> dict[str, dict[str, str]]:
    """Return every message by key, merged from all catalog files.

    Raises ValueError when two files define the same key.
    """
    catalog: dict[str, dict[str, str]] = {}
    for path in sorted(CATALOG_DIR.glob("*.toml")):
        entries: dict[str, dict[str, str]] = {}
        _flatten("", tomllib.loads(path.read_text(encoding="utf-8")), entries, path)
        duplicates = catalog.keys() & entries.keys()
        if duplicates:
            raise ValueError(f"{path}: keys already defined elsewhere: {sorted(duplicates)}")
        catalog.update(entries)
    return catalog


class LocalizedError(Exception):
    """Base of the errors that carry the message a page shows in the user's language.

    ``message_key`` names the catalog message and ``params`` contains its
    parameters; str(error) is the English text for logs. A subclass may set
    message_key as a class attribute instead of passing it.
    """

    message_key: str

    def __init__(self, message: str, *, message_key: str | None = None, **params: Any) -> None:
        super().__init__(message)
        if message_key is not None:
            self.message_key = message_key
        self.params: dict[str, Any] = params


class LocalizedValueError(LocalizedError, ValueError):
    """A LocalizedError for a value the user entered."""


def translate(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """Return the message for key in language, formatted with params.

    An unknown key returns the key itself, so a missing entry shows up on the
    page instead of failing it; the catalog test keeps that from shipping.
    """
    entry = load_catalog().get(key)
    if entry is None:
        return key
    text = entry.get(language) or entry[DEFAULT_LANGUAGE]
    return text.format(**params) if params else text
