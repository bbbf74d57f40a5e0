"""GET /route/{form_key}: send an Account Engagement form visitor to the booking page their answers fit.

The form's completion redirect calls this URL with the visitor's answers in the
query string. The endpoint evaluates the form's routing rules and responds with
302 to the chosen booking page's public URL, with the visitor's name and email
added as prefill parameters.

Redirect targets come only from the team's stored booking pages, never from
the request. The visitor never sees an error: an unknown form key, routing
turned off or a failure inside the console gives a plain page in the visitor's
language, and when no page fits, the team's booking pages are listed to
choose from. Every request writes one RoutingLog row, except one that fails
inside the console: that failure goes to the application log instead.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote, unquote_plus, urlencode, urlsplit, urlunsplit

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from core.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate
from core.pardot import find_prospect_by_email, prospect_answers
from core.routing.evaluation import evaluate
from core.routing.log import RoutingOutcome, clip_answers, email_of, write_routing_log
from core.routing.redirect import blank_unfilled_merge_tags
from core.routing.store import FormRoutingView, find_form_routing_by_key
from core.routing.text import normalize_text
from core.runtime import Runtime
from core.salesforce.errors import SalesforceError
from core.secrets import SecretBox
from core.store.db import session_scope
from core.store.models import AccountEngagementForm, BookingPage
from core.sync.names import is_japanese

logger = logging.getLogger(__name__)

# Form keys are made by secrets.token_urlsafe; anything else is unknown without a database query.
FORM_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")

# The pages hold no script and load nothing; links carry the visitor's answers, so no Referer leaves.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
REDIRECT_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class PageKind(StrEnum):
    """The response the visitor gets."""

    REDIRECT = "redirect"
    CHOOSE = "choose"  # a list of the team's booking pages
    UNKNOWN = "unknown"  # no routing has this key
    DISABLED = "disabled"
    UNAVAILABLE = "unavailable"  # the console failed; the visitor still gets a page


@dataclass(frozen=True)
class PageLink:
    """A booking page offered to the visitor: its name and public URL with the prefill parameters."""

    name: str
    url: str


@dataclass(frozen=True)
class RouteResult:
    """The response for one visitor: a redirect location or a page of one kind."""

    kind: PageKind
    location: str | None = None
    links: list[PageLink] = field(default_factory=list)


def route_routes(runtime: Runtime, *, clock: Callable[[], datetime] | None = None) -> list[Route]:
    """Return the GET /route/{form_key} route bound to runtime; clock gives the time of log rows."""
    now = clock or (lambda: datetime.now(UTC))

    async def route_visitor(request: Request) -> Response:
        language = visitor_language(request.headers.get("accept-language"))
        form_key = request.path_params["form_key"]
        answers = answers_from_query(request.query_params.multi_items())
        # The visitor has just submitted a form: any failure still ends on a plain page, never a traceback.
        try:
            result = await run_in_threadpool(resolve_route, runtime.engine, runtime.box, form_key, answers, now())
        except Exception:
            logger.exception("routing the visitor of a form key failed; showing the plain page")
            result = RouteResult(PageKind.UNAVAILABLE)
        return respond(result, language)

    # The path convertor also catches keys with slashes, so they get the plain page instead of a bare 404.
    return [Route("/route/{form_key:path}", route_visitor, methods=["GET"])]


def resolve_route(
    engine: Engine,
    box: SecretBox,
    form_key: str,
    answers: Mapping[str, list[str]],
    now: datetime,
) -> RouteResult:
    """Decide where the visitor of form_key goes, and write the routing log row.

    Answers that are still merge tags count as empty, for the rules and the prefill alike.
    """
    routing = find_form_routing_by_key(engine, form_key) if FORM_KEY_PATTERN.fullmatch(form_key) else None
    answers, unfilled = blank_unfilled_merge_tags(answers)
    if unfilled and routing is not None:
        # NOTE: a literal tag means the form's completion action did not expand it, for example because
        # the redirect is not a completion action of this form. Routing on "{{Recipient.Email}}" or
        # prefilling it on the booking page would be wrong, so the value is treated as empty.
        logger.warning(
            "form routing %s: the answers for %s were unexpanded merge tags; treating them as empty. "
            "Check that the routing URL is the form's completion redirect.",
            routing.id,
            ", ".join(unfilled),
        )
    if routing is None:
        _log(engine, form_key, Choice(RoutingOutcome.UNKNOWN_FORM, {}), now)
        return RouteResult(PageKind.UNKNOWN)

    if not routing.enabled:
        _log(engine, form_key, Choice(RoutingOutcome.DISABLED, dict(answers)), now, routing)
        return RouteResult(PageKind.DISABLED)

    pages = usable_pages(engine, routing.team_id)
    choice = choose_page(engine, box, routing, answers, pages)
    _log(engine, form_key, choice, now, routing)

    prefill = prefill_params(choice.answers)
    if choice.page_id is None:
        links = [PageLink(page.name, booking_url(page.public_url, prefill)) for page in pages.values()]
        return RouteResult(PageKind.CHOOSE, links=links)
    return RouteResult(PageKind.REDIRECT, location=booking_url(pages[choice.page_id].public_url, prefill))


@dataclass(frozen=True)
class Choice:
    """The routing outcome for one visitor: the page (None lets the visitor choose) and the answers used."""

    outcome: RoutingOutcome
    answers: dict[str, list[str]]
    page_id: int | None = None
    rule_id: str | None = None
    rule_name: str | None = None


def choose_page(
    engine: Engine,
    box: SecretBox,
    routing: FormRoutingView,
    answers: Mapping[str, list[str]],
    pages: Mapping[int, BookingPage],
) -> Choice:
    """Evaluate the rules (after prospect verification, when it is on) and pick a usable booking page.

    A matched rule whose page was deleted or lost its public URL falls through
    to the fallback page, and the log row keeps the rule's name.
    """
    fallback = _usable(routing.rule_set.fallback_page_id, pages)
    used = {name: list(values) for name, values in answers.items()}

    if routing.verify_with_prospect:
        verified = verify_answers(engine, box, routing, used)
        if verified is None:
            return Choice(RoutingOutcome.NOT_VERIFIED, used, fallback)
        used = verified

    decision = evaluate(routing.rule_set, used)
    if decision.matched_rule_id is None:
        outcome = RoutingOutcome.FALLBACK if fallback is not None else RoutingOutcome.NO_MATCH
        return Choice(outcome, used, fallback)

    rule = routing.rule_set.get_rule(decision.matched_rule_id)
    target = _usable(decision.target_page_id, pages)
    if target is not None:
        return Choice(RoutingOutcome.MATCHED, used, target, rule.id, rule.name)

    logger.warning(
        "routing rule %s of form routing %s matched, but booking page %s is gone or has no public URL; "
        "using the fallback page",
        rule.id,
        routing.id,
        decision.target_page_id,
    )
    outcome = RoutingOutcome.FALLBACK if fallback is not None else RoutingOutcome.NO_MATCH
    return Choice(outcome, used, fallback, rule.id, rule.name)


def verify_answers(
    engine: Engine,
    box: SecretBox,
    routing: FormRoutingView,
    answers: Mapping[str, list[str]],
) -> dict[str, list[str]] | None:
    """Replace answers with the values of the prospect that has the answered email, where it has them.

    Every field of the cached form is checked, so a parameter removed from the
    URL is filled from the prospect too. Returns None when there is no email
    answer, no prospect has it, or the lookup fails.
    """
    email = email_of(answers)
    if not email:
        logger.info("form routing %s: no email answer, so the prospect cannot be verified", routing.id)
        return None

    try:
        prospect = find_prospect_by_email(engine, box, routing.team_id, email)
    except (SalesforceError, LookupError, ValueError) as exc:
        logger.warning(
            "form routing %s: the prospect lookup failed (%s: %s); using the fallback page",
            routing.id,
            type(exc).__name__,
            getattr(exc, "error_code", None) or "-",
        )
        return None
    if prospect is None:
        logger.info("form routing %s: no prospect has the answered email; using the fallback page", routing.id)
        return None

    # Answer names and the prospect's field names are compared caselessly, like rule fields.
    values = {normalize_text(name): value for name, value in prospect_answers(prospect).items()}
    verified = {name: list(given) for name, given in answers.items()}
    for name in [*form_fields(engine, routing.team_id, routing.form_id), *answers]:
        value = _answer_values(values.get(normalize_text(name)))
        if value:
            verified[name] = value
    return verified


def _answer_values(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [str(item) for item in items if item is not None and str(item).strip()]


def form_fields(engine: Engine, team_id: int, form_id: int) -> list[str]:
    """Return the cached field names of the team's form, or [] when the form is not cached."""
    with session_scope(engine) as session:
        form = session.exec(
            select(AccountEngagementForm).where(
                AccountEngagementForm.team_id == team_id, AccountEngagementForm.form_id == form_id
            )
        ).first()
        return list(form.fields or []) if form else []


