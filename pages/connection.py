"""Connection screen: the team's External Client App credentials and the OAuth connection."""

from __future__ import annotations

import html
import re

import streamlit as st

from core.auth.accounts import org_sharing
from core.auth.permissions import Action, PermissionDenied
from core.connection_status import (
    ConnectionSummary,
    disconnect_team,
    read_connection,
    refresh_api_usage,
    start_connection,
    teams_on_same_org,
    teams_with_same_app,
)
from core.salesforce import oauth
from core.salesforce.errors import SalesforceError
from core.secrets import Secret
from core.store.models import ConnectionStatus
from core.teams import TeamView
from pages._ui import (
    current_actor,
    denied_text,
    escape_markdown,
    format_time,
    next_step,
    now,
    permission,
    denial_reason,
    require_team,
    runtime,
    show_localized_error,
    show_read_only,
    show_salesforce_error,
    t,
)

PRODUCTION = "production"
SANDBOX = "sandbox"
MY_DOMAIN = "my_domain"
DEMO = "demo"

FLASH_KEY = "connection_flash"
AUTHORIZE_URL_KEY = "connection_authorize_url"
CONFIRM_DISCONNECT_KEY = "connection_confirm_disconnect"
CONFIRM_SHARED_APP_KEY = "connection_confirm_shared_app"
USAGE_ERROR_KEY = "connection_usage_error"
# The token endpoint's code for a refresh token Salesforce no longer accepts.
INVALID_GRANT = "invalid_grant"
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
    if summary is not None and summary.is_connected:
        st.caption(
            t(
                "connection.oauth_failed_unchanged",
                org_id=summary.org_id or "-",
                username=escape_markdown(summary.username or "-"),
            )
        )
    params = {
        "callback_url": runtime().settings.callback_url,
        "login_url": summary.login_url if summary else "",
    }
    st.info(next_step(oauth.callback_error_key(code), params))


def team_names(teams: list[tuple[int, str]]) -> str:
    return ", ".join(escape_markdown(name) for _, name in teams)


def render_status(summary: ConnectionSummary) -> None:
    """Show the connected org, API usage, the teams sharing the org and the status with its reason."""
    sharing = teams_on_same_org(runtime().engine, summary.team_id)
    if summary.status == ConnectionStatus.CONNECTED:
        st.success(t("connection.status.connected"))
    elif summary.status == ConnectionStatus.NEEDS_RECONNECT:
        st.warning(t("connection.status.needs_reconnect", code=summary.last_error_code or "-"))
        if summary.last_error_code:
            params = {"callback_url": runtime().settings.callback_url, "login_url": summary.login_url}
            st.info(next_step(oauth.callback_error_key(summary.last_error_code), params))
        else:
            st.info(t("connection.status.reconnect_hint"))
        if summary.last_error_code == INVALID_GRANT and sharing:
            st.info(t("auth.connection.maybe_revoked", teams=team_names(sharing)))
    else:
        st.info(t("connection.status.disconnected"))
        return

    if sharing:
        st.caption(t("auth.connection.shared_org", org_id=summary.org_id or "-", teams=team_names(sharing)))
    if summary.status == ConnectionStatus.CONNECTED:
        render_token_limit(summary)

    left, right = st.columns(2)
    left.markdown(f"**{t('connection.org_id')}**  \n`{summary.org_id or '-'}`")
    left.markdown(f"**{t('connection.username')}**  \n{summary.username or '-'}")
    right.markdown(f"**{t('connection.instance_url')}**  \n{summary.instance_url or '-'}")
    right.markdown(f"**{t('connection.api_version')}**  \n{summary.api_version}")
    if summary.connected_at:
        st.caption(t("connection.connected_at", time=format_time(summary.connected_at)))

    render_api_usage(summary)


def render_token_limit(summary: ConnectionSummary) -> None:
    """Warn when the teams using this Salesforce user and app have reached Salesforce's refresh token limit."""
    sharing = org_sharing(runtime().engine, summary.team_id)
    if sharing.same_user_and_app > 1 and sharing.at_limit:
        st.warning(
            t("auth_core.org_sharing.refresh_token_limit", count=sharing.same_user_and_app, limit=sharing.limit)
        )


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

    # The check runs in the button's callback, before the script, so a refresh that
    # fails and marks the connection needs_reconnect shows in the status above at once.
    st.button(t("connection.api_usage_check"), key="check_usage", on_click=check_api_usage, args=(summary.team_id,))
    error = st.session_state.pop(USAGE_ERROR_KEY, None)
    if error is not None:
        show_salesforce_error(error)


def check_api_usage(team_id: int) -> None:
    """Read the org's API usage now; keep a failure for the run that follows."""
    try:
        refresh_api_usage(runtime().engine, runtime().box, team_id, now())
    except SalesforceError as exc:
        st.session_state[USAGE_ERROR_KEY] = exc


