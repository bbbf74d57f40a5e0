"""Password hashing with Argon2id and the rules for new passwords."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from core.auth.errors import WeakPasswordError
from core.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    generate_temporary_password,
    hash_password,
    needs_rehash,
    validate_new_password,
    verify_password,
)

PASSWORD = "correct horse battery"


def test_hash_is_argon2id_and_verifies():
    hashed = hash_password(PASSWORD)

    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert verify_password(hashed, PASSWORD) is True


def test_hash_rejects_wrong_password():
    hashed = hash_password(PASSWORD)

    assert verify_password(hashed, PASSWORD + "!") is False
    assert verify_password(hashed, PASSWORD.upper()) is False


def test_hash_uses_new_salt_each_time():
    assert hash_password(PASSWORD) != hash_password(PASSWORD)


def test_hash_records_memory_hard_parameters():
    hashed = hash_password(PASSWORD)

    # 64 MiB of memory, 3 passes, 4 lanes.
    assert "$m=65536,t=3,p=4$" in hashed


@pytest.mark.parametrize("stored", [None, "", "not-a-hash", "$argon2id$v=19$m=65536,t=3,p=4$broken"])
def test_verify_missing_or_malformed_hash_is_false(stored):
    assert verify_password(stored, PASSWORD) is False


def test_needs_rehash_only_for_weaker_parameters():
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)

    assert needs_rehash(weak) is True
    assert needs_rehash(hash_password(PASSWORD)) is False
    assert verify_password(weak, PASSWORD) is True


def test_new_password_needs_minimum_length():
    with pytest.raises(WeakPasswordError) as raised:
        validate_new_password("x" * (MIN_PASSWORD_LENGTH - 1))

    assert raised.value.message_key == "auth_core.error.weak_password"
    assert raised.value.params["min_length"] == 12
    assert "11 characters" in str(raised.value)


def test_new_password_accepts_minimum_and_maximum_length():
    validate_new_password("x" * MIN_PASSWORD_LENGTH)
    validate_new_password("x" * MAX_PASSWORD_LENGTH)

    with pytest.raises(WeakPasswordError):
        validate_new_password("x" * (MAX_PASSWORD_LENGTH + 1))


def test_temporary_password_is_masked_and_valid():
    temporary = generate_temporary_password()

    assert "*" in repr(temporary)
    assert temporary.reveal() not in repr(temporary)
    assert temporary.reveal() not in f"{temporary}"
    validate_new_password(temporary)
    assert verify_password(hash_password(temporary), temporary.reveal()) is True
    assert generate_temporary_password().reveal() != temporary.reveal()
