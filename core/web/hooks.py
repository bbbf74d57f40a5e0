"""POST /hooks/jicoo/{team_slug}: the scheduler's booking webhook endpoint."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.runtime import Runtime
from core.webhooks.intake import MAX_BODY_BYTES, IntakeResult, body_too_large_result, error_result, receive_webhook

logger = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    """The request body is above the size limit."""


def hook_routes(runtime: Runtime, *, clock: Callable[[], datetime] | None = None) -> list[Route]:
    """Return the webhook route bound to runtime; clock gives the time signatures are checked against."""
    now = clock or (lambda: datetime.now(UTC))

    async def receive_jicoo(request: Request) -> Response:
        if request.method != "POST":
            # Answered here because the dashboard's catch-all route would otherwise
            # serve a GET with the Streamlit page and 200.
            return JSONResponse(
                {"error": "method_not_allowed", "detail": "send booking webhooks with POST"},
                status_code=405,
                headers={"Allow": "POST"},
            )
        team_slug = request.path_params["team_slug"]
        try:
            body = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            logger.warning("rejected a webhook body above %d bytes", MAX_BODY_BYTES)
            return _respond(body_too_large_result())
        except ClientDisconnect:
            return _respond(error_result(400, "client_disconnected", "the body was not received completely: resend it"))

        result = await run_in_threadpool(
            receive_webhook, runtime.engine, runtime.box, team_slug, request.headers, body, now()
        )
        if result.stored and runtime.worker is not None:
            runtime.worker.wake()
        return _respond(result)

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    return [Route("/hooks/jicoo/{team_slug}", receive_jicoo, methods=methods)]


async def read_body(request: Request, limit: int) -> bytes:
    """Read the request body in chunks and stop as soon as it exceeds limit bytes.

    Raises BodyTooLarge without reading the rest of an oversized body.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge

    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _respond(result: IntakeResult) -> JSONResponse:
    return JSONResponse(result.body, status_code=result.status)
