"""The OAuth 2.0 web-server flow with PKCE against a team's External Client App.

The flow leaves the Streamlit session (the browser goes to Salesforce and comes
back to /oauth/salesforce/callback), so ``state``, the PKCE code_verifier and
the credentials being tried are kept server-side in OAuthState: the verifier
and the Consumer Secret encrypted, valid for 10 minutes, usable once. The
credentials reach the team's connection only when the token exchange succeeds.

Scopes requested by default: ``api refresh_token``; callers add ``pardot_api``
for Account Engagement. The External Client App must allow the OAuth scopes
"Manage user data via APIs (api)" and "Perform requests at any time
(refresh_token, offline_access)". Without the second, Salesforce issues no
refresh token, so the connection would end with the first access token.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from requests_oauthlib import OAuth2Session
from sqlalchemy import Engine, delete
from sqlmodel import Session, select

from core.auth.audit import Actor, record_audit
from core.auth.permissions import Action, require
from core.i18n import LocalizedValueError
from core.salesforce import errors
from core.salesforce.client import DEFAULT_API_VERSION, SalesforceClient
from core.salesforce.errors import OAuthError, SalesforceError, TransportError, error_from_response
from core.secrets import Secret, SecretBox, SecretDecryptionError
from core.store.db import session_scope
from core.store.models import ConnectionStatus, OAuthState, SalesforceConnection

logger = logging.getLogger(__name__)

# Both libraries log request bodies and token responses at DEBUG, tokens included.
logging.getLogger("requests_oauthlib").setLevel(logging.WARNING)
logging.getLogger("oauthlib").setLevel(logging.WARNING)

LOGIN_PRODUCTION = "https://login.salesforce.com"
LOGIN_SANDBOX = "https://test.salesforce.com"

OAUTH_SCOPES = ("api", "refresh_token")
STATE_LIFETIME = timedelta(minutes=10)
TOKEN_PATH = "/services/oauth2/token"
AUTHORIZE_PATH = "/services/oauth2/authorize"
REVOKE_PATH = "/services/oauth2/revoke"
TIMEOUT_SECONDS = 30.0

# RFC 7636 allows 43 to 128 characters.
_CODE_VERIFIER_LENGTH = 64
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")
_SCOPE = re.compile(r"[a-z_]{1,64}")
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_MY_DOMAIN = re.compile(
    r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:--[a-z0-9]+\.sandbox|\.develop|\.scratch)?\.my\.salesforce\.com"
)
_LIGHTNING_DOMAIN = re.compile(r"(?P<name>[a-z0-9-]+(?:--[a-z0-9]+)?)(?P<sandbox>\.sandbox)?\.lightning\.force\.com")


class LoginUrlError(LocalizedValueError):
    """A login URL is not one Salesforce serves logins on; the message is in catalog oauth.toml."""


@dataclass(frozen=True)
class TokenResponse:
    """The fields of a token endpoint response that the console keeps."""

    access_token: Secret
    refresh_token: Secret | None
    instance_url: str | None
    identity_url: str | None
    issued_at: datetime | None
    # The granted scopes, space-separated, such as "api refresh_token pardot_api".
    scope: str | None = None


@dataclass(frozen=True)
class ClientCredentials:
    """An External Client App's login URL, Consumer Key and Consumer Secret.

    consumer_secret None stands for the secret saved on the team's connection.
    """

    login_url: str
    consumer_key: str
    consumer_secret: Secret | None = None


def normalize_login_url(raw: str, extra_allowed: Sequence[str] = ()) -> str:
    """Return the https origin of a Salesforce login URL, without path or trailing slash.

    Accepts login.salesforce.com, test.salesforce.com and My Domain hosts such
    as acme.my.salesforce.com or acme--uat.sandbox.my.salesforce.com, and any URL
    in extra_allowed exactly (the built-in demo org).

    Raises LoginUrlError (a ValueError) saying what is wrong, with an example.
    """
    text = raw.strip()
    if not text:
        raise LoginUrlError(
            "the login URL is empty: enter https://login.salesforce.com, https://test.salesforce.com "
            "or your My Domain URL such as https://acme.my.salesforce.com",
            message_key="oauth.login_url.empty",
        )

    for extra in extra_allowed:
        if text.rstrip("/") == extra.rstrip("/"):
            return extra.rstrip("/")

    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()

    if parts.scheme != "https":
        raise LoginUrlError(
            f"the login URL {raw!r} does not use https: Salesforce serves logins on https only, "
            "for example https://acme.my.salesforce.com",
            message_key="oauth.login_url.not_https",
            url=raw,
        )

    lightning = _LIGHTNING_DOMAIN.fullmatch(host)
    if lightning:
        suggestion = f"https://{lightning['name']}{lightning['sandbox'] or ''}.my.salesforce.com"
        raise LoginUrlError(
            f"{host} is the Lightning Experience address, not a login URL: use {suggestion}",
            message_key="oauth.login_url.lightning",
            url=raw,
            suggestion=suggestion,
        )

    allowed = host in {"login.salesforce.com", "test.salesforce.com"} or _MY_DOMAIN.fullmatch(host)
    if not allowed or parts.port is not None or parts.username or parts.password:
        raise LoginUrlError(
            f"the login URL {raw!r} is not a Salesforce login host: use https://login.salesforce.com, "
            "https://test.salesforce.com or a My Domain URL such as https://acme.my.salesforce.com",
            message_key="oauth.login_url.unknown_host",
            url=raw,
        )
    return f"https://{host}"


def save_credentials(
    engine: Engine,
    box: SecretBox,
    team_id: int,
    login_url: str,
    consumer_key: str,
    consumer_secret: str,
) -> None:
    """Create or update the team's connection with its External Client App credentials.

    login_url must come from normalize_login_url. The consumer secret is stored
    encrypted. Changing the login URL or the consumer key drops the stored
    tokens, because they belong to the old app or org.
    """
    consumer_key = consumer_key.strip()
    if not consumer_key or not consumer_secret.strip():
        raise ValueError("the Consumer Key and the Consumer Secret are both required")

    with session_scope(engine) as session:
        connection = session.exec(
            select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)
        ).first()
        if connection is None:
            connection = SalesforceConnection(
                team_id=team_id, login_url=login_url, consumer_key=consumer_key, consumer_secret_enc=""
            )
        elif connection.login_url != login_url or connection.consumer_key != consumer_key:
            _clear_tokens(connection)

        connection.login_url = login_url
        connection.consumer_key = consumer_key
        connection.consumer_secret_enc = box.encrypt(consumer_secret.strip())
        session.add(connection)
    logger.info("saved External Client App credentials for team %s", team_id)


def start_authorization(
    engine: Engine,
    box: SecretBox,
    team_id: int,
    redirect_uri: str,
    now: datetime,
    *,
    scopes: Sequence[str] = OAUTH_SCOPES,
    actor: Actor | None = None,
    credentials: ClientCredentials | None = None,
) -> str:
    """Store a new pending authorization and return the authorize URL to open.

    scopes are the OAuth scopes to request, such as ("api", "refresh_token",
    "pardot_api"); they are stored with the pending authorization. Also deletes
    pending authorizations of any team that have expired. actor, when given,
    is the console user who alone may complete it; None stands for the system
    (demo seeding), whose authorization any callback completes.

    credentials, when given, are new External Client App credentials to try
    (their login URL must come from normalize_login_url). They are kept with
    the pending authorization and reach the connection only when the token
    exchange succeeds, so the saved credentials and tokens stay in use until
    then. Without them the saved credentials are used.

    Raises OAuthError (credentials_missing) when no credentials are given or
    saved, and ValueError for a blank Consumer Key, a missing Consumer Secret
    or a scope that is not a lower-case scope name.
    """
    scope = _join_scopes(scopes)
    login_url, consumer_key, consumer_secret_enc = _credentials_to_try(engine, box, team_id, credentials)
    oauth_client = WebApplicationClient(consumer_key)
    code_verifier = oauth_client.create_code_verifier(_CODE_VERIFIER_LENGTH)
    code_challenge = oauth_client.create_code_challenge(code_verifier, "S256")
    state = secrets.token_urlsafe(32)

    _permit_loopback_http(login_url)
    session = OAuth2Session(client=oauth_client, redirect_uri=redirect_uri, scope=scope.split())
    authorize_url, _ = session.authorization_url(
        login_url + AUTHORIZE_PATH,
        state=state,
        code_challenge=code_challenge,
        code_challenge_method="S256",
    )

    with session_scope(engine) as db:
        db.exec(delete(OAuthState).where(OAuthState.expires_at <= now))
        db.add(
            OAuthState(
                state=state,
                team_id=team_id,
                code_verifier_enc=box.encrypt(code_verifier),
                login_url=login_url,
                consumer_key=consumer_key,
                consumer_secret_enc=consumer_secret_enc,
                redirect_uri=redirect_uri,
                scope=scope,
                user_id=actor.user_id if actor is not None else None,
                expires_at=now + STATE_LIFETIME,
            )
        )
    logger.info("started Salesforce authorization for team %s", team_id)
    return authorize_url


def complete_authorization(
    engine: Engine,
    box: SecretBox,
    state: str,
    code: str,
    now: datetime,
    http: requests.Session | None = None,
    *,
    actor: Actor | None = None,
) -> SalesforceConnection:
    """Exchange the authorization code, read the user's identity and API usage, and store the connection.

    The pending authorization is deleted first, so a state works once even
    when the exchange fails. On success the credentials the authorization
    started with, the tokens (encrypted) and the identity replace the stored
    ones, creating the connection on a first connect. On any failure the
    stored connection stays exactly as it was.

    Raises OAuthError with error_code state_invalid, state_expired,
    refresh_token_missing or the token endpoint's error (invalid_client_id,
    invalid_client, redirect_uri_mismatch, invalid_grant, ...),
    ApiDisabledError when the org has no API access, TransportError or
    ServerUnavailableError when Salesforce cannot be reached.
    """
    pending = _consume_state(engine, state, now)
    _check_state_user(engine, pending, actor, now)
    credentials = _pending_credentials(engine, box, pending)
    code_verifier = box.decrypt(pending.code_verifier_enc)

    try:
        token = _exchange_code(credentials, code_verifier, pending.redirect_uri, code, http)
    except OAuthError as exc:
        exc.next_step_params.update(callback_url=pending.redirect_uri, login_url=credentials.login_url)
        raise

    try:
        client = SalesforceClient(token.instance_url, token.access_token, http=http)
        identity = client.request("GET", token.identity_url)
        daily = client.limits().get("DailyApiRequests", {})
    except SalesforceError as exc:
        logger.warning(
            "authorization for team %s succeeded but the first API calls failed (%s); revoking the new token",
            pending.team_id,
            exc.error_code or type(exc).__name__,
        )
        _revoke_quietly(credentials.login_url, token.refresh_token or token.access_token, http)
        raise

    stored, replaced = _store_connection(engine, box, pending.team_id, credentials, token, identity, daily, actor, now)
    logger.info(
        "connected team %s to org %s as user %s (token issued at %s)",
        pending.team_id,
        stored.org_id,
        stored.user_id,
        token.issued_at.isoformat() if token.issued_at else "unknown",
    )

    # A reconnect replaces the old authorization, so end it instead of leaving it valid at Salesforce.
    if replaced is not None:
        _revoke_quietly(replaced.login_url, replaced.refresh_token, http)
    return stored


@dataclass(frozen=True)
class _ReplacedAuthorization:
    """A refresh token that a new authorization replaced, with the login URL that issued it."""

    login_url: str
    refresh_token: Secret


def _store_connection(
    engine: Engine,
    box: SecretBox,
    team_id: int,
    credentials: ClientCredentials,
    token: TokenResponse,
    identity: dict[str, Any],
    daily: dict[str, Any],
    actor: Actor | None,
    now: datetime,
) -> tuple[SalesforceConnection, _ReplacedAuthorization | None]:
    """Write a completed authorization to the team's connection in one transaction.

    Returns the stored connection and the refresh token it replaced, if any,
    with the login URL that issued it.
    """
    with session_scope(engine) as session:
        stored = session.exec(select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)).first()
        if stored is None:
            stored = SalesforceConnection(
                team_id=team_id, login_url=credentials.login_url, consumer_key="", consumer_secret_enc=""
            )
        replaced = (
            _ReplacedAuthorization(stored.login_url, box.decrypt(stored.refresh_token_enc))
            if stored.refresh_token_enc
            else None
        )
        _apply_credentials(session, stored, box, credentials, actor, now)

        stored.access_token_enc = box.encrypt(token.access_token)
        stored.refresh_token_enc = box.encrypt(token.refresh_token)
        stored.instance_url = token.instance_url
        stored.org_id = identity["organization_id"]
        stored.user_id = identity["user_id"]
        stored.username = identity["username"]
        stored.api_version = DEFAULT_API_VERSION
        stored.scope = token.scope
        stored.status = ConnectionStatus.CONNECTED
        stored.connected_at = now
        stored.last_error_code = None
        if "Max" in daily and "Remaining" in daily:
            stored.api_usage_max = int(daily["Max"])
            stored.api_usage_used = int(daily["Max"]) - int(daily["Remaining"])
            stored.api_usage_at = now
        session.add(stored)
        session.flush()
        _audit_connected(session, stored, actor, now)
    return stored, replaced


def _apply_credentials(
    session: Session,
    stored: SalesforceConnection,
    box: SecretBox,
    credentials: ClientCredentials,
    actor: Actor | None,
    now: datetime,
) -> None:
    """Put the authorization's credentials on the connection and audit what changed."""
    before = {"login_url": stored.login_url, "consumer_key": stored.consumer_key} if stored.consumer_key else {}
    after = {"login_url": credentials.login_url, "consumer_key": credentials.consumer_key}
    changed = [name for name, value in after.items() if before.get(name) != value]
    secret_replaced = _saved_secret(box, stored) != credentials.consumer_secret.reveal()

    stored.login_url = credentials.login_url
    stored.consumer_key = credentials.consumer_key
    stored.consumer_secret_enc = box.encrypt(credentials.consumer_secret)
    if not changed and not secret_replaced:
        return
    record_audit(
        session,
        actor=actor or Actor.system(),
        action="salesforce.credentials_saved",
        now=now,
        team_id=stored.team_id,
        target="Salesforce credentials",
        before={name: before.get(name) for name in changed} or None,
        after={name: after[name] for name in changed} | ({"consumer_secret": "replaced"} if secret_replaced else {}),
    )


