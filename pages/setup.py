"""First start outside demo mode: create the first owner's account and team, then sign in."""

from __future__ import annotations

import streamlit as st

from core.auth.accounts import create_first_owner
from core.auth.errors import AuthError
from core.auth.members import first_owner_errors, suggest_team_slug
from core.auth.passwords import MIN_PASSWORD_LENGTH
from core.auth.sessions import create_ticket
from core.teams import TeamSettingError
from pages._ui import escape_markdown, localized_text, now, open_session, runtime, show_localized_error, t


def form_errors(values: dict[str, str], repeated: str) -> list[str]:
    """Return the messages of every invalid value, with the password mismatch after the password's own problem."""
    errors = first_owner_errors(
        values["email"], values["name"], values["password"], values["team_name"], values["team_slug"]
    )
    messages = [localized_text(error) for error in errors]
    if values["password"] != repeated:
        # After the name, email and password problems, before the team's.
        team_problems = sum(1 for error in errors if isinstance(error, TeamSettingError))
        messages.insert(len(messages) - team_problems, t("auth.setup.password_mismatch"))
    return messages


def main() -> None:
    st.title(t("auth.setup.title"))
    st.caption(t("auth.setup.intro"))
    form_area = st.empty()
    with form_area.form("first_owner"):
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
        team_slug = st.text_input(t("nav.team.slug"), key="setup_team_slug", help=t("auth.setup.slug_help"))
        submitted = st.form_submit_button(t("auth.setup.submit"), type="primary")
    if not submitted:
        return

    values = {
        "name": name,
        "email": email,
        "password": password,
        "team_name": team_name,
        "team_slug": team_slug.strip() or suggest_team_slug(team_name),
    }
    errors = form_errors(values, repeated)
    if len(errors) == 1:
        st.error(errors[0])
        return
    if errors:
        st.error("\n".join(f"- {message}" for message in errors))
        return

    try:
        created = create_first_owner(
            runtime().engine, email, name, password, team_name, values["team_slug"], now()
        )
    except (AuthError, TeamSettingError) as exc:
        show_localized_error(exc)
        return

    # Signs in within this run: after a rerun the navigation no longer has this
    # page, because an owner exists, and the browser lands on the sign-in page.
    form_area.empty()
    st.success(
        t(
            "auth.setup.done",
            email=created.user.email,
            team=escape_markdown(created.team.name),
            slug=created.team.slug,
        )
    )
    open_session(create_ticket(runtime().engine, created.user.id, now()))


main()
