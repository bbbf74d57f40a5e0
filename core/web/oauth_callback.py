"""GET /oauth/salesforce/callback: where Salesforce sends the browser after the authorize page."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from core.auth.audit import Actor
from core.auth.permissions import PermissionDenied
from core.auth.sessions import user_for_session
from core.connection_status import PendingConnect, find_pending_connect, record_connect_failure
from core.runtime import Runtime
from core.salesforce.errors import SalesforceError
from core.web.auth_routes import SESSION_COOKIE
from core.salesforce.oauth import (
    callback_error_code,
    complete_authorization,
    discard_authorization,
    handle_callback_error,
)

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/oauth/salesforce/callback"
CONNECTION_PAGE = "/connection"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def oauth_routes(runtime: Runtime, *, clock: Callable[[], datetime] = _utc_now) -> list[Route]:
    """Return the OAuth callback route bound to runtime's store and secret box.

    clock gives the time the pending authorization's expiry is checked against.
    """

    async def salesforce_callback(request: Request) -> RedirectResponse:
        """Complete the authorization and redirect to the Connection page with the outcome.

        An authorization a console user started completes only in that user's
        signed-in browser, and only while they may still manage the connection.
        The redirect carries only oauth=ok or a short error code: never the
        code, the state, a token or the error description from the query.
        """
        query = request.query_params
        now = clock()
        pending = await run_in_threadpool(find_pending_connect, runtime.engine, query.get("state", ""))

        if "error" in query:
            error = handle_callback_error(query["error"], query.get("error_description"))
            await run_in_threadpool(discard_authorization, runtime.engine, query.get("state", ""))
            logger.warning("the Salesforce authorize page returned %s", error.error_code)
            return await _fail(pending, callback_error_code(error), now)

        if not query.get("code"):
            logger.warning("the Salesforce callback arrived without a code or an error")
            return _redirect_to_connection(oauth_error="invalid_request")

        user = await run_in_threadpool(user_for_session, runtime.engine, request.cookies.get(SESSION_COOKIE), now)
        actor = Actor(user.id, user.email) if user is not None else None
        try:
            connection = await run_in_threadpool(
                lambda: complete_authorization(
                    runtime.engine, runtime.box, query.get("state", ""), query.get("code", ""), now, actor=actor
                )
            )
        except PermissionDenied:
            logger.warning("the Salesforce authorization was refused: the user may no longer manage the connection")
            return _redirect_to_connection(oauth_error="permission_denied")
        except SalesforceError as exc:
            code = callback_error_code(exc)
            logger.warning("the Salesforce authorization failed with %s: %s", code, exc)
            return await _fail(pending, code, now)

        logger.info("the Salesforce authorization of team %s completed", connection.team_id)
        return _redirect_to_connection(oauth="ok")

    async def _fail(pending: PendingConnect | None, code: str, now: datetime) -> RedirectResponse:
        # An unknown or reused state names no team, so there is nobody to record the failure for.
        if pending is not None:
            await run_in_threadpool(record_connect_failure, runtime.engine, pending, code, now)
        return _redirect_to_connection(oauth_error=code)

    return [Route(CALLBACK_PATH, salesforce_callback, methods=["GET"])]


def _redirect_to_connection(**outcome: str) -> RedirectResponse:
    return RedirectResponse(f"{CONNECTION_PAGE}?{urlencode(outcome)}", status_code=303)