def _saved_secret(box: SecretBox, stored: SalesforceConnection) -> str | None:
    """Return the connection's saved Consumer Secret, or None when none is saved or it cannot be decrypted."""
    if not stored.consumer_secret_enc:
        return None
    try:
        return box.decrypt(stored.consumer_secret_enc).reveal()
    except SecretDecryptionError:
        return None


def _check_state_user(engine: Engine, pending: OAuthState, actor: Actor | None, now: datetime) -> None:
    """Raise unless actor started the authorization and may still manage the team's connection.

    Raises OAuthError (state_user_mismatch) for another user or none, and
    PermissionDenied when the user's role changed since the authorization began.
    """
    if pending.user_id is None:
        return
    if actor is None or actor.user_id != pending.user_id:
        raise OAuthError(
            f"the authorization of team {pending.team_id} was started by another console user: "
            "sign in as that user, or start again from the Connection page",
            error_code="state_user_mismatch",
        )
    require(engine, actor, pending.team_id, Action.MANAGE_CONNECTION, now, target="Salesforce connection")


def _audit_connected(session: Session, stored: SalesforceConnection, actor: Actor | None, now: datetime) -> None:
    record_audit(
        session,
        actor=actor or Actor.system(),
        action="salesforce.connected",
        now=now,
        team_id=stored.team_id,
        target=f"Salesforce org {stored.org_id}",
        after={"org_id": stored.org_id, "username": stored.username, "instance_url": stored.instance_url},
    )


