"""The demo org's Starlette application: routes, the authenticated data endpoint, start-up seeding."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from core.demo_org import rest
from core.demo_org.admin import admin_routes
from core.demo_org.api import ApiRequest, RestContext
from core.demo_org.constants import API_VERSIONS, DAILY_API_MAX
from core.demo_org.dml import DmlContext
from core.demo_org.errors import ApiError, invalid_session, not_found
from core.demo_org.oauth import oauth_routes, valid_access_token
from core.demo_org.pages import page_routes
from core.demo_org.pardot import create_pardot_app
from core.demo_org.seed import register_app, seed_records
from core.demo_org.state import DemoOrgState
from core.demo_org.store import Store

logger = logging.getLogger(__name__)

_KNOWN_VERSIONS = frozenset(version for version, _ in API_VERSIONS)
LIMIT_HEADER = "Sforce-Limit-Info"


def create_demo_org_app(
    database_path: Path,
    *,
    callback_urls: Sequence[str] = (),
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """Build the demo org app on its own SQLite file, seeding it on first start.

    `callback_urls` are the redirect URIs registered on the External Client App (exact
    match, like Salesforce); POST /_admin/app changes them at runtime. `clock` returns the
    current aware datetime; tests pass one to move time without sleeping.
    """
    store = Store(database_path)
    if not store.has_records():
        seed_records(store)
    register_app(store, tuple(callback_urls))
    state = DemoOrgState(store=store, clock=clock or (lambda: datetime.now(UTC)))

    async def versions(request: Request) -> Response:
        return JSONResponse(rest.versions_body())

    async def data(request: Request) -> Response:
        return await _handle_data_request(state, request)

    routes = [
        *page_routes(state),
        *oauth_routes(state),
        Route("/services/data", versions),
        Route("/services/data/", versions),
        Route("/services/data/v{version}", data, methods=["GET"]),
        Route("/services/data/v{version}/{path:path}", data, methods=["GET", "POST", "PATCH", "DELETE", "PUT"]),
        *admin_routes(state),
        Mount("/pardot", app=create_pardot_app(state)),
    ]
    app = Starlette(routes=routes)
    app.state.demo_org = state
    return app


async def _handle_data_request(state: DemoOrgState, request: Request) -> Response:
    """Authenticate, apply faults, count API usage, then dispatch one REST call."""
    started = time.monotonic()
    version = request.path_params["version"]
    path = request.path_params.get("path", "")
    if version not in _KNOWN_VERSIONS:
        return _error_response(not_found())

    latency_ms = state.faults.settings.latency_ms
    if latency_ms:
        await asyncio.sleep(latency_ms / 1000)

    token = valid_access_token(state, request)
    if token is None:
        return _error_response(invalid_session())

    forced = state.faults.take_request_error()
    if forced is not None:
        logger.info("demo org %s %s -> %d %s (forced by fault settings)", request.method, path, forced.status, forced.error_code)
        return _error_response(forced, _limit_header(state.store.api_usage()))
    if state.store.api_usage() >= DAILY_API_MAX:
        exceeded = ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return _error_response(exceeded, _limit_header(state.store.api_usage()))
    used = state.store.add_api_usage()

    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return _error_response(ApiError(400, "JSON_PARSER_ERROR", f"The request body is not valid JSON: {error}"), _limit_header(used))

    api_request = ApiRequest(
        method=request.method,
        path=path,
        version=version,
        params=dict(request.query_params),
        body=body,
        headers={key.lower(): value for key, value in request.headers.items()},
    )
    ctx = RestContext(state, DmlContext(state.store, token.user_id, state.clock(), version))
    with state.store.transaction():
        response = rest.dispatch(ctx, api_request)

    logger.info(
        "demo org %s %s -> %d in %.0f ms, api usage %d/%d",
        request.method, path, response.status, (time.monotonic() - started) * 1000, used, DAILY_API_MAX,
    )
    headers = {**response.headers, **_limit_header(used)}
    if response.status == 204:
        return Response(status_code=204, headers=headers)
    return JSONResponse(response.body, status_code=response.status, headers=headers)


def _limit_header(used: int) -> dict[str, str]:
    return {LIMIT_HEADER: f"api-usage={used}/{DAILY_API_MAX}"}


def _error_response(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)
