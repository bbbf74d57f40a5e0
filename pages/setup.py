"""First start outside demo mode: create the first owner's account and team, then sign in."""

from __future__ import annotations

import streamlit as st

from core.auth.accounts import create_first_owner
from core.auth.errors import AuthError
from core.auth.passwords import MIN_PASSWORD_LENGTH
from core.auth.sessions import create_ticket
from core.teams import TeamSettingError
from pages._ui import now, open_session, runtime, show_localized_error, t

TICKET_KEY = "setup_ticket"


def main() -> None:
    st.title(t("auth.setup.title"))
    ticket = st.session_state.pop(TICKET_KEY, None)
    if ticket:
        st.success(t("auth.setup.done"))
        open_session(ticket)
        return

    st.caption(t("auth.setup.intro"))
    with st.form("first_owner"):
        name = st.text_input(t("auth.setup.name"), key="setup_name")
        email = st.text_input(t("auth.setup.email"), key="setup_email", autocomplete="username")
        password = st.text_input(
            t("auth.setup.password"),
            type="password",
            key="setup_password",
            help=t("auth.setup.password_help", min_length=MIN_PASSWORD_LENGTH),
            autocomplete="new-password",
        )
        repeated = st.text_input(
            t("auth.setup.password_again"), type="password", key="setup_password_again", autocomplete="new-password"
        )
        team_name = st.text_input(t("nav.team.name"), key="setup_team_name")
        team_slug = st.text_input(t("nav.team.slug"), key="setup_team_slug", help=t("nav.team.slug_help"))
        submitted = st.form_submit_button(t("auth.setup.submit"), type="primary")
    if not submitted:
        return
    if password != repeated:
        st.error(t("auth.setup.password_mismatch"))
        return

    try:
        created = create_first_owner(runtime().engine, email, name, password, team_name, team_slug, now())
    except (AuthError, TeamSettingError) as exc:
        show_localized_error(exc)
        return
    st.session_state[TICKET_KEY] = create_ticket(runtime().engine, created.user.id, now())
    st.rerun()


main()