def handle_callback_error(error: str, description: str | None) -> OAuthError:
    """Return the OAuthError for an error the authorize page sent to the callback.

    Salesforce sends error=access_denied (spelled access-denied on some pages)
    when the user presses Deny. An error that is not a plain lower-case code
    becomes invalid_request.
    """
    code = error.strip().lower().replace("-", "_")
    if not _ERROR_CODE.fullmatch(code):
        code = "invalid_request"
    detail = f": {description[:200]}" if description else ""
    return OAuthError(f"the authorize page returned {code}{detail}", error_code=code, path=AUTHORIZE_PATH)


def discard_authorization(engine: Engine, state: str) -> None:
    """Delete a pending authorization that ended with an error on the authorize page."""
    with session_scope(engine) as session:
        pending = session.get(OAuthState, state) if state else None
        if pending is not None:
            session.delete(pending)


def callback_error_key(code: str) -> str:
    """Return the i18n key of the next step for an oauth_error code from the callback redirect."""
    from core.i18n import load_catalog

    catalog = load_catalog()
    for key in (f"sf_next.{code}", f"sf_next.{code.upper()}"):
        if key in catalog:
            return key
    for name in dir(errors):
        family = getattr(errors, name)
        if isinstance(family, type) and issubclass(family, SalesforceError) and _snake_case(name) == code:
            return f"sf_next.family.{name}"
    return "sf_next.family.OAuthError"


