"""Sign-in screen: email and password, single sign-on when configured, and one-click demo users."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from core.auth.errors import AuthError
from core.auth.sessions import SignInResult, create_ticket, sign_in, sign_in_demo
from core.auth.single_sign_on import sign_in_with_identity
from core.store.models import Role
from pages._ui import (
    display_zone_name,
    escape_markdown,
    format_time,
    keep_chosen_language,
    now,
    open_session,
    runtime,
    t,
)

TICKET_KEY = "sign_in_ticket"
DEMO_ROLES = (Role.OWNER, Role.ADMIN, Role.MANAGER, Role.MEMBER)


def identity_providers() -> list[str | None]:
    """Return the providers configured under [auth] in .streamlit/secrets.toml; None is the unnamed one."""
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError:
        return []
    if not isinstance(section, Mapping):
        return []
    providers: list[str | None] = [name for name, value in section.items() if isinstance(value, Mapping)]
    if "client_id" in section:
        providers.insert(0, None)
    return providers


def finish(result: SignInResult) -> None:
    """Start the browser session of a successful sign-in, or show why it failed."""
    if result.user is not None:
        keep_chosen_language(result.user.id)
        st.session_state[TICKET_KEY] = create_ticket(runtime().engine, result.user.id, now())
        st.rerun()
    params = dict(result.error_params)
    if result.retry_at is not None and "time" in params:
        params["time"] = f"{format_time(result.retry_at)} {display_zone_name()}"
    st.error(t(result.error_key or "auth_core.error.generic", **params))


def render_password_form() -> None:
    with st.form("sign_in"):
        email = st.text_input(t("auth.sign_in.email"), key="sign_in_email", autocomplete="username")
        password = st.text_input(
            t("auth.sign_in.password"), type="password", key="sign_in_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button(t("auth.sign_in.submit"), type="primary")
    if submitted:
        finish(sign_in(runtime().engine, email, password, now()))


def render_single_sign_on(providers: list[str | None]) -> None:
    """Offer the identity providers; once one has signed the user in, continue as that console user."""
    st.divider()
    st.subheader(t("auth.sso.title"))
    # st.user lacks is_logged_in when Streamlit finds no [auth] section in secrets.toml.
    if st.user.get("is_logged_in"):
        email = str(st.user.get("email") or "")
        st.caption(t("auth.sso.signed_in_as", email=escape_markdown(email)))
        if st.button(t("auth.sso.continue", email=email), type="primary", key="sso_continue"):
            verified = st.user.get("email_verified")
            finish(sign_in_with_identity(runtime().engine, email, verified is not False, now()))
        if st.button(t("auth.sso.sign_out"), key="sso_sign_out"):
            st.logout()
        return

    for provider in providers:
        label = t("auth.sso.button_named", provider=provider) if provider else t("auth.sso.button")
        if st.button(label, key=f"sso_{provider or 'default'}"):
            st.login(provider)


def render_demo_buttons() -> None:
    st.subheader(t("auth.demo.title"))
    st.caption(t("auth.demo.help"))
    columns = st.columns(len(DEMO_ROLES))
    for column, role in zip(columns, DEMO_ROLES):
        if column.button(t(f"auth.demo.button.{role.value}"), key=f"demo_{role.value}", use_container_width=True):
            try:
                result = sign_in_demo(runtime().engine, role, now(), demo_mode=runtime().settings.demo)
            except AuthError:
                st.warning(t("auth.demo.not_ready"))
                return
            finish(result)
    st.divider()


def main() -> None:
    ticket = st.session_state.pop(TICKET_KEY, None)
    if ticket:
        st.title(t("auth.sign_in.title"))
        st.success(t("auth.sign_in.redirecting"))
        open_session(ticket)
        return

    st.title(t("auth.sign_in.title"))
    st.caption(t("auth.sign_in.intro"))
    if st.query_params.get("auth_error") == "ticket_invalid":
        st.warning(t("auth.sign_in.ticket_invalid"))

    if runtime().settings.demo:
        render_demo_buttons()
    render_password_form()
    providers = identity_providers()
    if providers:
        render_single_sign_on(providers)


main()
