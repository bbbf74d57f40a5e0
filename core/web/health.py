"""GET /healthz: whether the store is reachable and the sync worker runs, with queue counts."""

from __future__ import annotations

import logging

from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.runtime import Runtime
from core.store.models import OutboxEvent, OutboxStatus

logger = logging.getLogger(__name__)


def health_routes(runtime: Runtime) -> list[Route]:
    """Return the health route bound to runtime."""

    async def healthz(_request: Request) -> JSONResponse:
        worker = worker_state(runtime)
        try:
            queued, failed = await run_in_threadpool(count_outbox, runtime)
        except SQLAlchemyError as exc:
            logger.error("health check: the database is unreachable (%s)", type(exc).__name__)
            body = {"database": "error", "worker": worker, "queued": None, "failed": None}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"database": "ok", "worker": worker, "queued": queued, "failed": failed})

    return [Route("/healthz", healthz, methods=["GET"])]


def worker_state(runtime: Runtime) -> str:
    """Return "alive", "stopped" or "not started" for the runtime's sync worker."""
    if runtime.worker is None:
        return "not started"
    return "alive" if runtime.worker.is_alive() else "stopped"


def count_outbox(runtime: Runtime) -> tuple[int, int]:
    """Return the number of events waiting (queued or processing) and failed."""
    with Session(runtime.engine) as session:
        rows = session.exec(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)).all()
    counts = dict(rows)
    waiting = counts.get(OutboxStatus.QUEUED, 0) + counts.get(OutboxStatus.PROCESSING, 0)
    return waiting, counts.get(OutboxStatus.FAILED, 0)