def callback_error_code(exc: SalesforceError) -> str:
    """Return the short code the callback puts in its redirect for exc, such as invalid_client."""
    code = (exc.error_code or _snake_case(type(exc).__name__)).lower()
    return code if _ERROR_CODE.fullmatch(code) else _snake_case(type(exc).__name__)


def refresh_access_token(
    login_url: str,
    consumer_key: str,
    consumer_secret: Secret,
    refresh_token: Secret,
    http: requests.Session | None = None,
) -> TokenResponse:
    """Get a new access token with the refresh token.

    The response has a new refresh token only when the app rotates refresh tokens.
    Raises OAuthError (invalid_grant when the refresh token was revoked or expired),
    TransportError or ServerUnavailableError.
    """
    session = _token_session(consumer_key, login_url, http)
    parsed = _call_token_endpoint(
        session.refresh_token,
        login_url,
        refresh_token=refresh_token.reveal(),
        client_id=consumer_key,
        client_secret=consumer_secret.reveal(),
    )
    if parsed.refresh_token is not None and parsed.refresh_token.reveal() == refresh_token.reveal():
        # requests-oauthlib copies the old refresh token into a response without one.
        parsed = TokenResponse(parsed.access_token, None, parsed.instance_url, parsed.identity_url, parsed.issued_at)
    return parsed


