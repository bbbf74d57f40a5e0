"""Password hashing with Argon2id, and the rules a new password must meet."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from core.auth.errors import WeakPasswordError
from core.secrets import Secret

MIN_PASSWORD_LENGTH = 12
# Bounds the hashing work of one sign-in request. Passphrases stay well below it.
MAX_PASSWORD_LENGTH = 1024

# Argon2id with RFC 9106's second recommended option: 64 MiB of memory, 3 passes,
# 4 lanes. Hashes record their parameters, so raising them later only makes
# needs_rehash() true for older hashes, which sign-in then replaces.
_hasher = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


def hash_password(plain: str) -> str:
    """Hash plain with Argon2id and a random salt; the result names its own parameters."""
    return _hasher.hash(_reveal(plain))


def verify_password(password_hash: str | None, plain: str) -> bool:
    """Return whether plain matches password_hash.

    A missing or malformed hash returns False after a full-cost check of a
    throw-away hash, so the result takes about as long as for a wrong password.
    """
    if not password_hash:
        _check_unusable_hash(plain)
        return False
    try:
        return _hasher.verify(password_hash, _reveal(plain))
    except VerifyMismatchError:
        return False
    except (InvalidHashError, VerificationError):
        _check_unusable_hash(plain)
        return False


def needs_rehash(password_hash: str) -> bool:
    """Return whether password_hash was made with other parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def validate_new_password(plain: str) -> None:
    """Raise WeakPasswordError unless plain has MIN_PASSWORD_LENGTH to MAX_PASSWORD_LENGTH characters."""
    length = len(_reveal(plain))
    if length < MIN_PASSWORD_LENGTH or length > MAX_PASSWORD_LENGTH:
        raise WeakPasswordError(
            f"the password has {length} characters: use {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH}",
            min_length=MIN_PASSWORD_LENGTH,
            max_length=MAX_PASSWORD_LENGTH,
        )


def generate_temporary_password() -> Secret:
    """Return a random password of 22 URL-safe characters (128 bits), masked when printed."""
    return Secret(secrets.token_urlsafe(16))


@cache
def _unusable_hash() -> str:
    # Made on first use rather than at import, because hashing takes about 0.1 s.
    return _hasher.hash(secrets.token_urlsafe(32))


def _check_unusable_hash(plain: str) -> None:
    """Verify plain against a hash of a random password, so a missing hash costs as much as a wrong password."""
    try:
        _hasher.verify(_unusable_hash(), _reveal(plain))
    except VerificationError:
        pass


def _reveal(plain: str) -> str:
    return plain.reveal() if isinstance(plain, Secret) else plain
