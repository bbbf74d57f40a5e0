"""Fixtures shared by every test module."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from core.secrets import SecretBox
from core.store.db import create_store_engine, migrate


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([Fernet.generate_key().decode()])


@pytest.fixture
def empty_store(tmp_path: Path) -> Engine:
    """A migrated SQLite store in a temporary folder."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'app.db'}")
    migrate(engine)
    yield engine
    engine.dispose()