def disconnect(engine: Engine, box: SecretBox, team_id: int, http: requests.Session | None = None) -> None:
    """Revoke the team's refresh token at Salesforce and delete the stored tokens.

    A token Salesforce already considers invalid counts as revoked. Raises
    TransportError or ServerUnavailableError when the revocation did not get
    through; the tokens are then kept so the user can try again.
    """
    connection = _load_connection(engine, team_id)
    token_enc = connection.refresh_token_enc or connection.access_token_enc
    if token_enc:
        _revoke(connection.login_url, box.decrypt(token_enc), http)

    with session_scope(engine) as session:
        stored = session.get(SalesforceConnection, connection.id)
        _clear_tokens(stored)
        session.add(stored)
    logger.info("disconnected team %s from Salesforce", team_id)


def parse_issued_at(value: Any) -> datetime | None:
    """Return the token's issued_at as an aware UTC datetime.

    Salesforce documents seconds since the epoch but sends milliseconds in
    practice (13 digits), so both are accepted. Returns None when it is missing.
    """
    if value in (None, ""):
        return None
    number = int(value)
    # 10**11 seconds is the year 5138, so a larger number must be milliseconds.
    if number > 10**11:
        number //= 1000
    return datetime.fromtimestamp(number, tz=UTC)


def _consume_state(engine: Engine, state: str, now: datetime) -> OAuthState:
    with session_scope(engine) as session:
        pending = session.get(OAuthState, state) if state else None
        if pending is not None:
            session.delete(pending)

    if pending is None:
        raise OAuthError(
            "the authorization state is unknown or was already used: start again from the Connection page",
            error_code="state_invalid",
        )
    if pending.expires_at <= now:
        raise OAuthError(
            f"the authorization started at {(pending.expires_at - STATE_LIFETIME).isoformat()} "
            f"expired after {int(STATE_LIFETIME.total_seconds() // 60)} minutes",
            error_code="state_expired",
        )
    return pending


def _load_connection(engine: Engine, team_id: int) -> SalesforceConnection:
    with session_scope(engine) as session:
        connection = session.exec(
            select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)
        ).first()
    if connection is None:
        raise OAuthError(
            f"team {team_id} has no saved Consumer Key and Consumer Secret",
            error_code="credentials_missing",
        )
    return connection


