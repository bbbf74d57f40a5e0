"""Connection screen: the team's External Client App credentials and the OAuth connection."""

from __future__ import annotations

import html
import re

import streamlit as st

from core.connection_status import ConnectionSummary, read_connection, refresh_api_usage, update_credentials
from core.salesforce import oauth
from core.salesforce.errors import SalesforceError
from core.store.models import ConnectionStatus
from core.teams import TeamView
from pages._ui import format_time, next_step, now, require_team, runtime, show_salesforce_error, t

PRODUCTION = "production"
SANDBOX = "sandbox"
MY_DOMAIN = "my_domain"
DEMO = "demo"

FLASH_KEY = "connection_flash"
AUTHORIZE_URL_KEY = "connection_authorize_url"
CONFIRM_DISCONNECT_KEY = "connection_confirm_disconnect"
OAUTH_ERROR_CODE = re.compile(r"[a-z_]{1,64}")


def environment_options() -> list[str]:
    options = [PRODUCTION, SANDBOX, MY_DOMAIN]
    if runtime().settings.demo:
        options.append(DEMO)
    return options


def environment_of(login_url: str | None) -> str:
    """Return the environment option a stored login URL belongs to."""
    if login_url is None:
        return DEMO if runtime().settings.demo else PRODUCTION
    if login_url == oauth.LOGIN_PRODUCTION:
        return PRODUCTION
    if login_url == oauth.LOGIN_SANDBOX:
        return SANDBOX
    if runtime().settings.demo and login_url == runtime().settings.demo_org_url:
        return DEMO
    return MY_DOMAIN


def show_flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(t(flash))


def show_oauth_outcome(summary: ConnectionSummary | None) -> None:
    """Show the result the OAuth callback reported through the query string."""
    if st.query_params.get("oauth") == "ok" and summary is not None and summary.is_connected:
        st.success(t("connection.oauth_ok", org_id=summary.org_id or "", username=summary.username or ""))

    code = st.query_params.get("oauth_error")
    if not code:
        return
    # Anyone can put text in a link's query string, and st.error renders Markdown.
    if not OAUTH_ERROR_CODE.fullmatch(code):
        code = "invalid_request"
    st.error(t("connection.oauth_failed", code=code))
    params = {
        "callback_url": runtime().settings.callback_url,
        "login_url": summary.login_url if summary else "",
    }
    st.info(next_step(oauth.callback_error_key(code), params))


def render_status(summary: ConnectionSummary) -> None:
    """Show the connected org, API usage and the status with its reason."""
    if summary.status == ConnectionStatus.CONNECTED:
        st.success(t("connection.status.connected"))
    elif summary.status == ConnectionStatus.NEEDS_RECONNECT:
        st.warning(t("connection.status.needs_reconnect", code=summary.last_error_code or "-"))
        if summary.last_error_code:
            params = {"callback_url": runtime().settings.callback_url, "login_url": summary.login_url}
            st.info(next_step(oauth.callback_error_key(summary.last_error_code), params))
        else:
            st.info(t("connection.status.reconnect_hint"))
    else:
        st.info(t("connection.status.disconnected"))
        return

    left, right = st.columns(2)
    left.markdown(f"**{t('connection.org_id')}**  \n`{summary.org_id or '-'}`")
    left.markdown(f"**{t('connection.username')}**  \n{summary.username or '-'}")
    right.markdown(f"**{t('connection.instance_url')}**  \n{summary.instance_url or '-'}")
    right.markdown(f"**{t('connection.api_version')}**  \n{summary.api_version}")
    if summary.connected_at:
        st.caption(t("connection.connected_at", time=format_time(summary.connected_at)))

    render_api_usage(summary)


def render_api_usage(summary: ConnectionSummary) -> None:
    st.markdown(f"**{t('connection.api_usage')}**")
    if summary.api_usage_max:
        used = summary.api_usage_used or 0
        share = min(used / summary.api_usage_max, 1.0)
        st.progress(
            share,
            text=t("connection.api_usage_value", used=f"{used:,}", max=f"{summary.api_usage_max:,}"),
        )
        st.caption(t("connection.api_usage_at", time=format_time(summary.api_usage_at)))
    else:
        st.caption(t("connection.api_usage_unknown"))

    if st.button(t("connection.api_usage_check"), key="check_usage"):
        try:
            refresh_api_usage(runtime().engine, runtime().box, summary.team_id, now())
        except SalesforceError as exc:
            show_salesforce_error(exc)
        else:
            st.rerun()


def render_disconnect(team: TeamView) -> None:
    """Show Disconnect, with a confirmation step before the tokens are revoked."""
    if not st.session_state.get(CONFIRM_DISCONNECT_KEY):
        if st.button(t("connection.disconnect"), key="disconnect"):
            st.session_state[CONFIRM_DISCONNECT_KEY] = True
            st.rerun()
        return

    st.warning(t("connection.disconnect_confirm"))
    yes, no = st.columns(2)
    if yes.button(t("connection.disconnect_yes"), type="primary", key="disconnect_yes"):
        st.session_state[CONFIRM_DISCONNECT_KEY] = False
        try:
            oauth.disconnect(runtime().engine, runtime().box, team.id)
        except SalesforceError as exc:
            show_salesforce_error(exc)
        else:
            st.session_state[FLASH_KEY] = "connection.disconnected"
            st.rerun()
    if no.button(t("common.cancel"), key="disconnect_no"):
        st.session_state[CONFIRM_DISCONNECT_KEY] = False
        st.rerun()


