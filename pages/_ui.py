"""Helpers every page shares: language, the signed-in user and team, permissions, times and errors."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, tzinfo
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import streamlit as st

from core.auth.accounts import UserView, list_members, teams_for_user
from core.auth.audit import Actor
from core.auth.permissions import ROLE_RANK, Action, Decision, PermissionDenied, decide, require
from core.auth.sessions import user_for_session
from core.auth.users import set_language
from core.i18n import DEFAULT_LANGUAGE, LANGUAGES, LocalizedError, load_catalog, translate
from core.runtime import Runtime, get_runtime
from core.salesforce.errors import SalesforceError
from core.store.models import Role
from core.teams import TeamSettingError, TeamView, create_team
from core.web.auth_routes import SESSION_COOKIE, SESSION_PATH, SIGN_OUT_PATH

LANGUAGE_KEY = "language"
# Set once the session's language was picked from the user's saved choice or the browser.
LANGUAGE_SETTLED_KEY = "language_settled"
# Set when the language switch was used in this session, so a sign-in can keep the choice.
LANGUAGE_CHOSEN_KEY = "language_chosen"
TEAM_KEY = "team_id"
# A session token put in session state is used when the browser sent no cookie.
# Only server code can put it there (no widget has this key); AppTest, which
# cannot send cookies, signs in this way.
SESSION_TOKEN_KEY = "auth_session_token"
# The signed-in user and their (team, role) pairs, looked up once per script run by authenticate().
USER_KEY = "auth_user"
MEMBERSHIPS_KEY = "auth_memberships"
# The (team id, page path) pairs whose refused visit this session already recorded in the audit trail.
REFUSED_VISITS_KEY = "refused_visits"
LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}

# Japanese users read times in JST and everyone else in UTC. Column labels name the zone.
DISPLAY_ZONES: dict[str, tzinfo] = {"en": UTC, "ja": ZoneInfo("Asia/Tokyo")}
DISPLAY_ZONE_NAMES = {"en": "UTC", "ja": "JST"}


def language() -> str:
    """Return the language chosen in the sidebar."""
    chosen = st.session_state.get(LANGUAGE_KEY, DEFAULT_LANGUAGE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, **params: object) -> str:
    """Return the message for key in the chosen language."""
    return translate(key, language(), **params)


def choice_labels(prefix: str, options: list[str]) -> dict[str, str]:
    """Return each option's message under prefix, for a widget's format_func.

    Labels are looked up before the widget is drawn because Streamlit may call
    format_func outside the script run, where the chosen language is unknown.
    """
    return {option: t(f"{prefix}.{option}") for option in options}


# Underscores stay: inside words such as REQUIRED_FIELD_MISSING they never start emphasis.
MARKDOWN_SPECIAL = re.compile(r"([\\`*{}\[\]()#+\-.!|<>~$:])")


def escape_markdown(text: str) -> str:
    """Return text with Markdown syntax escaped, for guest or Salesforce text inside Markdown elements."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


def has_message(key: str) -> bool:
    return key in load_catalog()


def runtime() -> Runtime:
    return get_runtime()


def now() -> datetime:
    return datetime.now(UTC)


def display_zone() -> tzinfo:
    return DISPLAY_ZONES[language()]


def display_zone_name() -> str:
    return DISPLAY_ZONE_NAMES[language()]


def format_time(moment: datetime | None) -> str:
    """Return moment in the display zone as 'YYYY-MM-DD HH:MM:SS', or '' for None."""
    if moment is None:
        return ""
    return moment.astimezone(display_zone()).strftime("%Y-%m-%d %H:%M:%S")


def date_bounds(days: object) -> tuple[date | None, date | None]:
    """Return (start, end) from the date input, which gives one or two days while a range is picked."""
    if isinstance(days, date):
        return days, days
    chosen = list(days or ())
    if not chosen:
        return None, None
    return chosen[0], chosen[-1]


def preferred_language(accept_language: str) -> str:
    """Return the console language an Accept-Language value or a locale such as "ja-JP" prefers.

    Language ranges are taken by their q weight, highest first, and matched by
    their primary subtag, so ja, ja-JP and ja-Latn all mean Japanese. Returns
    the default language when no range names a console language.
    """
    ranges: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")):
        tag, _, parameters = item.strip().partition(";")
        weight = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        primary = tag.strip().split("-")[0].lower()
        if weight > 0 and primary in LANGUAGES:
            ranges.append((-weight, position, primary))
    return min(ranges)[2] if ranges else DEFAULT_LANGUAGE