def _credentials_to_try(
    engine: Engine, box: SecretBox, team_id: int, credentials: ClientCredentials | None
) -> tuple[str, str, str]:
    """Return (login URL, Consumer Key, encrypted Consumer Secret) for a new pending authorization."""
    if credentials is None:
        connection = _load_connection(engine, team_id)
        return connection.login_url, connection.consumer_key, connection.consumer_secret_enc

    consumer_key = credentials.consumer_key.strip()
    if not consumer_key:
        raise ValueError("the Consumer Key is required: copy it from the External Client App's OAuth settings")
    if credentials.consumer_secret is not None and credentials.consumer_secret.reveal().strip():
        return credentials.login_url, consumer_key, box.encrypt(credentials.consumer_secret.reveal().strip())

    with session_scope(engine) as session:
        saved = session.exec(select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)).first()
    if saved is None or not saved.consumer_secret_enc:
        raise ValueError(f"team {team_id} has no saved Consumer Secret: enter the Consumer Secret")
    return credentials.login_url, consumer_key, saved.consumer_secret_enc


def _pending_credentials(engine: Engine, box: SecretBox, pending: OAuthState) -> ClientCredentials:
    """Return the credentials a pending authorization started with."""
    if pending.consumer_key is None or pending.consumer_secret_enc is None:
        connection = _load_connection(engine, pending.team_id)
        return ClientCredentials(
            connection.login_url, connection.consumer_key, box.decrypt(connection.consumer_secret_enc)
        )
    return ClientCredentials(pending.login_url, pending.consumer_key, box.decrypt(pending.consumer_secret_enc))


def _exchange_code(
    credentials: ClientCredentials,
    code_verifier: Secret,
    redirect_uri: str,
    code: str,
    http: requests.Session | None,
) -> TokenResponse:
    session = _token_session(credentials.consumer_key, credentials.login_url, http, redirect_uri=redirect_uri)
    parsed = _call_token_endpoint(
        session.fetch_token,
        credentials.login_url,
        code=code,
        client_secret=credentials.consumer_secret.reveal(),
        include_client_id=True,
        code_verifier=code_verifier.reveal(),
    )
    if parsed.refresh_token is None:
        raise OAuthError(
            "Salesforce issued no refresh token: the External Client App does not allow the refresh_token scope",
            error_code="refresh_token_missing",
            method="POST",
            path=TOKEN_PATH,
        )
    if not parsed.instance_url or not parsed.identity_url:
        raise OAuthError(
            "the token response has no instance_url or id", error_code="invalid_token_response", path=TOKEN_PATH
        )
    return parsed


def _token_session(
    consumer_key: str,
    login_url: str,
    http: requests.Session | None,
    *,
    redirect_uri: str | None = None,
) -> OAuth2Session:
    """Build an OAuth2Session whose token responses are checked before oauthlib parses them."""
    _permit_loopback_http(login_url)
    # scope=None: Salesforce adds scopes such as "id" to the response, which
    # oauthlib would otherwise report as a changed scope.
    session = OAuth2Session(client=WebApplicationClient(consumer_key), redirect_uri=redirect_uri, scope=None)
    session.register_compliance_hook("access_token_response", _check_token_response)
    session.register_compliance_hook("refresh_token_response", _check_token_response)
    if http is not None:
        for prefix, adapter in http.adapters.items():
            session.mount(prefix, adapter)
        session.verify = http.verify
    return session


def _call_token_endpoint(
    call: Callable[..., dict[str, Any]], login_url: str, **arguments: Any
) -> TokenResponse:
    """Call the token endpoint of login_url through an OAuth2Session method and parse the response.

    Raises TransportError when Salesforce cannot be reached, the error of
    _check_token_response for an error response, and OAuthError when oauthlib
    rejects the response.
    """
    try:
        token = call(login_url + TOKEN_PATH, timeout=TIMEOUT_SECONDS, **arguments)
    except requests.RequestException as exc:
        raise _transport_error(exc) from exc
    except OAuth2Error as exc:
        raise _oauthlib_error(exc) from exc
    return _parse_token(token)


def _check_token_response(response: requests.Response) -> requests.Response:
    """Log the token call and raise our error for an error response (compliance hook)."""
    path = urlsplit(response.url).path
    logger.info(
        "Salesforce POST %s -> %s in %d ms",
        path,
        response.status_code,
        round(response.elapsed.total_seconds() * 1000),
    )
    if response.status_code < 400:
        return response
    raise _token_endpoint_error(response, path)