def environment_label(option: str) -> str:
    urls = {
        PRODUCTION: oauth.LOGIN_PRODUCTION,
        SANDBOX: oauth.LOGIN_SANDBOX,
        DEMO: runtime().settings.demo_org_url,
    }
    label = t(f"connection.environment.{option}")
    return f"{label} ({urls[option]})" if option in urls else label


def login_url_for(option: str, my_domain: str) -> str:
    """Return the login URL of the chosen environment.

    Raises LoginUrlError (a ValueError) when the My Domain URL is invalid.
    """
    if option == PRODUCTION:
        return oauth.LOGIN_PRODUCTION
    if option == SANDBOX:
        return oauth.LOGIN_SANDBOX
    if option == DEMO:
        return runtime().settings.demo_org_url
    return oauth.normalize_login_url(my_domain)


def render_credentials(team: TeamView, summary: ConnectionSummary | None) -> None:
    """Show the login environment, Consumer Key and Secret, and the Connect button."""
    settings = runtime().settings
    options = environment_options()
    stored = environment_of(summary.login_url if summary else None)
    labels = {option: environment_label(option) for option in options}
    option = st.radio(
        t("connection.environment_label"),
        options,
        index=options.index(stored) if stored in options else 0,
        format_func=labels.__getitem__,
        key="environment",
    )

    my_domain = ""
    if option == MY_DOMAIN:
        my_domain = st.text_input(
            t("connection.my_domain"),
            value=summary.login_url if summary and stored == MY_DOMAIN else "",
            placeholder="https://example.my.salesforce.com",
            help=t("connection.my_domain_help"),
        )
    if option == DEMO:
        render_demo_credentials_hint()

    consumer_key = st.text_input(
        t("connection.consumer_key"), value=summary.consumer_key if summary else "", key="consumer_key"
    )
    has_secret = summary is not None and summary.has_consumer_secret
    consumer_secret = st.text_input(
        t("connection.consumer_secret"),
        type="password",
        key="consumer_secret",
    )
    if has_secret:
        st.caption(t("connection.consumer_secret_kept"))

    st.markdown(f"**{t('connection.callback_url')}**")
    st.code(settings.callback_url, language=None)
    st.caption(t("connection.callback_url_help"))

    if st.button(t("connection.connect"), type="primary", key="connect"):
        connect(team, option, my_domain, consumer_key, consumer_secret, has_secret)

    authorize_url = st.session_state.get(AUTHORIZE_URL_KEY)
    if authorize_url:
        # An anchor with target="_self" keeps the OAuth round trip in this tab, so the
        # callback's redirect lands back on this page.
        st.markdown(
            f'<a href="{html.escape(authorize_url, quote=True)}" target="_self">'
            f"{html.escape(t('connection.continue_to_salesforce'))}</a>",
            unsafe_allow_html=True,
        )
        st.caption(t("connection.continue_help"))


def render_demo_credentials_hint() -> None:
    from core.demo_org import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

    st.info(t("connection.demo_hint"))
    st.code(f"{DEMO_CONSUMER_KEY}\n{DEMO_CONSUMER_SECRET}", language=None)


def connect(
    team: TeamView,
    option: str,
    my_domain: str,
    consumer_key: str,
    consumer_secret: str,
    has_secret: bool,
) -> None:
    """Save the credentials, start the authorization and remember the authorize URL."""
    st.session_state.pop(AUTHORIZE_URL_KEY, None)
    consumer_key = consumer_key.strip()
    consumer_secret = consumer_secret.strip()
    if not consumer_key:
        st.error(t("connection.error.consumer_key"))
        return
    if not consumer_secret and not has_secret:
        st.error(t("connection.error.consumer_secret"))
        return

    try:
        login_url = login_url_for(option, my_domain)
    except oauth.LoginUrlError as exc:
        st.error(t(exc.key, **exc.params))
        return

    engine, box, settings = runtime().engine, runtime().box, runtime().settings
    try:
        update_credentials(engine, box, team.id, login_url, consumer_key, consumer_secret)
        authorize_url = oauth.start_authorization(engine, box, team.id, settings.callback_url, now())
    except ValueError:
        st.error(t("connection.error.consumer_secret"))
        return
    except SalesforceError as exc:
        show_salesforce_error(exc, callback_url=settings.callback_url)
        return

    for name in ("oauth", "oauth_error"):
        st.query_params.pop(name, None)
    st.session_state[AUTHORIZE_URL_KEY] = authorize_url


def render_setup_help() -> None:
    with st.expander(t("connection.howto.title")):
        st.markdown(t("connection.howto.steps", callback_url=runtime().settings.callback_url))


def main() -> None:
    team = require_team()
    st.title(t("connection.title"))
    st.caption(t("connection.intro", team=team.name))

    summary = read_connection(runtime().engine, team.id)
    show_flash()
    show_oauth_outcome(summary)

    if summary is not None and summary.status != ConnectionStatus.DISCONNECTED:
        render_status(summary)
        render_disconnect(team)
        st.divider()
        st.subheader(t("connection.reconnect"))
    else:
        st.subheader(t("connection.setup"))
    render_credentials(team, summary)
    render_setup_help()


main()