def browser_language() -> str:
    """Return the console language of the browser: its locale, else its Accept-Language header."""
    locale = st.context.locale
    if isinstance(locale, str) and locale:
        return preferred_language(locale)
    accept_language = st.context.headers.get("Accept-Language")
    # Under AppTest the session's client is a mock whose header values are not strings.
    return preferred_language(accept_language) if isinstance(accept_language, str) else DEFAULT_LANGUAGE


def settle_language(user: UserView | None) -> None:
    """Pick the session's language once: the signed-in user's saved choice, else the browser's.

    A language already in session state, set by the switch or by a test, is kept.
    """
    if st.session_state.get(LANGUAGE_SETTLED_KEY):
        return
    st.session_state[LANGUAGE_SETTLED_KEY] = True
    if st.session_state.get(LANGUAGE_KEY) in LANGUAGES:
        return
    saved = user.language if user is not None else None
    st.session_state[LANGUAGE_KEY] = saved or browser_language()


def remember_language() -> None:
    """Store the language just picked in the switch on the signed-in user, for their next sessions."""
    st.session_state[LANGUAGE_CHOSEN_KEY] = True
    user = current_user()
    if user is not None:
        set_language(runtime().engine, user.id, language())


def keep_chosen_language(user_id: int) -> None:
    """Store the language picked before sign-in on the user who signed in, so the new session keeps it."""
    if st.session_state.get(LANGUAGE_CHOSEN_KEY):
        set_language(runtime().engine, user_id, language())


def render_language_switch() -> None:
    """Show the language selector in the sidebar; a signed-in user's choice is also stored on the user."""
    st.session_state.setdefault(LANGUAGE_KEY, DEFAULT_LANGUAGE)
    st.sidebar.selectbox(
        t("common.language"),
        options=list(LANGUAGES),
        format_func=LANGUAGE_NAMES.get,
        key=LANGUAGE_KEY,
        on_change=remember_language,
    )


def session_token() -> str | None:
    """Return this browser's session token: the HttpOnly cookie, else one placed in session state."""
    cookie = st.context.cookies.get(SESSION_COOKIE)
    # Under AppTest the session's client is a mock whose cookie values are not strings.
    if isinstance(cookie, str) and cookie:
        return cookie
    return st.session_state.get(SESSION_TOKEN_KEY)


def authenticate() -> UserView | None:
    """Look up the signed-in user and their teams for this script run; return None when signed out.

    dashboard.py calls it at the start of every run, so a removed member or an
    expired session loses access on the next click, not at the next sign-in.
    """
    user = user_for_session(runtime().engine, session_token(), now())
    st.session_state[USER_KEY] = user
    st.session_state[MEMBERSHIPS_KEY] = teams_for_user(runtime().engine, user.id) if user else []
    return user


def current_user() -> UserView | None:
    """Return the user authenticate() found in this run, or None."""
    return st.session_state.get(USER_KEY)


def memberships() -> list[tuple[TeamView, Role]]:
    """Return the signed-in user's teams with their role in each, by team name."""
    return list(st.session_state.get(MEMBERSHIPS_KEY) or [])


def current_actor() -> Actor:
    """Return the signed-in user as the actor of permission checks and audit events.

    Stops the page when nobody is signed in; the navigation never offers a
    page then, so this is a second line of defence.
    """
    user = current_user()
    if user is None:
        st.stop()
    return Actor(user_id=user.id, email=user.email)


def current_team() -> TeamView | None:
    """Return the team the pages work on: the one chosen in the sidebar, else the user's first team."""
    teams = [team for team, _ in memberships()]
    if not teams:
        return None
    chosen = st.session_state.get(TEAM_KEY)
    return next((team for team in teams if team.id == chosen), teams[0])


def current_role(team: TeamView) -> Role | None:
    """Return the signed-in user's role in team, or None when they are not a member."""
    return next((role for member_team, role in memberships() if member_team.id == team.id), None)


def permission(team: TeamView, action: Action) -> Decision:
    """Return whether the signed-in user may take action in team, with the reason if not."""
    return decide(current_role(team), action, team.plan)


def render_team_picker() -> None:
    """Show the switch between the signed-in user's teams, with their role in each."""
    teams = memberships()
    if not teams:
        return
    labels = {team.id: f"{team.name} ({role_label(role)})" for team, role in teams}
    if st.session_state.get(TEAM_KEY) not in labels:
        st.session_state[TEAM_KEY] = teams[0][0].id
    st.sidebar.selectbox(t("nav.team.label"), options=list(labels), format_func=labels.get, key=TEAM_KEY)


