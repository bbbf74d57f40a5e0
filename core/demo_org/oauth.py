"""OAuth 2.0 web server flow endpoints: authorize (consent page), token, revoke, userinfo and identity.

The demo org has no login page. Every approval on the authorize page is made as DEMO_USERNAME.
The External Client App settings follow the Spring '26 defaults for new apps: PKCE required,
secret required for the code exchange and for refresh, no refresh token rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from core.demo_org import pages
from core.demo_org.constants import DEMO_ORG_ID, DEMO_USERNAME
from core.demo_org.faults import TOKEN_ERRORS
from core.demo_org.seed import ADMIN_ID
from core.demo_org.state import ACCESS_TOKEN_SECONDS, DemoOrgState, base_url
from core.demo_org.store import ClientApp, TokenRow

logger = logging.getLogger(__name__)

# NOTE: Salesforce does not document the authorization code lifetime; 15 minutes is the commonly quoted value.
CODE_SECONDS = 15 * 60
CONSENT_FORM_SECONDS = 10 * 60
# Scopes with which Salesforce issues a refresh token.
REFRESH_SCOPES = frozenset({"refresh_token", "offline_access"})

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_routes(state: DemoOrgState) -> list[Route]:
    """Build the OAuth routes of one demo org."""

    async def authorize(request: Request) -> Response:
        if request.method == "POST":
            return _decide(state, request, await request.form())
        return _show_consent(state, request)

    async def token(request: Request) -> Response:
        return _token(state, request, await request.form())

    async def revoke(request: Request) -> Response:
        form = await request.form() if request.method == "POST" else request.query_params
        value = str(form.get("token") or "")
        if not value or not state.store.revoke_token(value):
            return JSONResponse({"error": "invalid_token", "error_description": "invalid token"}, status_code=400)
        logger.info("demo org revoked a token")
        return Response(status_code=200)

    async def userinfo(request: Request) -> Response:
        user = authenticated_user(state, request)
        if user is None:
            return PlainTextResponse("Bad_OAuth_Token", status_code=403)
        return JSONResponse(_userinfo_body(state, base_url(request), user))

    async def identity(request: Request) -> Response:
        user = authenticated_user(state, request)
        org_id, user_id = request.path_params["org_id"], request.path_params["user_id"]
        # Salesforce returns 403 Bad_OAuth_Token for a bad token at the identity URL.
        # NOTE: assumption. The demo org returns the same response when the URL names another user.
        if user is None or org_id != DEMO_ORG_ID or user_id != user["Id"]:
            return PlainTextResponse("Bad_OAuth_Token", status_code=403)
        return JSONResponse(_identity_body(state, base_url(request), user))

    return [
        Route("/services/oauth2/authorize", authorize, methods=["GET", "POST"]),
        Route("/services/oauth2/token", token, methods=["POST"]),
        Route("/services/oauth2/revoke", revoke, methods=["GET", "POST"]),
        Route("/services/oauth2/userinfo", userinfo, methods=["GET", "POST"]),
        Route("/id/{org_id}/{user_id}", identity, methods=["GET", "POST"]),
    ]


# Authorize


def _show_consent(state: DemoOrgState, request: Request) -> Response:
    params = request.query_params
    app = state.store.get_app(params.get("client_id", ""))
    problem = _check_authorize_request(app, params)
    if app is None or problem is not None:
        error, description = problem or ("invalid_client_id", "client identifier invalid")
        return HTMLResponse(pages.oauth_error_page(error, description), status_code=400)

    scopes = _granted_scopes(app, params.get("scope"))
    form_token = secrets.token_urlsafe(32)
    now = state.clock().timestamp()
    state.store.save_consent(
        form_token,
        {
            "client_id": app.consumer_key,
            "redirect_uri": params["redirect_uri"],
            "state": params.get("state", ""),
            "scope": " ".join(scopes),
            "code_challenge": params.get("code_challenge", ""),
        },
        now + CONSENT_FORM_SECONDS,
    )
    user = _user_record(state, ADMIN_ID)
    action = request.scope.get("root_path", "").rstrip("/") + "/services/oauth2/authorize"
    return HTMLResponse(pages.consent_page(app.name, scopes, user["Name"], DEMO_USERNAME, action, form_token))


def _check_authorize_request(app: ClientApp | None, params: Any) -> tuple[str, str] | None:
    """Return (error, description) for a request Salesforce would stop on its own error page, else None."""
    if app is None:
        return ("invalid_client_id", "client identifier invalid")
    if params.get("redirect_uri") not in app.callback_urls:
        return ("redirect_uri_mismatch", "redirect_uri must match configuration")
    if params.get("response_type") != "code":
        return ("unsupported_response_type", "response type is not supported")
    if not params.get("code_challenge"):
        # External Client Apps require PKCE by default (isPkceRequired = true).
        return ("invalid_request", "missing required code challenge")
    if params.get("code_challenge_method", "S256") != "S256":
        return ("invalid_request", "code_challenge_method must be S256")
    unknown = [scope for scope in (params.get("scope") or "").split() if scope not in app.scopes]
    if unknown:
        return ("invalid_scope", f"the app does not allow the scope {unknown[0]}")
    return None


def _granted_scopes(app: ClientApp, requested: str | None) -> list[str]:
    # Without a scope parameter Salesforce grants every scope the app allows.
    return requested.split() if requested else list(app.scopes)


def _decide(state: DemoOrgState, request: Request, form: FormData) -> Response:
    consent = state.store.take_consent(str(form.get("form_token") or ""), state.clock().timestamp())
    if consent is None:
        return HTMLResponse(
            pages.oauth_error_page("invalid_request", "this approval form expired or was already used; start the connection again"),
            status_code=400,
        )

    redirect_uri = consent["redirect_uri"]
    state_param = {"state": consent["state"]} if consent["state"] else {}
    if form.get("decision") != "allow":
        logger.info("demo org authorization denied by the user")
        denied = {"error": "access_denied", "error_description": "end-user denied authorization", **state_param}
        return RedirectResponse(_with_query(redirect_uri, denied), status_code=302)

    code = secrets.token_urlsafe(32)
    state.store.save_code(
        code,
        client_id=consent["client_id"],
        redirect_uri=redirect_uri,
        code_challenge=consent["code_challenge"] or None,
        scope=consent["scope"],
        user_id=ADMIN_ID,
        expires_at=state.clock().timestamp() + CODE_SECONDS,
    )
    logger.info("demo org authorization approved; code issued")
    return RedirectResponse(_with_query(redirect_uri, {"code": code, **state_param}), status_code=302)


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


# Token


def _token_error(error: str, description: str | None = None) -> JSONResponse:
    body = {"error": error, "error_description": description or TOKEN_ERRORS.get(error, error)}
    return JSONResponse(body, status_code=400, headers=_NO_STORE)


def _client_credentials(request: Request, form: FormData) -> tuple[str, str]:
    """Return (client_id, client_secret) from the form or from HTTP Basic authentication."""
    client_id, client_secret = str(form.get("client_id") or ""), str(form.get("client_secret") or "")
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            return client_id, client_secret
        basic_id, _, basic_secret = decoded.partition(":")
        client_id, client_secret = client_id or basic_id, client_secret or basic_secret
    return client_id, client_secret


def _token(state: DemoOrgState, request: Request, form: FormData) -> Response:
    forced = state.faults.settings.token_error
    if forced:
        return _token_error(forced)

    grant_type = form.get("grant_type")
    if grant_type not in ("authorization_code", "refresh_token"):
        return _token_error("unsupported_grant_type")

    client_id, client_secret = _client_credentials(request, form)
    app = state.store.get_app(client_id)
    if app is None:
        return _token_error("invalid_client_id")
    if not hmac.compare_digest(client_secret.encode(), app.consumer_secret.encode()):
        return _token_error("invalid_client")

    if grant_type == "authorization_code":
        return _exchange_code(state, request, form, app)
    return _refresh(state, request, form, app)


def _exchange_code(state: DemoOrgState, request: Request, form: FormData, app: ClientApp) -> Response:
    now = state.clock().timestamp()
    code = str(form.get("code") or "")
    row = state.store.take_code(code) if code else None
    if row is None or row["used"] or row["expires_at"] < now or row["client_id"] != app.consumer_key:
        return _token_error("invalid_grant", "invalid authorization code")
    if form.get("redirect_uri") != row["redirect_uri"]:
        return _token_error("redirect_uri_mismatch", "redirect_uri must match configuration")

    if row["code_challenge"]:
        verifier = str(form.get("code_verifier") or "")
        if not verifier:
            return _token_error("invalid_grant", "authentication failure")
        if not hmac.compare_digest(pkce_challenge(verifier), row["code_challenge"]):
            return _token_error("invalid_request", "invalid code verifier")

    scope = row["scope"]
    refresh_token = None
    if REFRESH_SCOPES & set(scope.split()):
        refresh_token = "5Aep861" + secrets.token_urlsafe(40)
        state.store.save_token(
            refresh_token, kind="refresh", client_id=app.consumer_key, user_id=row["user_id"], scope=scope, expires_at=None
        )
    logger.info("demo org exchanged an authorization code for tokens")
    return _issue_access_token(state, request, app, row["user_id"], scope, refresh_token, include_refresh=True)


def _refresh(state: DemoOrgState, request: Request, form: FormData, app: ClientApp) -> Response:
    refresh_token = str(form.get("refresh_token") or "")
    row = state.store.get_token(refresh_token) if refresh_token else None
    if row is None or row.kind != "refresh" or row.revoked or row.client_id != app.consumer_key:
        return _token_error("invalid_grant", "expired access/refresh token")
    if not _user_record(state, row.user_id).get("IsActive"):
        return _token_error("invalid_grant", "inactive user")
    logger.info("demo org refreshed an access token")
    return _issue_access_token(state, request, app, row.user_id, row.scope, refresh_token, include_refresh=False)


def _issue_access_token(
    state: DemoOrgState, request: Request, app: ClientApp, user_id: str, scope: str,
    refresh_token: str | None, *, include_refresh: bool,
) -> Response:
    now = state.clock()
    access_token = f"{DEMO_ORG_ID[:15]}!" + secrets.token_urlsafe(48)
    expires_at = (now + timedelta(seconds=ACCESS_TOKEN_SECONDS)).timestamp()
    state.store.save_token(
        access_token, kind="access", client_id=app.consumer_key, user_id=user_id, scope=scope,
        expires_at=expires_at, refresh_token=refresh_token,
    )

    base = base_url(request)
    identity_url = f"{base}/id/{DEMO_ORG_ID}/{user_id}"
    issued_at = str(int(now.timestamp() * 1000))
    body: dict[str, Any] = {"access_token": access_token}
    if include_refresh and refresh_token:
        body["refresh_token"] = refresh_token
    body.update(
        signature=token_signature(identity_url, issued_at, app.consumer_secret),
        scope=scope,
        instance_url=base,
        id=identity_url,
        token_type="Bearer",
        issued_at=issued_at,
    )
    return JSONResponse(body, headers=_NO_STORE)


def pkce_challenge(verifier: str) -> str:
    """Return the S256 code challenge of a PKCE code verifier (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_signature(identity_url: str, issued_at: str, client_secret: str) -> str:
    """Return the token response ``signature``: Base64 HMAC-SHA256 of id + issued_at keyed with the client secret."""
    digest = hmac.new(client_secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# Bearer tokens and identity


def valid_access_token(state: DemoOrgState, request: Request) -> TokenRow | None:
    """Return the live access token of a request's ``Authorization: Bearer`` header, or None."""
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not value.strip():
        return None
    row = state.store.get_token(value.strip())
    if row is None or row.kind != "access" or row.revoked:
        return None
    if row.expires_at is not None and row.expires_at <= state.clock().timestamp():
        return None
    return row


def authenticated_user(state: DemoOrgState, request: Request) -> dict[str, Any] | None:
    """Return the User record behind a request's access token, or None when the token is not valid."""
    row = valid_access_token(state, request)
    if row is None:
        return None
    return _user_record(state, row.user_id)


def _user_record(state: DemoOrgState, user_id: str) -> dict[str, Any]:
    stored = state.store.get_record(user_id)
    return stored.fields if stored else {}


def _urls(base: str, user_id: str) -> dict[str, str]:
    # Salesforce leaves the literal {version} in these URLs for the client to fill in.
    data = f"{base}/services/data/v{{version}}"
    return {
        "rest": f"{data}/",
        "sobjects": f"{data}/sobjects/",
        "search": f"{data}/search/",
        "query": f"{data}/query/",
        "recent": f"{data}/recent/",
        "profile": f"{base}/{user_id}",
        "custom_domain": base,
    }


def _userinfo_body(state: DemoOrgState, base: str, user: dict[str, Any]) -> dict[str, Any]:
    return {
        "sub": f"{base}/id/{DEMO_ORG_ID}/{user['Id']}",
        "user_id": user["Id"],
        "organization_id": DEMO_ORG_ID,
        "preferred_username": user["Username"],
        "nickname": user.get("Alias"),
        "name": user["Name"],
        "given_name": user.get("FirstName"),
        "family_name": user.get("LastName"),
        "email": user["Email"],
        "email_verified": True,
        "zoneinfo": user.get("TimeZoneSidKey"),
        "locale": user.get("LocaleSidKey"),
        "language": user.get("LanguageLocaleKey"),
        "active": bool(user.get("IsActive")),
        "user_type": "STANDARD",
        "utcOffset": 9 * 60 * 60 * 1000,  # milliseconds; every demo user is in Asia/Tokyo
        "updated_at": user.get("LastModifiedDate"),
        "is_app_installed": True,
        "urls": _urls(base, user["Id"]),
    }


def _identity_body(state: DemoOrgState, base: str, user: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"{base}/id/{DEMO_ORG_ID}/{user['Id']}",
        "asserted_user": True,
        "user_id": user["Id"],
        "organization_id": DEMO_ORG_ID,
        "username": user["Username"],
        "nick_name": user.get("Alias"),
        "display_name": user["Name"],
        "email": user["Email"],
        "email_verified": True,
        "first_name": user.get("FirstName"),
        "last_name": user.get("LastName"),
        "timezone": user.get("TimeZoneSidKey"),
        "active": bool(user.get("IsActive")),
        "user_type": "STANDARD",
        "language": user.get("LanguageLocaleKey"),
        "locale": user.get("LocaleSidKey"),
        "utcOffset": 9 * 60 * 60 * 1000,
        "last_modified_date": user.get("LastModifiedDate"),
        "is_app_installed": True,
        "urls": _urls(base, user["Id"]),
    }
