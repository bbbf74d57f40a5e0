"""Account screen for every signed-in user: change the password and create a new team they own."""

from __future__ import annotations

import streamlit as st

from core.auth.audit import Actor
from core.auth.errors import AuthError
from core.auth.members import suggest_team_slug
from core.auth.demo_users import DEMO_USERS
from core.auth.passwords import MIN_PASSWORD_LENGTH
from core.auth.sessions import change_password, has_temporary_password
from core.auth.users import UserView
from core.teams import TeamSettingError, create_team
from pages._ui import (
    TEAM_KEY,
    authenticate,
    escape_markdown,
    now,
    runtime,
    session_token,
    show_localized_error,
    t,
)

FLASH_KEY = "account_flash"
# The error of the last team creation, kept from the button's callback for the run that follows it.
TEAM_ERROR_KEY = "account_team_error"


def show_flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        key, params = flash
        st.success(t(key, **params))


def render_password(user: UserView) -> None:
    """Change the signed-in user's password. Their other browser sessions end and this one stays signed in."""
    st.subheader(t("auth.account.password.title"))
    if not user.has_password:
        demo_account = user.email in {email for _, email, _ in DEMO_USERS}
        st.info(t("auth.account.password.demo_account" if demo_account else "auth.account.password.single_sign_on"))
        return
    if has_temporary_password(runtime().engine, user.id):
        st.warning(t("auth.account.temporary_password"), icon=":material/key:")

    with st.form("change_password", clear_on_submit=True):
        current = st.text_input(
            t("auth.account.password.current"),
            type="password",
            key="account_current_password",
            autocomplete="current-password",
        )
        new = st.text_input(
            t("auth.account.password.new"),
            type="password",
            key="account_new_password",
            help=t("auth.setup.password_help", min_length=MIN_PASSWORD_LENGTH),
            autocomplete="new-password",
        )
        repeated = st.text_input(
            t("auth.account.password.repeat"),
            type="password",
            key="account_repeat_password",
            autocomplete="new-password",
        )
        submitted = st.form_submit_button(t("auth.account.password.submit"), type="primary")
    if not submitted:
        return
    if new != repeated:
        st.error(t("auth.setup.password_mismatch"))
        return

    try:
        change_password(runtime().engine, user.id, current, new, now(), keep_session=session_token())
    except AuthError as exc:
        show_localized_error(exc)
        return
    st.session_state[FLASH_KEY] = ("auth.account.password.done", {})
    st.rerun()


def create_owned_team(user: UserView) -> None:
    """Create the team from the form's values and switch the pages to it.

    Runs as the submit button's callback, before the sidebar's team picker is
    drawn, because Streamlit rejects changes to a widget's value after that.
    """
    name = st.session_state.get("account_team_name", "")
    slug = st.session_state.get("account_team_slug", "").strip() or suggest_team_slug(name)
    try:
        created = create_team(runtime().engine, name, slug, now(), owner=Actor(user_id=user.id, email=user.email))
    except TeamSettingError as exc:
        st.session_state[TEAM_ERROR_KEY] = exc
        return
    st.session_state[TEAM_KEY] = created.id
    st.session_state["account_team_name"] = ""
    st.session_state["account_team_slug"] = ""
    done = {"team": escape_markdown(created.name), "slug": created.slug}
    st.session_state[FLASH_KEY] = ("auth.account.team.done", done)


def render_new_team(user: UserView) -> None:
    """Offer to create a team that the signed-in user owns."""
    st.subheader(t("auth.account.team.title"))
    st.caption(t("auth.account.team.help"))
    error = st.session_state.pop(TEAM_ERROR_KEY, None)
    if error is not None:
        show_localized_error(error)
    with st.form("account_new_team"):
        st.text_input(t("nav.team.name"), key="account_team_name")
        st.text_input(t("nav.team.slug"), key="account_team_slug", help=t("auth.setup.slug_help"))
        st.form_submit_button(t("nav.team.create"), on_click=create_owned_team, args=(user,))


def main() -> None:
    # Checks the session itself as well, in case Streamlit runs this file without the dashboard.
    user = authenticate()
    if user is None:
        st.stop()
    st.title(t("auth.account.title"))
    st.caption(t("auth.sidebar.signed_in_as", name=escape_markdown(user.display_name), email=user.email))
    show_flash()

    render_password(user)
    st.divider()
    render_new_team(user)


main()