def render_account() -> None:
    """Show who is signed in and the sign-out link in the sidebar."""
    user = current_user()
    if user is None:
        return
    st.sidebar.caption(t("auth.sidebar.signed_in_as", name=escape_markdown(user.display_name), email=user.email))
    st.sidebar.markdown(same_tab_link(SIGN_OUT_PATH, t("auth.sidebar.sign_out")), unsafe_allow_html=True)


def require_team() -> TeamView:
    """Return the current team; without one, offer to create a team the user owns and stop the page.

    Checks the session again first, so a page run on its own (Streamlit runs
    the page file alone when it treats pages/ as an old-style multipage app)
    still renders nothing for a signed-out browser.
    """
    if authenticate() is None:
        st.stop()
    team = current_team()
    if team is not None:
        return team

    st.info(t("auth.no_team"))
    with st.form("create_team"):
        name = st.text_input(t("nav.team.name"))
        slug = st.text_input(t("nav.team.slug"), help=t("nav.team.slug_help"))
        submitted = st.form_submit_button(t("nav.team.create"))
    if submitted:
        try:
            created = create_team(runtime().engine, name, slug, now(), owner=current_actor())
        except TeamSettingError as exc:
            show_localized_error(exc)
        else:
            st.session_state[TEAM_KEY] = created.id
            st.rerun()
    st.stop()


def role_label(role: Role | str) -> str:
    return t(f"auth.role.{Role(role).value}")


def plan_label(plan: str) -> str:
    return t(f"auth.plan.{plan}") if has_message(f"auth.plan.{plan}") else plan


def reason_params(params: dict[str, object]) -> dict[str, object]:
    """Return a refusal's parameters with role and plan names in the chosen language."""
    labels: dict[str, object] = dict(params)
    for name in ("role", "required_role"):
        if params.get(name):
            labels[name] = role_label(str(params[name]))
    for name in ("plan", "required_plan"):
        if params.get(name):
            labels[name] = plan_label(str(params[name]))
    return labels


def denied_text(exc: PermissionDenied, team: TeamView | None = None) -> str:
    """Return why core refused a change and whom to ask, in the chosen language.

    team defaults to the current team; its members who may make the change are named.
    """
    return refusal_text(exc.decision, team or current_team())


def denial_reason(decision: Decision, team: TeamView | None = None) -> str | None:
    """Return why a control is off for the signed-in user and whom to ask, or None when it is allowed.

    team defaults to the current team.
    """
    if decision.allowed:
        return None
    return refusal_text(decision, team or current_team())


def refusal_text(decision: Decision, team: TeamView | None) -> str:
    """Return the reason of a refusal followed by the team members who can do it instead."""
    reason = next_step(decision.reason_key or "auth.denied.not_member", reason_params(decision.reason_params))
    ask = whom_to_ask(team, decision)
    return f"{reason} {ask}" if ask else reason


def whom_to_ask(team: TeamView | None, decision: Decision) -> str:
    """Return the sentence naming the team's members who may do what decision refused, or "" when nobody may."""
    if team is None:
        return ""
    if decision.reason_key == "auth.denied.role":
        required = Role(str(decision.reason_params.get("required_role") or Role.OWNER.value))
        names = contacts(team, required)
        return t("audit.ask.role", contacts=names) if names != NOBODY else ""
    if decision.reason_key == "auth.denied.plan":
        names = contacts(team, Role.OWNER)
        return t("audit.ask.plan", contacts=names) if names != NOBODY else ""
    return ""


# contacts() returns it when no member has the role asked for.
NOBODY = "-"


def contacts(team: TeamView, lowest_role: Role) -> str:
    """Return the names of the team's members with lowest_role or above, for 'ask ...' hints."""
    names = [
        f"{member.display_name} ({member.email})"
        for member in list_members(runtime().engine, team.id)
        if ROLE_RANK[member.role] >= ROLE_RANK[lowest_role]
    ]
    return ", ".join(names) or NOBODY


def read_only_text(team: TeamView, decision: Decision) -> str:
    """Return the notice for a screen the user may view but not change: why, and whom to ask."""
    params = decision.reason_params
    if decision.reason_key == "auth.denied.plan":
        return t(
            "auth.read_only.plan",
            team=team.name,
            plan=plan_label(str(params.get("plan", team.plan))),
            required_plan=plan_label(str(params.get("required_plan", ""))),
            contacts=contacts(team, Role.OWNER),
        )
    if decision.reason_key == "auth.denied.role":
        required = Role(str(params.get("required_role", Role.OWNER.value)))
        # Admins and owners change roles; only an owner can make someone an owner.
        askable = Role.OWNER if required == Role.OWNER else Role.ADMIN
        return t(
            "auth.read_only.role",
            role=role_label(str(params.get("role") or Role.MEMBER.value)),
            required_role=role_label(required),
            contacts=contacts(team, askable),
        )
    return t("auth.read_only.not_member", team=team.name)


