"""Admin endpoints for tests and demos: records, faults, reset and the app's callback URLs.

They accept requests from loopback clients only, because they change the org without any credentials.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.demo_org.constants import DEMO_CONSUMER_KEY
from core.demo_org.faults import is_loopback
from core.demo_org.schema import find_object
from core.demo_org.seed import seed_records
from core.demo_org.state import DemoOrgState

logger = logging.getLogger(__name__)


def admin_routes(state: DemoOrgState) -> list[Route]:
    """Build the /_admin routes of one demo org."""

    async def records(request: Request) -> Response:
        spec = find_object(request.path_params["sobject"])
        if spec is None:
            return _problem(404, f"the demo org has no sObject {request.path_params['sobject']!r}")
        include_deleted = request.query_params.get("include_deleted", "").lower() == "true"
        return JSONResponse(state.store.list_records(spec.name, include_deleted=include_deleted))

    async def faults(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"faults": asdict(state.faults.settings)})
        if request.method == "DELETE":
            state.faults.clear()
            logger.info("demo org faults cleared")
            return JSONResponse({"faults": asdict(state.faults.settings)})

        payload = await _json_object(request)
        if isinstance(payload, Response):
            return payload
        try:
            settings = state.faults.configure(payload)
        except (TypeError, ValueError) as error:
            return _problem(400, str(error))
        expired = state.store.expire_access_tokens(state.clock().timestamp()) if payload.get("expire_tokens") else 0
        logger.info("demo org faults set: %s; %d access tokens expired", sorted(payload), expired)
        return JSONResponse({"faults": asdict(settings), "expired_tokens": expired})

    async def reset(request: Request) -> Response:
        seed_records(state.store)
        state.faults.clear()
        state.cursors.clear()
        logger.info("demo org reset to its seed data")
        return JSONResponse({"reset": True})

    async def client_app(request: Request) -> Response:
        if request.method == "POST":
            payload = await _json_object(request)
            if isinstance(payload, Response):
                return payload
            urls = payload.get("callback_urls")
            if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
                return _problem(400, "callback_urls must be a list of URL strings")
            state.store.set_callback_urls(DEMO_CONSUMER_KEY, urls)
        app = state.store.get_app(DEMO_CONSUMER_KEY)
        assert app is not None, "the External Client App is registered when the demo org starts"
        return JSONResponse({"consumer_key": app.consumer_key, "name": app.name, "callback_urls": list(app.callback_urls)})

    return [
        Route("/_admin/records/{sobject}", _loopback_only(records), methods=["GET"]),
        Route("/_admin/faults", _loopback_only(faults), methods=["GET", "POST", "DELETE"]),
        Route("/_admin/reset", _loopback_only(reset), methods=["POST"]),
        Route("/_admin/app", _loopback_only(client_app), methods=["GET", "POST"]),
    ]


def _loopback_only(endpoint: Any) -> Any:
    async def guarded(request: Request) -> Response:
        host = request.client.host if request.client else None
        if not is_loopback(host):
            return _problem(403, "the demo org's admin endpoints answer loopback clients only")
        return await endpoint(request)

    return guarded


async def _json_object(request: Request) -> dict[str, Any] | Response:
    try:
        payload = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as error:
        return _problem(400, f"the body is not valid JSON: {error}")
    if not isinstance(payload, dict):
        return _problem(400, "the body must be a JSON object")
    return payload


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
