"""The dashboard script: sidebar controls and navigation between the pages."""

import streamlit as st

from pages._ui import render_language_switch, render_team_picker, t

st.set_page_config(page_title=t("common.app_title"), layout="wide")

render_language_switch()
render_team_picker()

navigation = st.navigation(
    [
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
)
navigation.run()
