"""GET and POST /demo-booking/{page_slug}: an offline stand-in for the scheduler's public booking page.

Demo mode only. The visitor picks a slot and sends the form. The page then
builds the scheduler's guest_booked webhook, signs it with the team's secret
and passes it to the console's own webhook intake, as a real booking arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from core.demo_booking.booking import (
    DEMO_BOOKING_PATH,
    PAGE_SLUG_PATTERN,
    BookingForm,
    DemoPage,
    FieldProblem,
    SigningSecretMissing,
    build_booking_payload,
    check_form,
    demo_booking_uid,
    demo_booking_url,
    find_demo_page,
    is_booked,
    prefill_form,
    read_form,
    send_booking,
)
from core.demo_booking.render import (
    TOKEN_FIELD,
    Confirmation,
    FormView,
    render_confirmation,
    render_form,
    render_message,
)
from core.demo_booking.slots import find_slot, offered_slots
from core.demo_booking.tokens import (
    BROWSER_COOKIE,
    FormToken,
    FormTokens,
    TokenError,
    is_browser_id,
    new_browser_id,
)
from core.i18n import translate
from core.runtime import Runtime
from core.web.hooks import BodyTooLarge, read_body
from core.web.route import visitor_language

logger = logging.getLogger(__name__)

# The form has a few short fields, so a far larger body is not this page's form.
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 100
SYNC_LOG_PATH = "/sync-log"
# An unknown address is echoed on the not-found page, cut to this length.
MAX_SHOWN_SLUG_LENGTH = 100

# The page loads nothing, runs no script and may post its form only to this origin. The page URL
# contains the visitor's email, so no Referer leaves the site, but same-origin posts keep their Origin header.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def demo_booking_routes(
    runtime: Runtime,
    *,
    clock: Callable[[], datetime] | None = None,
    tokens: FormTokens | None = None,
) -> list[Route]:
    """Return the demo booking page routes bound to runtime; mount them in demo mode only.

    clock gives the current time (slots, tokens and webhook timestamps), and
    tokens the form token issuer, one per process unless a test passes its own.
    """
    now = clock or (lambda: datetime.now(UTC))
    form_tokens = tokens or FormTokens()

    async def booking_page(request: Request) -> Response:
        language = visitor_language(request.headers.get("accept-language"))
        page_slug = request.path_params["page_slug"]
        page = await run_in_threadpool(_find_page, runtime, page_slug)
        if page is None:
            return _not_found(page_slug, language)
        if request.method == "POST":
            return await _submit(runtime, form_tokens, request, page, page_slug, language, now())
        form = prefill_form(request.query_params)
        secure = _is_https(runtime)
        return _form_response(form_tokens, request, page, page_slug, form, language, now(), secure=secure)

    return [Route(f"{DEMO_BOOKING_PATH}/{{page_slug}}", booking_page, methods=["GET", "HEAD", "POST"])]


def _find_page(runtime: Runtime, page_slug: str) -> DemoPage | None:
    if not PAGE_SLUG_PATTERN.fullmatch(page_slug):
        return None
    return find_demo_page(runtime.engine, page_slug)


def _is_https(runtime: Runtime) -> bool:
    # The public URL, not the request, because a TLS proxy in front of the app forwards plain http.
    return runtime.settings.public_url.startswith("https://")


def _form_response(
    form_tokens: FormTokens,
    request: Request,
    page: DemoPage,
    page_slug: str,
    form: BookingForm,
    language: str,
    now: datetime,
    *,
    secure: bool,
    status: int = 200,
    problems: Sequence[FieldProblem] = (),
    form_error: tuple[str, dict] | None = None,
) -> Response:
    """Render the form with a fresh token, setting the browser cookie when the request had none."""
    browser_id = request.cookies.get(BROWSER_COOKIE)
    new_cookie = not is_browser_id(browser_id)
    if new_cookie:
        browser_id = new_browser_id()

    view = FormView(
        page=page,
        form=form,
        slots=offered_slots(now),
        token=form_tokens.issue(browser_id, page_slug, now),
        problems=problems,
        form_error=form_error,
    )
    response = HTMLResponse(render_form(view, language), status_code=status, headers=PAGE_HEADERS)
    if new_cookie:
        response.set_cookie(
            BROWSER_COOKIE,
            browser_id,
            path=DEMO_BOOKING_PATH,
            httponly=True,
            samesite="strict",
            secure=secure,
        )
    return response


async def _submit(
    runtime: Runtime,
    form_tokens: FormTokens,
    request: Request,
    page: DemoPage,
    page_slug: str,
    language: str,
    now: datetime,
) -> Response:
    """Check the posted form and send the booking; re-render the form with the problems when it fails."""
    if not _is_same_origin(request, runtime.settings.public_url):
        logger.warning("rejected a demo booking for booking page %s posted from another site", page.id)
        title = translate("demo_booking.rejected.title", language)
        message = translate("demo_booking.error.cross_site", language)
        return HTMLResponse(render_message(title, message, language), status_code=403, headers=PAGE_HEADERS)

    try:
        fields = await _read_fields(request)
    except (BodyTooLarge, ClientDisconnect, UnicodeDecodeError, ValueError) as exc:
        logger.info("rejected an unreadable demo booking form for booking page %s: %s", page.id, type(exc).__name__)
        title = translate("demo_booking.rejected.title", language)
        message = translate("demo_booking.error.unreadable", language)
        return HTMLResponse(render_message(title, message, language), status_code=400, headers=PAGE_HEADERS)

    form = read_form(fields, page.questions)
    posted_token = next((value for name, value in fields if name == TOKEN_FIELD), "")

    def again(status: int, **options) -> Response:
        secure = _is_https(runtime)
        return _form_response(
            form_tokens, request, page, page_slug, form, language, now, secure=secure, status=status, **options
        )

    try:
        token = form_tokens.verify(posted_token, request.cookies.get(BROWSER_COOKIE), page_slug, now)
    except TokenError as exc:
        logger.info("rejected a demo booking form for booking page %s: token %s", page.id, exc.reason)
        return again(403, form_error=(f"demo_booking.error.token.{exc.reason}", {}))

    # The slots the form offered when it was rendered, as long as they are still ahead.
    slots = [slot for slot in offered_slots(token.issued_at) if slot.start > now]
    problems = check_form(form, slots)
    if problems:
        return again(400, problems=problems)

    try:
        form_tokens.use(token, now)
    except TokenError:
        logger.info("rejected a demo booking form for booking page %s: token already used", page.id)
        return again(409, form_error=("demo_booking.error.token.used", {}))

    return await _send(runtime, page, page_slug, form, token, language, now, again)


async def _send(
    runtime: Runtime,
    page: DemoPage,
    page_slug: str,
    form: BookingForm,
    token: FormToken,
    language: str,
    now: datetime,
    again: Callable[..., Response],
) -> Response:
    """Send the checked booking to the webhook intake and show the confirmation, or the form with the failure."""
    slot = find_slot(offered_slots(token.issued_at), form.slot)
    booking_uid = demo_booking_uid(page, slot, form.email)
    # NOTE: two posts of the same booking at the same moment can both pass this check, because the
    # intake's dedupe key also holds object.updatedAt, which differs between them.
    if await run_in_threadpool(is_booked, runtime.engine, page.team_id, booking_uid):
        logger.info("rejected a demo booking for booking page %s: the guest already booked that slot", page.id)
        return again(409, form_error=("demo_booking.error.already_booked", {}))

    payload = build_booking_payload(page, form, slot, booking_uid, now)
    try:
        result = await run_in_threadpool(send_booking, runtime.engine, runtime.box, page, payload, now)
    except SigningSecretMissing:
        logger.warning(
            "demo booking for booking page %s not sent: team %s has no signing secret", page.id, page.team_id
        )
        return again(503, form_error=("demo_booking.error.no_secret", {}))
    except Exception:
        logger.exception("sending a demo booking for booking page %s failed", page.id)
        return again(500, form_error=("demo_booking.error.failed", {}))

    if result.status not in (200, 202):
        code = str(result.body.get("error", ""))
        return again(502, form_error=("demo_booking.error.rejected", {"status": result.status, "code": code}))

    if result.stored and runtime.worker is not None:
        runtime.worker.wake()
    public_url = runtime.settings.public_url
    notes = []
    if not page.integration_enabled:
        notes.append(translate("demo_booking.done.integration_off", language, page=page.name))
    confirmation = Confirmation(
        page=page,
        form=form,
        slot=slot,
        status=result.status,
        booking_url=demo_booking_url(public_url, page_slug),
        sync_log_url=f"{public_url}{SYNC_LOG_PATH}",
        notes=notes,
    )
    return HTMLResponse(render_confirmation(confirmation, language), headers=PAGE_HEADERS)


async def _read_fields(request: Request) -> list[tuple[str, str]]:
    """Return the urlencoded form fields of the request body.

    Raises BodyTooLarge above MAX_FORM_BYTES, UnicodeDecodeError for a body that
    is not UTF-8, and ValueError for more than MAX_FORM_FIELDS fields.
    """
    body = await read_body(request, MAX_FORM_BYTES)
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)


def _is_same_origin(request: Request, public_url: str) -> bool:
    """Return whether the browser reports that the form was posted from this site.

    Sec-Fetch-Site decides when the browser sends it. Otherwise the Origin
    header has to be this site's. A request with neither (a script, a test
    client) is judged by the form token alone.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    own = {_origin(public_url), f"{request.url.scheme}://{request.url.netloc}"}
    return origin in own


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _not_found(page_slug: str, language: str) -> Response:
    title = translate("demo_booking.not_found.title", language)
    path = f"{DEMO_BOOKING_PATH}/{page_slug[:MAX_SHOWN_SLUG_LENGTH]}"
    message = translate("demo_booking.not_found.message", language, path=path)
    return HTMLResponse(render_message(title, message, language), status_code=404, headers=PAGE_HEADERS)