def _token_endpoint_error(response: requests.Response, path: str) -> SalesforceError:
    try:
        body = response.json()
    except ValueError:
        body = None

    if response.status_code >= 500:
        return error_from_response(response.status_code, body, method="POST", path=path)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code = body["error"]
        description = body.get("error_description") or "no description"
        return OAuthError(
            f"the token endpoint returned {code}: {description}",
            status=response.status_code,
            error_code=code,
            method="POST",
            path=path,
        )
    return OAuthError(
        f"the token endpoint returned HTTP {response.status_code} without an OAuth error",
        status=response.status_code,
        method="POST",
        path=path,
    )


def _parse_token(token: dict[str, Any]) -> TokenResponse:
    refresh = token.get("refresh_token")
    return TokenResponse(
        access_token=Secret(token["access_token"]),
        refresh_token=Secret(refresh) if refresh else None,
        instance_url=(token.get("instance_url") or "").rstrip("/") or None,
        identity_url=token.get("id"),
        issued_at=parse_issued_at(token.get("issued_at")),
        scope=_granted_scope(token.get("scope")),
    )


def _join_scopes(scopes: Sequence[str]) -> str:
    if isinstance(scopes, str):
        raise ValueError(f"scopes must be a sequence of scope names, not the string {scopes!r}")
    invalid = [scope for scope in scopes if not _SCOPE.fullmatch(scope)]
    if invalid or not scopes:
        raise ValueError(f"invalid OAuth scopes {list(scopes)!r}: give names such as api, refresh_token, pardot_api")
    return " ".join(dict.fromkeys(scopes))


def _granted_scope(value: Any) -> str | None:
    # oauthlib turns the space-separated "scope" of a token response into a list.
    if isinstance(value, (list, tuple)):
        return " ".join(value) or None
    return value or None


def _revoke(login_url: str, token: Secret, http: requests.Session | None) -> None:
    """Revoke a token; an already invalid token counts as revoked."""
    _permit_loopback_http(login_url)
    post = http.post if http is not None else requests.post
    try:
        response = post(login_url + REVOKE_PATH, data={"token": token.reveal()}, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise _transport_error(exc, path=REVOKE_PATH) from exc

    logger.info(
        "Salesforce POST %s -> %s in %d ms",
        REVOKE_PATH,
        response.status_code,
        round(response.elapsed.total_seconds() * 1000),
    )
    if response.status_code < 400:
        return
    error = _token_endpoint_error(response, REVOKE_PATH)
    if isinstance(error, OAuthError) and error.error_code in {"invalid_token", "invalid_grant"}:
        logger.info("the token was already invalid at Salesforce (%s)", error.error_code)
        return
    raise error


def _revoke_quietly(login_url: str, token: Secret, http: requests.Session | None) -> None:
    try:
        _revoke(login_url, token, http)
    except SalesforceError as exc:
        logger.warning(
            "could not revoke an unused token (%s), so it stays valid until the app's refresh token policy ends it",
            exc.error_code or type(exc).__name__,
        )


def _clear_tokens(connection: SalesforceConnection) -> None:
    connection.access_token_enc = None
    connection.refresh_token_enc = None
    connection.status = ConnectionStatus.DISCONNECTED


def _permit_loopback_http(url: str) -> None:
    """Let oauthlib talk plain http to a loopback URL (the built-in demo org).

    oauthlib rejects http unless OAUTHLIB_INSECURE_TRANSPORT is set, and the
    variable applies to the whole process. That is acceptable because
    normalize_login_url lets only https through, apart from the demo org URL
    passed to it explicitly.
    """
    parts = urlsplit(url)
    if parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS:
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


def _transport_error(exc: requests.RequestException, *, path: str = TOKEN_PATH) -> TransportError:
    return TransportError(
        f"the request did not reach Salesforce or its response was lost ({type(exc).__name__})",
        method="POST",
        path=path,
    )


def _oauthlib_error(exc: OAuth2Error) -> OAuthError:
    return OAuthError(
        f"the token response could not be used: {exc.error}", error_code=exc.error, method="POST", path=TOKEN_PATH
    )


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
