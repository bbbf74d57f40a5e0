"""Helpers for the dashboard tests: a process runtime in a temporary folder and an AppTest on it."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import requests
import streamlit as st
from streamlit.testing.v1 import AppTest

from starlette.applications import Starlette
from starlette.routing import Mount

from sqlalchemy import Engine
from sqlmodel import select

from core.auth.audit import Actor
from core.auth.sessions import create_ticket, redeem_ticket
from core.config import load_settings
from core.demo_org import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, create_demo_org_app
from core.runtime import Runtime, build_runtime, get_runtime, set_runtime
from core.salesforce import oauth
from core.store.db import session_scope
from core.store.models import Membership, Role, Team, User
from core.web.hooks import hook_routes
from core.web.oauth_callback import oauth_routes
from tests.servers import free_port, serve

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard.py"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TEST_USER_EMAIL = "owner@example.com"
# pages._ui reads a session token from this session state key when the browser sent no cookie.
SESSION_TOKEN_KEY = "auth_session_token"


def ensure_member(engine: Engine, email: str, role: Role, team_ids: list[int] | None = None) -> int:
    """Create the user with email unless it exists, give it role in team_ids (default: every team); return its id."""
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.email == email)).first()
        if user is None:
            user = User(email=email, display_name=email.split("@")[0].title(), created_at=NOW)
            session.add(user)
            session.flush()
        if team_ids is None:
            team_ids = list(session.exec(select(Team.id)).all())
        for team_id in team_ids:
            membership = session.exec(
                select(Membership).where(Membership.team_id == team_id, Membership.user_id == user.id)
            ).first()
            if membership is None:
                membership = Membership(team_id=team_id, user_id=user.id, role=role, created_at=NOW)
            membership.role = role
            session.add(membership)
        return user.id


def owner_actor(engine: Engine) -> Actor:
    """Return the test user as an actor who owns every team, for setting up data through guarded core functions."""
    return Actor(ensure_member(engine, TEST_USER_EMAIL, Role.OWNER), TEST_USER_EMAIL)


def session_token_for(engine: Engine, user_id: int) -> str:
    """Return a live session token of user_id, made the way GET /auth/session makes one."""
    now = datetime.now(UTC)
    return redeem_ticket(engine, create_ticket(engine, user_id, now), now)


@contextmanager
def page_runtime(data_dir: Path, **environ: str) -> Iterator[Runtime]:
    """Install a runtime over a fresh store in data_dir as the process runtime for the block."""
    runtime = build_runtime(load_settings({"APP_DATA_DIR": str(data_dir), **environ}))
    set_runtime(runtime)
    # Cached Salesforce lookups of an earlier test would belong to another store.
    st.cache_data.clear()
    try:
        yield runtime
    finally:
        set_runtime(None)
        runtime.engine.dispose()


def open_page(
    page: str | None, language: str = "en", *, email: str | None = TEST_USER_EMAIL, role: Role = Role.OWNER
) -> AppTest:
    """Run the dashboard in language, signed in as email with role in every team, and switch to page.

    page is a path like pages/sync_log.py; email None opens the dashboard signed out.
    """
    app = AppTest.from_file(DASHBOARD, default_timeout=30)
    app.session_state["language"] = language
    if email is not None:
        engine = get_runtime().engine
        app.session_state[SESSION_TOKEN_KEY] = session_token_for(engine, ensure_member(engine, email, role))
    app.run()
    if page is not None:
        app.switch_page(page).run()
    return app


def shown(markdown: str) -> str:
    """Return Markdown source as the user reads it, without backslash escapes."""
    return re.sub(r"\\(.)", r"\1", markdown)


def texts(app: AppTest) -> str:
    """Return the text of every message element and markdown block, one per line."""
    parts = [element.value for element in app.markdown]
    for kind in ("title", "subheader", "caption", "info", "success", "warning", "error", "code"):
        parts += [str(element.value) for element in getattr(app, kind)]
    return "\n".join(parts)


def allow_in_demo_org(http: requests.Session, authorize_url: str) -> str:
    """Press Allow on the demo org's authorize page like a browser; return the callback URL it redirects to."""
    page = http.get(authorize_url, timeout=30)
    page.raise_for_status()
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page.text)[1])
    form_token = html.unescape(re.search(r'name="form_token" value="([^"]+)"', page.text)[1])

    decision = http.post(
        urljoin(page.url, action),
        data={"form_token": form_token, "decision": "allow"},
        allow_redirects=False,
        timeout=30,
    )
    assert decision.status_code in (302, 303), decision.text
    return decision.headers["location"]


@contextmanager
def serve_demo_console(data_dir: Path) -> Iterator[tuple[Runtime, str]]:
    """Serve the OAuth callback, the webhook route and the demo org (under /demo-org) at the runtime's public URL."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    with page_runtime(data_dir, APP_PUBLIC_URL=public_url, APP_DEMO="1") as runtime:
        settings = runtime.settings
        demo_org = create_demo_org_app(settings.demo_org_database, callback_urls=[settings.callback_url])
        routes = [*oauth_routes(runtime), *hook_routes(runtime), Mount("/demo-org", app=demo_org)]
        with serve(Starlette(routes=routes), port=port):
            yield runtime, public_url


def connect_to_demo_org(runtime: Runtime, team_id: int) -> None:
    """Connect the team to the demo org served by serve_demo_console, as the Connection page does."""
    settings = runtime.settings
    oauth.save_credentials(
        runtime.engine, runtime.box, team_id, settings.demo_org_url, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
    )
    authorize_url = oauth.start_authorization(
        runtime.engine, runtime.box, team_id, settings.callback_url, datetime.now(UTC)
    )
    with requests.Session() as http:
        callback = allow_in_demo_org(http, authorize_url)
        redirect = http.get(callback, allow_redirects=False, timeout=30)
    assert redirect.headers["location"] == "/connection?oauth=ok"
