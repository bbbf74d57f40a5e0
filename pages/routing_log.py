"""Routing log screen: which booking page each form visitor was sent to."""

import streamlit as st

from pages._ui import t

st.title(t("nav.routing_log"))
