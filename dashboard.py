"""The dashboard script: sign-in, sidebar controls and navigation between the pages.

Without a live session only the sign-in page exists in the navigation (or,
on a fresh installation outside demo mode, the first owner's set-up page), so
no other page renders, whatever path the browser requests.
"""

import streamlit as st

from core.auth.accounts import has_users
from core.auth.permissions import Action
from pages._ui import (
    authenticate,
    current_team,
    permission,
    render_account,
    render_language_switch,
    render_team_picker,
    runtime,
    t,
)

st.set_page_config(page_title=t("common.app_title"), layout="wide")


def signed_out_pages() -> list[st.Page]:
    if not runtime().settings.demo and not has_users(runtime().engine):
        return [st.Page("pages/setup.py", title=t("auth.setup.nav"), url_path="setup", default=True)]
    return [st.Page("pages/sign_in.py", title=t("auth.sign_in.nav"), url_path="sign-in", default=True)]


def team_pages() -> list[st.Page]:
    pages = [
        st.Page("pages/connection.py", title=t("nav.connection"), url_path="connection", icon=":material/link:"),
        st.Page(
            "pages/booking_pages.py",
            title=t("nav.booking_pages"),
            url_path="booking-pages",
            icon=":material/event:",
        ),
        st.Page("pages/sync_log.py", title=t("nav.sync_log"), url_path="sync-log", icon=":material/history:"),
        st.Page(
            "pages/account_engagement.py",
            title=t("nav.account_engagement"),
            url_path="account-engagement",
            icon=":material/alt_route:",
        ),
        st.Page(
            "pages/routing_log.py",
            title=t("nav.routing_log"),
            url_path="routing-log",
            icon=":material/route:",
        ),
    ]
    team = current_team()
    if team is not None and permission(team, Action.MANAGE_MEMBERS).allowed:
        pages.append(
            st.Page("pages/members.py", title=t("auth.nav.members"), url_path="members", icon=":material/group:")
        )
    if team is not None and permission(team, Action.VIEW_AUDIT).allowed:
        pages.append(
            st.Page("pages/audit.py", title=t("auth.nav.audit"), url_path="audit", icon=":material/manage_search:")
        )
    return pages


user = authenticate()
if user is None:
    render_language_switch()
    st.navigation(signed_out_pages(), position="hidden").run()
else:
    render_account()
    render_team_picker()
    render_language_switch()
    st.navigation(team_pages()).run()
