"""The objects one app process shares: settings, store engine and secret box.

The HTTP routes, the sync worker and the Streamlit pages of one process use the
same Runtime. Tests build their own with build_runtime().
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from core.config import Settings, load_settings
from core.secrets import SecretBox, load_secret_box
from core.store.db import create_store_engine, migrate


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    box: SecretBox
    # The sync worker, once the app's lifespan has started it (core.sync.worker.SyncWorker).
    worker: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


def build_runtime(settings: Settings) -> Runtime:
    """Create the engine and secret box for settings and migrate the store."""
    engine = create_store_engine(settings.database_url)
    migrate(engine)
    box = load_secret_box(settings.encryption_keys, settings.data_dir)
    return Runtime(settings=settings, engine=engine, box=box)


_lock = threading.Lock()
_current: Runtime | None = None


def get_runtime() -> Runtime:
    """Return this process's Runtime, building it from the environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = build_runtime(load_settings())
        return _current


def set_runtime(runtime: Runtime | None) -> None:
    """Replace this process's Runtime (tests of pages and routes)."""
    global _current
    with _lock:
        _current = runtime