def show_read_only(team: TeamView, decision: Decision) -> None:
    """Show the read-only notice unless decision allows the change."""
    if not decision.allowed:
        st.info(read_only_text(team, decision), icon=":material/lock:")


def page_denied_text(team: TeamView, decision: Decision) -> str:
    """Return the notice for a page the signed-in user may not open: the role it needs, and whom to ask for it."""
    params = decision.reason_params
    if decision.reason_key != "auth.denied.role":
        return refusal_text(decision, team)
    required = Role(str(params.get("required_role") or Role.OWNER.value))
    # Admins and owners change roles; only an owner can make someone an owner.
    askable = Role.OWNER if required == Role.OWNER else Role.ADMIN
    return t(
        "audit.page_denied.role",
        required_role=role_label(required),
        role=role_label(str(params.get("role") or Role.MEMBER.value)),
        contacts=contacts(team, askable),
    )


def record_refused_visit(team: TeamView, action: Action, path: str) -> None:
    """Audit, once per session and team, that the signed-in user opened a page that action guards and was refused.

    core's permission check records the refusal, so the event matches those of refused changes.
    """
    seen = st.session_state.setdefault(REFUSED_VISITS_KEY, set())
    if (team.id, path) in seen:
        return
    try:
        require(runtime().engine, current_actor(), team.id, action, now(), target=f"page {path}")
    except PermissionDenied:
        seen.add((team.id, path))


def guard_page(team: TeamView, action: Action, path: str) -> bool:
    """Return True when the signed-in user may open the page at path; otherwise audit the visit and say why.

    Pages the sidebar hides from a role still answer their URL, so a page
    calls this first and stops when it returns False.
    """
    decision = permission(team, action)
    if decision.allowed:
        return True
    record_refused_visit(team, action, path)
    st.warning(page_denied_text(team, decision), icon=":material/lock:")
    return False


def same_tab_link(url: str, label: str) -> str:
    """Return an HTML link that opens url in this tab, for st.markdown with unsafe_allow_html."""
    return f'<a href="{html.escape(url, quote=True)}" target="_self">{html.escape(label)}</a>'


def current_path() -> str:
    """Return the path of the page the browser shows, such as /sync-log, or / when unknown."""
    url = st.context.url
    path = urlsplit(url).path if url else ""
    return path if path.startswith("/") and not path.startswith("//") else "/"


def open_session(ticket: str) -> None:
    """Send the browser to /auth/session with ticket, which sets the session cookie and returns here.

    Streamlit pages cannot set an HttpOnly cookie, so the route does. The
    script moves this tab at once; the link is there if scripts are blocked.
    """
    url = f"{SESSION_PATH}?{urlencode({'ticket': ticket, 'next': current_path()})}"
    # json.dumps quotes the URL for JavaScript; "</" is escaped so it cannot end the script element.
    target = json.dumps(url).replace("</", "<\\/")
    st.html(f"<script>window.location.replace({target});</script>", unsafe_allow_javascript=True)
    st.markdown(same_tab_link(url, t("auth.sign_in.continue")), unsafe_allow_html=True)


def localized_text(exc: LocalizedError) -> str:
    """Return the message of exc in the chosen language."""
    return t(exc.message_key, **exc.params)


def show_localized_error(exc: LocalizedError) -> None:
    """Show the message of exc, such as what is wrong with a value the user entered, in the chosen language."""
    st.error(localized_text(exc))


def show_salesforce_error(exc: SalesforceError, **params: object) -> None:
    """Show what failed in Salesforce and the next step, in the chosen language."""
    code = exc.error_code or type(exc).__name__
    st.error(t("nav.salesforce_failed", code=escape_markdown(code), message=escape_markdown(exc.message)))
    st.info(next_step(exc.next_step_key, {**exc.next_step_params, **params}))


def next_step(key: str, params: dict[str, object]) -> str:
    """Return the next-step message for key, or the generic one when the key is unknown.

    Catalog messages name their own parameters; a missing one leaves the
    generic message instead of failing the page.
    """
    if not has_message(key):
        return t("nav.next_step_unknown")
    try:
        return t(key, **params)
    except (KeyError, IndexError):
        return t("nav.next_step_unknown")


