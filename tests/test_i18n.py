"""The message catalogs: every key the code uses exists, in English and Japanese."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from core.i18n import LANGUAGES, load_catalog
from core.sample_booking import SampleGuest
from core.store.models import CancellationAction, NameMode, OwnerRule, SyncOutcome
from core.sync.log import CSV_COLUMNS

ROOT = Path(__file__).resolve().parent.parent

# translate("key", ...) and t("key", ...) with a literal key.
TRANSLATE_CALL = re.compile(r"""\b(?:translate|t)\(\s*["']([A-Za-z0-9_.]+)["']""")
# Keys of the page catalogs passed around as plain strings (flash messages, FieldProblem, message_key=).
PAGE_KEY_LITERAL = re.compile(r"""["']((?:nav|connection|booking_pages|sync_log)\.[a-z0-9_.]*[a-z0-9_])["']""")


def source_files() -> list[Path]:
    files = [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py"))]
    files += sorted(path for path in (ROOT / "core").rglob("*.py") if "migrations" not in path.parts)
    return files


def used_keys(pattern: re.Pattern[str]) -> set[tuple[str, str]]:
    found = set()
    for path in source_files():
        for key in pattern.findall(path.read_text(encoding="utf-8")):
            found.add((key, str(path.relative_to(ROOT))))
    return found


def test_translate_calls_use_known_keys():
    catalog = load_catalog()

    missing = sorted((path, key) for key, path in used_keys(TRANSLATE_CALL) if key not in catalog)

    assert missing == []


def test_page_key_literals_are_known():
    catalog = load_catalog()
    # A literal may also be the prefix that keys are built from, such as "booking_pages.cancellation".
    prefixes = {key.rsplit(".", 1)[0] for key in catalog}

    missing = sorted(
        (path, key) for key, path in used_keys(PAGE_KEY_LITERAL) if key not in catalog and key not in prefixes
    )

    assert missing == []


@pytest.mark.parametrize(
    ("prefix", "names"),
    [
        ("sync_log.outcome", [outcome.value for outcome in SyncOutcome]),
        ("sync_log.csv", list(CSV_COLUMNS)),
        ("booking_pages.owner_rule", [rule.value for rule in OwnerRule]),
        ("booking_pages.cancellation", [action.value for action in CancellationAction]),
        ("booking_pages.name_mode", [mode.value for mode in NameMode]),
        ("booking_pages.test.guest", [guest.value for guest in SampleGuest]),
        ("booking_pages.lead_owner", ["assignment_rule", "chosen_user"]),
        ("connection.environment", ["production", "sandbox", "my_domain", "demo"]),
    ],
)
def test_keys_built_from_values_exist(prefix, names):
    catalog = load_catalog()

    assert [name for name in names if f"{prefix}.{name}" not in catalog] == []


def test_every_message_has_english_and_japanese():
    incomplete = [
        key
        for key, entry in load_catalog().items()
        if any(not str(entry.get(language, "")).strip() for language in LANGUAGES)
    ]

    assert incomplete == []


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_languages_use_same_placeholders():
    mismatched = [
        key
        for key, entry in load_catalog().items()
        if placeholders(entry["en"]) != placeholders(entry["ja"])
    ]

    assert mismatched == []


def test_japanese_is_not_a_copy_of_english():
    # Proper names and codes may match; whole sentences should not.
    copied = [
        key
        for key, entry in load_catalog().items()
        if entry["en"] == entry["ja"] and len(entry["en"].split()) > 3
    ]

    assert copied == []
