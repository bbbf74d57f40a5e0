"""The dashboard script: sign-in, sidebar controls and navigation between the pages.

Without a live session only the sign-in page exists in the navigation (or,
on a fresh installation outside demo mode, the first owner's set-up page), so
no other page renders, whatever path the browser requests. The session's
language is settled first: the user's saved choice, else the browser's.
"""

import streamlit as st

from core.auth.accounts import has_users
from core.auth.permissions import Action
from core.auth.sessions import has_temporary_password
from pages._ui import (
    authenticate,
    current_team,
    permission,
    render_account,
    render_language_switch,
    render_team_picker,
    runtime,
    settle_language,
    t,
)


CONNECTION_PAGE = "pages/connection.py"
ACCOUNT_PAGE = "pages/account.py"
# The paths of the team pages, which links and the OAuth callback's redirect (/connection) point to.
TEAM_PAGE_PATHS = (
    "connection",
    "booking-pages",
    "sync-log",
    "account-engagement",
    "routing-log",
    "members",
    "audit",
    "account",
)


def signed_out_pages() -> list[st.Page]:
    """Return the sign-in page (or the first owner's set-up page) as the default page.

    The sign-in page also answers at every team page's path, hidden, so a
    signed-out browser sent to /connection signs in there without Streamlit's
    "Page not found" dialog and returns to the same path afterwards.
    """
    if not runtime().settings.demo and not has_users(runtime().engine):
        return [st.Page("pages/setup.py", title=t("auth.setup.nav"), url_path="setup", default=True)]
    title = t("auth.sign_in.nav")
    return [
        st.Page("pages/sign_in.py", title=title, url_path="sign-in", default=True),
        *(st.Page("pages/sign_in.py", title=title, url_path=path, visibility="hidden") for path in TEAM_PAGE_PATHS),
    ]


def open_connection_page() -> None:
    """Forward the app's root URL to the Connection page, keeping the query string."""
    st.switch_page(CONNECTION_PAGE, query_params=st.query_params.to_dict())


def team_pages() -> list[st.Page]:
    """Return the signed-in user's pages, with a hidden start page at the root URL.

    Streamlit serves the default page at "/" only, never at its own path. A
    hidden start page that forwards to the Connection page is the default, so
    /connection, where the OAuth callback sends the browser, is a real path.
    """
    pages = [
        st.Page(open_connection_page, title=t("nav.connection"), url_path="start", default=True, visibility="hidden"),
        st.Page(CONNECTION_PAGE, title=t("nav.connection"), url_path="connection", icon=":material/link:"),
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
    # Members and Audit answer their URLs for every role, with a notice and an audited refusal
    # inside the page, but only the roles that may use them see them in the sidebar.
    team = current_team()

    def shown_to(action: Action) -> str:
        return "visible" if team is not None and permission(team, action).allowed else "hidden"

    pages.append(
        st.Page(
            "pages/members.py",
            title=t("auth.nav.members"),
            url_path="members",
            icon=":material/group:",
            visibility=shown_to(Action.MANAGE_MEMBERS),
        )
    )
    pages.append(
        st.Page(
            "pages/audit.py",
            title=t("auth.nav.audit"),
            url_path="audit",
            icon=":material/manage_search:",
            visibility=shown_to(Action.VIEW_AUDIT),
        )
    )
    pages.append(st.Page(ACCOUNT_PAGE, title=t("auth.nav.account"), url_path="account", icon=":material/person:"))
    return pages


def show_temporary_password_note(user_id: int) -> None:
    """Ask a user who still has the temporary password of their invitation to change it, on every page."""
    if has_temporary_password(runtime().engine, user_id):
        st.warning(t("auth.account.temporary_password"), icon=":material/key:")
        st.page_link(ACCOUNT_PAGE, label=t("auth.account.temporary_password_link"), icon=":material/arrow_forward:")


user = authenticate()
settle_language(user)
st.set_page_config(page_title=t("common.app_title"), layout="wide")
if user is None:
    render_language_switch()
    st.navigation(signed_out_pages(), position="hidden").run()
else:
    render_account()
    render_team_picker()
    render_language_switch()
    navigation = st.navigation(team_pages())
    if navigation.url_path != "account":
        show_temporary_password_note(user.id)
    navigation.run()
