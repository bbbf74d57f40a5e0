"""GET /healthz reports the store, the sync worker and the outbox counts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import create_engine

from core.runtime import Runtime
from core.store.db import session_scope
from core.store.models import OutboxEvent, OutboxStatus
from tests.sync_fixtures import TeamInfo, hooks_client, store_runtime, webhook_team  # noqa: F401 (fixtures)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


class StoppedWorker:
    def is_alive(self) -> bool:
        return False


class RunningWorker:
    def is_alive(self) -> bool:
        return True


def add_outbox(team: TeamInfo, status: OutboxStatus, uid: str) -> None:
    with session_scope(team.runtime.engine) as session:
        session.add(
            OutboxEvent(
                team_id=team.id,
                dedupe_key=f"guest_booked:{uid}",
                event_type="guest_booked",
                booking_uid=uid,
                event_type_uid="ET1",
                payload={},
                received_at=NOW,
                status=status,
                next_attempt_at=NOW,
            )
        )


def test_health_of_empty_store(store_runtime: Runtime) -> None:
    response = hooks_client(store_runtime).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "worker": "not started", "queued": 0, "failed": 0}


def test_health_counts_outbox(webhook_team: TeamInfo) -> None:
    add_outbox(webhook_team, OutboxStatus.QUEUED, "B1")
    add_outbox(webhook_team, OutboxStatus.PROCESSING, "B2")
    add_outbox(webhook_team, OutboxStatus.FAILED, "B3")
    add_outbox(webhook_team, OutboxStatus.DONE, "B4")

    body = hooks_client(webhook_team.runtime).get("/healthz").json()

    assert body["queued"] == 2
    assert body["failed"] == 1


def test_health_reports_worker_state(store_runtime: Runtime) -> None:
    store_runtime.worker = RunningWorker()
    assert hooks_client(store_runtime).get("/healthz").json()["worker"] == "alive"

    store_runtime.worker = StoppedWorker()
    assert hooks_client(store_runtime).get("/healthz").json()["worker"] == "stopped"


def test_health_503_when_database_unreachable(store_runtime: Runtime, tmp_path: Path) -> None:
    broken = Runtime(
        settings=store_runtime.settings,
        engine=create_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'app.db'}"),
        box=store_runtime.box,
    )

    response = hooks_client(broken).get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "error"
