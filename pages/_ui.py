"""Helpers every page shares: language, current team, times and error messages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

import streamlit as st

from core.auth.audit import Actor
from core.auth.permissions import Action, Decision, decide
from core.i18n import DEFAULT_LANGUAGE, LANGUAGES, load_catalog, translate
from core.runtime import Runtime, get_runtime
from core.salesforce.errors import SalesforceError
from core.store.models import Role
from core.teams import TeamSettingError, TeamView, create_team, list_teams

LANGUAGE_KEY = "language"
TEAM_KEY = "team_id"
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


def render_language_switch() -> None:
    """Show the language selector in the sidebar; the choice lives in session state."""
    st.session_state.setdefault(LANGUAGE_KEY, DEFAULT_LANGUAGE)
    st.sidebar.selectbox(
        t("common.language"),
        options=list(LANGUAGES),
        format_func=LANGUAGE_NAMES.get,
        key=LANGUAGE_KEY,
    )


def current_team() -> TeamView | None:
    """Return the team the pages work on: the one chosen in the sidebar, else the first.

    This is the single place that decides the team, so sign-in can restrict it later.
    """
    teams = list_teams(runtime().engine)
    if not teams:
        return None
    chosen = st.session_state.get(TEAM_KEY)
    return next((team for team in teams if team.id == chosen), teams[0])


def render_team_picker() -> None:
    """Show a team selector in the sidebar when there is more than one team."""
    teams = list_teams(runtime().engine)
    if len(teams) < 2:
        return
    names = {team.id: team.name for team in teams}
    if st.session_state.get(TEAM_KEY) not in names:
        st.session_state[TEAM_KEY] = teams[0].id
    st.sidebar.selectbox(t("nav.team.label"), options=list(names), format_func=names.get, key=TEAM_KEY)


def require_team() -> TeamView:
    """Return the current team; without one, show the create-team form and stop the page."""
    team = current_team()
    if team is not None:
        return team

    st.info(t("nav.team.none"))
    with st.form("create_team"):
        name = st.text_input(t("nav.team.name"))
        slug = st.text_input(t("nav.team.slug"), help=t("nav.team.slug_help"))
        submitted = st.form_submit_button(t("nav.team.create"))
    if submitted:
        try:
            created = create_team(runtime().engine, name, slug, now())
        except TeamSettingError as exc:
            st.error(t(exc.message_key, **exc.params))
        else:
            st.session_state[TEAM_KEY] = created.id
            st.rerun()
    st.stop()


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


def current_actor() -> Actor:
    """Return the user acting on this page, for permission checks and the audit trail.

    TODO: replace with the signed-in user once sign-in exists; until then every
    visitor acts as the system with the owner's rights.
    """
    return Actor.system()


def current_role(team: TeamView) -> Role | None:
    """Return the acting user's role in team."""
    return Role.OWNER


def permission(team: TeamView, action: Action) -> Decision:
    """Return whether the acting user may take action in team, with the reason if not."""
    return decide(current_role(team), action, team.plan)