def render_disconnect(team: TeamView, denied_reason: str | None) -> None:
    """Show Disconnect, with a confirmation step before the tokens are revoked.

    denied_reason, when set, is why the user may not disconnect; the button is then off.
    """
    disabled = denied_reason is not None
    if disabled or not st.session_state.get(CONFIRM_DISCONNECT_KEY):
        if st.button(t("connection.disconnect"), key="disconnect", disabled=disabled, help=denied_reason):
            st.session_state[CONFIRM_DISCONNECT_KEY] = True
            st.rerun()
        return

    st.warning(t("connection.disconnect_confirm"))
    yes, no = st.columns(2)
    if yes.button(t("connection.disconnect_yes"), type="primary", key="disconnect_yes"):
        st.session_state[CONFIRM_DISCONNECT_KEY] = False
        try:
            disconnect_team(runtime().engine, runtime().box, team.id, now(), actor=current_actor())
        except PermissionDenied as exc:
            st.error(denied_text(exc))
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


def render_credentials(team: TeamView, summary: ConnectionSummary | None, denied_reason: str | None) -> None:
    """Show the login environment, Consumer Key and Secret, and the Connect button.

    denied_reason, when set, is why the user may not change them; the controls are then off.
    """
    disabled = denied_reason is not None
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
        disabled=disabled,
    )

    my_domain = ""
    if option == MY_DOMAIN:
        my_domain = st.text_input(
            t("connection.my_domain"),
            value=summary.login_url if summary and stored == MY_DOMAIN else "",
            placeholder="https://example.my.salesforce.com",
            help=t("connection.my_domain_help"),
            disabled=disabled,
        )
    if option == DEMO:
        render_demo_credentials_hint()

    consumer_key = st.text_input(
        t("connection.consumer_key"),
        value=summary.consumer_key if summary else "",
        key="consumer_key",
        disabled=disabled,
    )
    has_secret = summary is not None and summary.has_consumer_secret
    consumer_secret = st.text_input(
        t("connection.consumer_secret"),
        type="password",
        key="consumer_secret",
        disabled=disabled,
    )
    if has_secret:
        st.caption(t("connection.consumer_secret_kept"))

    st.markdown(f"**{t('connection.callback_url')}**")
    st.code(settings.callback_url, language=None)
    st.caption(t("connection.callback_url_help"))

    confirmed = confirm_shared_app(team, option, my_domain, consumer_key, disabled)
    connect_clicked = st.button(
        t("connection.connect"), type="primary", key="connect", disabled=disabled or not confirmed, help=denied_reason
    )
    if denied_reason is not None:
        st.caption(denied_reason)
    if connect_clicked:
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


def confirm_shared_app(team: TeamView, option: str, my_domain: str, consumer_key: str, disabled: bool) -> bool:
    """Warn when other teams hold refresh tokens of the same app and login URL; return whether to allow Connect.

    Connecting with the same Salesforce user can make Salesforce revoke
    another team's refresh token, so the user confirms first.
    """
    if disabled or not consumer_key.strip():
        return True
    try:
        login_url = login_url_for(option, my_domain)
    except oauth.LoginUrlError:
        return True
    others = teams_with_same_app(runtime().engine, team.id, login_url, consumer_key)
    if not others:
        return True
    st.warning(t("auth.connection.same_app_warning", teams=team_names(others)))
    return st.checkbox(t("auth.connection.same_app_confirm"), key=CONFIRM_SHARED_APP_KEY)


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
    """Start the authorization with the entered credentials and remember the authorize URL.

    The credentials are saved only when the authorization completes; a blank
    Consumer Secret means the saved one.
    """
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
        show_localized_error(exc)
        return

    engine, box, settings = runtime().engine, runtime().box, runtime().settings
    # The pending authorization keeps these until Salesforce accepts them, so the saved ones stay in use.
    credentials = oauth.ClientCredentials(login_url, consumer_key, Secret(consumer_secret) if consumer_secret else None)
    try:
        authorize_url = start_connection(
            engine, box, team.id, settings.callback_url, now(), actor=current_actor(), credentials=credentials
        )
    except PermissionDenied as exc:
        st.error(denied_text(exc))
        return
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
    decision = permission(team, Action.MANAGE_CONNECTION)
    show_read_only(team, decision)
    denied_reason = denial_reason(decision)

    if summary is not None and summary.status != ConnectionStatus.DISCONNECTED:
        render_status(summary)
        render_disconnect(team, denied_reason)
        st.divider()
        st.subheader(t("connection.reconnect"))
    else:
        st.subheader(t("connection.setup"))
    render_credentials(team, summary, denied_reason)
    render_setup_help()


main()
