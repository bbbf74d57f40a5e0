"""Fixtures that serve the demo org on a loopback port, for any test module.

Import both fixtures into a test module (pytest finds fixtures by name in the module)::

    from tests.demo_org_fixtures import demo_org, demo_org_server  # noqa: F401

``demo_org_server`` (session scope) starts one server; ``demo_org`` (function scope)
resets its records, faults and callback URLs before the test and yields the same handle.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from core.demo_org import (
    DEMO_API_VERSION,
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    approve_authorization,
    create_demo_org_app,
)
from tests.servers import serve

# Redirect URIs registered on the demo External Client App after every reset.
DEFAULT_CALLBACK_URLS = (
    "http://127.0.0.1:8501/oauth/salesforce/callback",
    "http://localhost:8501/oauth/salesforce/callback",
    "http://127.0.0.1/callback",
)
TEST_CALLBACK_URL = "http://127.0.0.1/callback"


def pkce_pair() -> tuple[str, str]:
    """Return a new (code_verifier, S256 code_challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class DemoOrgHandle:
    """A running demo org: its base URL, database file and helpers that drive it over HTTP."""

    url: str
    database_path: Path
    http: requests.Session = field(default_factory=requests.Session)

    def records(self, sobject: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Return every record of `sobject` with all fields (GET /_admin/records)."""
        params = {"include_deleted": "true"} if include_deleted else None
        response = self.http.get(f"{self.url}/_admin/records/{sobject}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Replace the fault settings (latency_ms, error_rate, error_code, count, token_error, ...)."""
        response = self.http.post(f"{self.url}/_admin/faults", json=settings, timeout=10)
        response.raise_for_status()
        return response.json()

    def clear_faults(self) -> None:
        self.http.delete(f"{self.url}/_admin/faults", timeout=10).raise_for_status()

    def set_callback_urls(self, urls: list[str] | tuple[str, ...]) -> None:
        """Register `urls` as the External Client App's callback URLs."""
        self.http.post(f"{self.url}/_admin/app", json={"callback_urls": list(urls)}, timeout=10).raise_for_status()

    def reset(self) -> None:
        """Re-seed the records and counters and clear the faults."""
        self.http.post(f"{self.url}/_admin/reset", timeout=10).raise_for_status()

    def authorize_code(
        self, redirect_uri: str, code_challenge: str, state: str, *, scope: str = "api refresh_token id",
        client_id: str = DEMO_CONSUMER_KEY,
    ) -> str:
        """Open the authorize page, press Allow like a browser, and return the code from the redirect.

        Raises AssertionError when the org shows an error page or redirects with an error.
        """
        location = self.authorize(redirect_uri, code_challenge, state, scope=scope, client_id=client_id, decision="allow")
        query = parse_qs(urlsplit(location).query)
        assert "code" in query, f"the authorize redirect carries no code: {location}"
        assert query.get("state") == [state], f"the authorize redirect lost the state: {location}"
        return query["code"][0]

    def authorize(
        self, redirect_uri: str, code_challenge: str, state: str, *, scope: str = "api refresh_token id",
        client_id: str = DEMO_CONSUMER_KEY, decision: str = "allow",
    ) -> str:
        """Open the authorize page, submit `decision` (allow or deny) and return the redirect's Location."""
        params = {
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
            "state": state, "code_challenge": code_challenge, "code_challenge_method": "S256",
        }
        authorize_url = f"{self.url}/services/oauth2/authorize?{urlencode(params)}"
        try:
            return approve_authorization(self.http, authorize_url, decision=decision, timeout=10)
        except RuntimeError as error:
            raise AssertionError(f"the authorize flow failed: {error}") from error

    def rest_session(self) -> RestSession:
        """Connect through the web server flow and return a REST session with the new access token."""
        return RestSession(self.issue_tokens())

    def issue_tokens(self, redirect_uri: str = TEST_CALLBACK_URL, *, scope: str = "api refresh_token id") -> dict[str, Any]:
        """Run the whole web server flow with PKCE and return the token response."""
        verifier, challenge = pkce_pair()
        code = self.authorize_code(redirect_uri, challenge, secrets.token_urlsafe(8), scope=scope)
        response = self.http.post(
            f"{self.url}/services/oauth2/token",
            data={
                "grant_type": "authorization_code", "code": code, "client_id": DEMO_CONSUMER_KEY,
                "client_secret": DEMO_CONSUMER_SECRET, "redirect_uri": redirect_uri, "code_verifier": verifier,
            },
            timeout=10,
        )
        assert response.status_code == 200, f"the token exchange failed: {response.text}"
        return response.json()


class RestSession:
    """Bearer-authenticated calls to the demo org's REST API; paths are relative to /services/data/v66.0/."""

    def __init__(self, tokens: dict[str, Any]) -> None:
        self.tokens = tokens
        self.base = f"{tokens['instance_url']}/services/data/v{DEMO_API_VERSION}/"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {tokens['access_token']}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.base + path, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def query(self, soql: str) -> requests.Response:
        return self.get("query", params={"q": soql})


@pytest.fixture(scope="session")
def demo_org_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoOrgHandle]:
    """One demo org on a free loopback port for the whole test session."""
    database_path = tmp_path_factory.mktemp("demo_org") / "demo_org.db"
    app = create_demo_org_app(database_path, callback_urls=DEFAULT_CALLBACK_URLS)
    with serve(app) as url:
        handle = DemoOrgHandle(url, database_path)
        yield handle
        handle.http.close()


@pytest.fixture
def demo_org(demo_org_server: DemoOrgHandle) -> DemoOrgHandle:
    """The session's demo org, reset to its seed data with no faults and the default callback URLs."""
    demo_org_server.reset()
    demo_org_server.clear_faults()
    demo_org_server.set_callback_urls(DEFAULT_CALLBACK_URLS)
    return demo_org_server
