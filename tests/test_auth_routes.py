"""GET /auth/session and GET /auth/sign-out: the session cookie, its flags and the redirect target."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.auth.sessions import create_ticket, user_for_session
from core.auth.users import create_user
from core.config import load_settings
from core.runtime import Runtime, build_runtime
from core.web.auth_routes import SESSION_COOKIE, auth_routes, safe_next_path
from tests.auth_fixtures import NOW, audit_rows


def console(tmp_path: Path, public_url: str) -> Runtime:
    return build_runtime(load_settings({"APP_DATA_DIR": str(tmp_path), "APP_PUBLIC_URL": public_url}))


@pytest.fixture
def http_runtime(tmp_path: Path) -> Runtime:
    """A runtime served at a plain-http loopback address, with one user."""
    runtime = console(tmp_path, "http://127.0.0.1:8501")
    create_user(runtime.engine, "hanako@example.com", "Hanako", None, NOW)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def https_runtime(tmp_path: Path) -> Runtime:
    """A runtime whose public URL is https, with one user."""
    runtime = console(tmp_path, "https://console.example.com")
    create_user(runtime.engine, "hanako@example.com", "Hanako", None, NOW)
    yield runtime
    runtime.engine.dispose()


def client(runtime: Runtime) -> TestClient:
    app = Starlette(routes=auth_routes(runtime, clock=lambda: NOW + timedelta(seconds=5)))
    return TestClient(app, follow_redirects=False)


def session_cookie(response) -> tuple[str, dict[str, str]]:
    """Return the session cookie's value and its attributes, lower-cased, from the Set-Cookie header."""
    [header] = [value for name, value in response.headers.multi_items() if name == "set-cookie"]
    parsed = SimpleCookie()
    parsed.load(header)
    morsel = parsed[SESSION_COOKIE]
    flags = {name.lower() for name in header.split("; ")[1:] if "=" not in name}
    attributes = {key: value for key, value in morsel.items() if value}
    attributes.update({flag: "yes" for flag in flags})
    return morsel.value, attributes


def test_session_route_sets_cookie_on_http(http_runtime):
    ticket = create_ticket(http_runtime.engine, 1, NOW)

    response = client(http_runtime).get("/auth/session", params={"ticket": ticket, "next": "/sync-log?page=2"})

    assert response.status_code == 303
    assert response.headers["location"] == "/sync-log?page=2"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    token, attributes = session_cookie(response)
    assert user_for_session(http_runtime.engine, token, NOW + timedelta(seconds=5)).email == "hanako@example.com"
    assert attributes["httponly"] == "yes"
    assert attributes["samesite"].lower() == "lax"
    assert attributes["max-age"] == "43200"
    assert attributes["path"] == "/"
    assert "secure" not in attributes


def test_session_cookie_is_secure_on_https(https_runtime):
    ticket = create_ticket(https_runtime.engine, 1, NOW)

    response = client(https_runtime).get("/auth/session", params={"ticket": ticket})

    assert response.headers["location"] == "/"
    _, attributes = session_cookie(response)
    assert attributes["secure"] == "yes"
    assert attributes["httponly"] == "yes"


@pytest.mark.parametrize(
    "next_path",
    [
        "//evil.example",
        "//evil.example/connection",
        "https://evil.example",
        "https://evil.example/connection",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/connection\r\nSet-Cookie: x=1",
        "",
    ],
)
def test_session_route_rejects_foreign_next(http_runtime, next_path):
    ticket = create_ticket(http_runtime.engine, 1, NOW)

    response = client(http_runtime).get("/auth/session", params={"ticket": ticket, "next": next_path})

    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_session_route_rejects_used_ticket(http_runtime):
    ticket = create_ticket(http_runtime.engine, 1, NOW)
    http = client(http_runtime)
    http.get("/auth/session", params={"ticket": ticket})

    response = http.get("/auth/session", params={"ticket": ticket, "next": "/connection"})

    assert response.status_code == 303
    assert response.headers["location"] == "/?auth_error=ticket_invalid"
    assert "set-cookie" not in response.headers


def test_session_route_rejects_expired_ticket(http_runtime):
    ticket = create_ticket(http_runtime.engine, 1, NOW - timedelta(seconds=60))

    response = client(http_runtime).get("/auth/session", params={"ticket": ticket})

    assert response.headers["location"] == "/?auth_error=ticket_invalid"
    assert "set-cookie" not in response.headers


def test_sign_out_clears_cookie_and_session(http_runtime):
    http = client(http_runtime)
    token, _ = session_cookie(http.get("/auth/session", params={"ticket": create_ticket(http_runtime.engine, 1, NOW)}))

    response = http.get("/auth/sign-out", headers={"cookie": f"{SESSION_COOKIE}={token}"})

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    value, attributes = session_cookie(response)
    assert value == ""
    assert attributes["max-age"] == "0"
    assert user_for_session(http_runtime.engine, token, NOW + timedelta(seconds=5)) is None
    [event] = audit_rows(http_runtime.engine, "auth.sign_out")
    assert event.created_at == NOW + timedelta(seconds=5)


def test_sign_out_without_cookie_redirects_home(http_runtime):
    response = client(http_runtime).get("/auth/sign-out")

    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/connection", "/connection"),
        ("/sync-log?page=2&q=a%2Fb", "/sync-log?page=2&q=a%2Fb"),
        ("/", "/"),
        (None, "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/connection\\..\\x", "/"),
        ("https://evil.example", "/"),
        ("http:/evil.example", "/"),
        ("/\tevil", "/"),
        ("/%0d%0aSet-Cookie", "/%0d%0aSet-Cookie"),
    ],
)
def test_safe_next_path(raw, expected):
    assert safe_next_path(raw) == expected
