"""Encryption of secrets at rest with Fernet, and a string type that never prints."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

logger = logging.getLogger(__name__)

KEY_FILE_NAME = "encryption.key"


class Secret(str):
    """A plain secret that masks itself in repr and str formatting.

    Call reveal() at the single place the value is sent somewhere.
    """

    def __repr__(self) -> str:
        return "Secret('********')"

    def __str__(self) -> str:
        return "********"

    def __format__(self, spec: str) -> str:
        return "********"

    def reveal(self) -> str:
        return str.__str__(self)


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


class SecretBox:
    """Encrypt and decrypt secrets with the newest key; decrypt with any key.

    Keys are Fernet keys, newest first, so a rotation puts the new key in front and
    keeps the old ones until every stored value has been re-encrypted.
    """

    def __init__(self, keys: list[str] | tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def encrypt(self, plain: str) -> str:
        if isinstance(plain, Secret):
            plain = plain.reveal()
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> Secret:
        try:
            return Secret(self._fernet.decrypt(token.encode()).decode())
        except InvalidToken as exc:
            raise SecretDecryptionError(
                "a stored secret cannot be decrypted with APP_ENCRYPTION_KEYS: "
                "put back the key it was encrypted with, or enter the secret again"
            ) from exc

    def rotate(self, token: str) -> str:
        """Return the token re-encrypted with the newest key."""
        return self._fernet.rotate(token.encode()).decode()


def load_secret_box(keys: tuple[str, ...], data_dir: Path) -> SecretBox:
    """Return a SecretBox from the configured keys, or from the key file in data_dir.

    Without configured keys, the key file is created on first use with mode 0600.
    """
    if keys:
        return SecretBox(keys)

    key_path = data_dir / KEY_FILE_NAME
    if not key_path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL so two processes starting together cannot write different keys.
        try:
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as key_file:
                key_file.write(Fernet.generate_key().decode())
            logger.info("generated a new encryption key file at %s", key_path)
    return SecretBox([key_path.read_text().strip()])
