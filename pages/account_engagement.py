"""Account Engagement screen: business unit connection, forms and routing rules."""

import streamlit as st

from pages._ui import t

st.title(t("nav.account_engagement"))
