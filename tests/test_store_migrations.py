"""Recorded migrations upgrade a store with data and downgrade it again."""

from __future__ import annotations

from sqlalchemy import inspect, text

from core.store.db import create_store_engine, migrate, run_migrations


def test_migrations_keep_rows_and_downgrade(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'app.db'}")
    run_migrations(engine, "upgrade", "0001")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO team (slug, name, created_at) VALUES ('a', 'A', '2026-01-01 00:00:00')"))

    migrate(engine)

    with engine.begin() as connection:
        assert connection.execute(text("SELECT slug, plan FROM team")).all() == [("a", "free")]
    assert "membership" in inspect(engine).get_table_names()

    run_migrations(engine, "downgrade", "base")

    assert "team" not in inspect(engine).get_table_names()