def prefill_params(answers: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Return the booking page prefill parameters name, email, first_name and last_name found in answers.

    ``name`` joins the first and last names, family name first when either is
    Japanese, else the name answer itself.
    """
    first = _first_answer(answers, "first_name")
    last = _first_answer(answers, "last_name")
    if first or last:
        parts = [last, first] if is_japanese(first + last) else [first, last]
        name = " ".join(part for part in parts if part)
    else:
        name = _first_answer(answers, "name")

    params = {"name": name, "email": email_of(answers), "first_name": first, "last_name": last}
    return {key: value for key, value in params.items() if value}


def _first_answer(answers: Mapping[str, Sequence[str]], field_name: str) -> str:
    for name, values in answers.items():
        if normalize_text(name) == field_name and values:
            return values[0].strip()
    return ""


def booking_url(page_url: str, prefill: Mapping[str, str]) -> str:
    """Add the prefill parameters to page_url, keeping its own query and fragment.

    The page's own parameters keep their original encoding, except those with
    a prefill name, which the prefill values replace.
    """
    parts = urlsplit(page_url)
    kept = [pair for pair in parts.query.split("&") if pair and unquote_plus(pair.partition("=")[0]) not in prefill]
    added = urlencode(prefill, quote_via=quote)
    query = "&".join([*kept, added] if added else kept)
    return urlunsplit(parts._replace(query=query))


def usable_pages(engine: Engine, team_id: int) -> dict[int, BookingPage]:
    """Return the team's booking pages whose public URL is an absolute http or https URL, by id."""
    with session_scope(engine) as session:
        pages = session.exec(select(BookingPage).where(BookingPage.team_id == team_id).order_by(BookingPage.id)).all()
        return {page.id: page for page in pages if is_usable_url(page.public_url)}


def is_usable_url(url: str) -> bool:
    """Return whether url is an absolute http(s) URL with a host and no whitespace or control characters."""
    if not url or any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _usable(page_id: int | None, pages: Mapping[int, BookingPage]) -> int | None:
    return page_id if page_id is not None and page_id in pages else None


def answers_from_query(items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Group query parameters by name; a repeated name (a checkbox group) gives several values."""
    grouped: dict[str, list[str]] = {}
    for name, value in items:
        grouped.setdefault(name, []).append(value)
    return clip_answers(grouped)


def visitor_language(header: str | None) -> str:
    """Return the supported language the Accept-Language header prefers most, or the default.

    Ranges are compared by their primary subtag ("ja-JP" is "ja"); a higher q
    wins, and between equal q values the earlier one wins.
    """
    best_language, best_quality = DEFAULT_LANGUAGE, 0.0
    for part in (header or "").split(","):
        tag, _, parameters = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        quality = _quality(parameters)
        if quality > best_quality:
            best_language, best_quality = primary, quality
    return best_language


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(float(value), 1.0))
            except ValueError:
                return 0.0
    return 1.0


def _log(
    engine: Engine, form_key: str, choice: Choice, now: datetime, routing: FormRoutingView | None = None
) -> None:
    # A failed log write must not keep the visitor from the booking page.
    try:
        write_routing_log(
            engine,
            form_key=form_key,
            outcome=choice.outcome,
            now=now,
            team_id=routing.team_id if routing else None,
            form_routing_id=routing.id if routing else None,
            matched_rule_id=choice.rule_id,
            matched_rule_name=choice.rule_name,
            booking_page_id=choice.page_id,
            answers=choice.answers,
        )
    except SQLAlchemyError:
        logger.exception(
            "writing the routing log row failed (form routing %s, outcome %s)",
            routing.id if routing else None,
            choice.outcome.value,
        )


def respond(result: RouteResult, language: str) -> Response:
    """Return the redirect, or the HTML page of result's kind in language."""
    if result.kind is PageKind.REDIRECT and result.location:
        return RedirectResponse(result.location, status_code=302, headers=REDIRECT_HEADERS)

    kind = result.kind if result.kind is not PageKind.REDIRECT else PageKind.UNAVAILABLE
    if kind is PageKind.CHOOSE and not result.links:
        kind = PageKind.UNAVAILABLE
    status = 404 if kind is PageKind.UNKNOWN else 200
    title = translate(f"route.page.{kind.value}.title", language)
    message = translate(f"route.page.{kind.value}.message", language)
    body = render_page(language, title, message, result.links if kind is PageKind.CHOOSE else [])
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def render_page(language: str, title: str, message: str, links: Sequence[PageLink]) -> str:
    """Return a small self-contained HTML page; every text and URL in it is escaped."""
    items = "".join(
        f'<li><a href="{html.escape(link.url, quote=True)}" rel="noreferrer">{html.escape(link.name)}</a></li>'
        for link in links
    )
    link_list = f"<ul>{items}</ul>" if items else ""
    return (
        "<!doctype html>\n"
        f'<html lang="{html.escape(language, quote=True)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:0;padding:3rem 1.5rem;color:#1f2933}"
        "main{max-width:36rem;margin:auto}h1{font-size:1.5rem}li{margin:.6rem 0}a{color:#0b5cad}</style>"
        f"</head><body><main><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>{link_list}</main>"
        "</body></html>\n"
    )
