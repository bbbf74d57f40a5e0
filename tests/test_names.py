"""Splitting a guest's single name field into LastName and FirstName."""

from __future__ import annotations

import pytest

from core.store.models import NameMode
from core.sync.names import FIRST_NAME_MAX, LAST_NAME_MAX, PersonName, is_japanese, split_name


@pytest.mark.parametrize(
    ("full_name", "expected"),
    [
        ("山田　太郎", PersonName(last_name="山田", first_name="太郎")),
        ("山田 太郎", PersonName(last_name="山田", first_name="太郎")),
        ("  山田\u3000 太郎  ", PersonName(last_name="山田", first_name="太郎")),
        ("John Doe", PersonName(last_name="Doe", first_name="John")),
        ("Mary Ann Smith", PersonName(last_name="Smith", first_name="Mary Ann")),
        ("Madonna", PersonName(last_name="Madonna")),
        ("山田太郎", PersonName(last_name="山田太郎")),
        ("やまだ たろう", PersonName(last_name="やまだ", first_name="たろう")),
        ("", PersonName(last_name="")),
        ("   ", PersonName(last_name="")),
    ],
)
def test_split_name_default_mode(full_name: str, expected: PersonName) -> None:
    assert split_name(full_name) == expected


def test_split_name_last_name_only_keeps_whole_name() -> None:
    assert split_name("山田　太郎", NameMode.LAST_NAME_ONLY) == PersonName(last_name="山田　太郎")
    assert split_name("John Doe", "last_name_only") == PersonName(last_name="John Doe")


def test_split_name_cuts_to_lead_field_lengths() -> None:
    name = split_name("F" * 60 + " " + "L" * 100)

    assert name.first_name == "F" * FIRST_NAME_MAX
    assert name.last_name == "L" * LAST_NAME_MAX


def test_is_japanese_detects_kana_and_kanji() -> None:
    assert is_japanese("山田")
    assert is_japanese("タロウ")
    assert is_japanese("ﾀﾛｳ")
    assert not is_japanese("John Doe")
    assert not is_japanese("Zoë Ångström")
