"""GET /auth/session and GET /auth/sign-out: the routes that set and clear the session cookie.

Streamlit pages cannot set an HttpOnly cookie, so the sign-in page sends the
browser here with a one-time ticket, and this route sets the cookie.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from core.auth.errors import InvalidTicketError
from core.auth.sessions import SESSION_LIFETIME, redeem_ticket, sign_out
from core.runtime import Runtime

logger = logging.getLogger(__name__)

SESSION_COOKIE = "console_session"
SESSION_PATH = "/auth/session"
SIGN_OUT_PATH = "/auth/sign-out"
HOME = "/"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def auth_routes(runtime: Runtime, *, clock: Callable[[], datetime] = _utc_now) -> list[Route]:
    """Return the session and sign-out routes bound to runtime's store.

    The cookie is marked Secure when APP_PUBLIC_URL starts with https, so it
    still works on a plain-http localhost.
    """
    secure = runtime.settings.public_url.startswith("https://")

    async def start_session(request: Request) -> RedirectResponse:
        """Redeem the ticket, set the session cookie and redirect to the local path in next."""
        ticket = request.query_params.get("ticket", "")
        target = safe_next_path(request.query_params.get("next"))
        try:
            token = await run_in_threadpool(redeem_ticket, runtime.engine, ticket, clock())
        except InvalidTicketError as error:
            logger.warning("rejected a sign-in ticket: %s", error)
            return _redirect(f"{HOME}?{urlencode({'auth_error': 'ticket_invalid'})}")

        response = _redirect(target)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(SESSION_LIFETIME.total_seconds()),
            path="/",
            secure=secure,
            httponly=True,
            samesite="lax",
        )
        return response

    async def end_session(request: Request) -> RedirectResponse:
        """Delete the session of the cookie, clear the cookie and redirect to the start page."""
        # NOTE: sign-out is a GET because the sidebar can only show a link. So another
        # site can sign a user out, though never in. A POST form would close that gap.
        await run_in_threadpool(sign_out, runtime.engine, request.cookies.get(SESSION_COOKIE), clock())
        response = _redirect(HOME)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
        return response

    return [
        Route(SESSION_PATH, start_session, methods=["GET"]),
        Route(SIGN_OUT_PATH, end_session, methods=["GET"]),
    ]


def safe_next_path(raw: str | None) -> str:
    """Return raw when it is a path on this site, else "/".

    Rejects absolute and scheme-relative URLs (https://x, //x), backslashes,
    which some browsers read as slashes (/\\x), and control characters.
    """
    if not raw or not raw.startswith("/") or raw.startswith("//"):
        return HOME
    if "\\" in raw or any(ord(character) < 0x20 or ord(character) == 0x7F for character in raw):
        return HOME
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return HOME
    return raw


def _redirect(location: str) -> RedirectResponse:
    response = RedirectResponse(location, status_code=303)
    # The ticket is in this URL: keep it out of caches and of the next page's Referer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
