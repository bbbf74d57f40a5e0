"""The screen language: taken from the browser before sign-in, stored on the user when switched, loaded per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.auth.accounts import seed_demo_users
from core.auth.demo_users import DEMO_USERS
from core.auth.users import get_user, set_language
from core.runtime import Runtime
from core.store.db import session_scope
from core.store.models import Role, User
from core.teams import create_team
from pages._ui import preferred_language
from tests.page_support import DASHBOARD, NOW, SESSION_TOKEN_KEY, ensure_member, page_runtime, session_token_for

OWNER_EMAIL = "owner@example.com"


@pytest.fixture
def team_runtime(tmp_path: Path) -> Runtime:
    """Demo mode with one team, its demo users and an owner who never chose a language."""
    with page_runtime(tmp_path, APP_DEMO="1") as runtime:
        team = create_team(runtime.engine, "Sales Tokyo", "sales-tokyo", NOW)
        seed_demo_users(runtime.engine, team.id, NOW)
        yield runtime


def new_session(runtime: Runtime, *, email: str | None = OWNER_EMAIL, locale: str | None = None) -> AppTest:
    """Run the dashboard as a fresh browser session, with no language in session state."""
    app = AppTest.from_file(DASHBOARD, default_timeout=30)
    if locale is not None:
        app.context = {"locale": locale}
    if email is not None:
        user_id = ensure_member(runtime.engine, email, Role.OWNER)
        app.session_state[SESSION_TOKEN_KEY] = session_token_for(runtime.engine, user_id)
    app.run()
    assert not app.exception, app.exception
    return app


def owner_id(runtime: Runtime) -> int:
    return ensure_member(runtime.engine, OWNER_EMAIL, Role.OWNER)


def demo_languages(runtime: Runtime) -> dict[str, str | None]:
    """Return each demo user's stored language by email."""
    with session_scope(runtime.engine) as session:
        return {email: session.exec(select(User.language).where(User.email == email)).one() for _, email, _ in DEMO_USERS}


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("ja", "ja"),
        ("ja-JP", "ja"),
        ("JA-jp", "ja"),
        ("en-US", "en"),
        ("ja,en-US;q=0.9,en;q=0.8", "ja"),
        ("en-US,en;q=0.9,ja;q=0.8", "en"),
        ("fr-FR, ja;q=0.5, en;q=0.3", "ja"),
        ("en;q=0.2, ja;q=0.7", "ja"),
        ("ja;q=0, en", "en"),
        ("de-DE,fr;q=0.9", "en"),
        ("", "en"),
        ("*", "en"),
        ("ja;q=oops", "en"),
    ],
)
def test_preferred_language(accept_language, expected):
    assert preferred_language(accept_language) == expected


def test_signed_out_follows_browser_locale(team_runtime):
    app = new_session(team_runtime, email=None, locale="ja-JP")

    assert [title.value for title in app.title] == ["コンソールにサインイン"]
    assert app.sidebar.selectbox[0].value == "ja"


def test_signed_out_english_browser(team_runtime):
    app = new_session(team_runtime, email=None, locale="en-GB")

    assert [title.value for title in app.title] == ["Sign in to the console"]


def test_saved_language_wins_over_browser(team_runtime):
    set_language(team_runtime.engine, owner_id(team_runtime), "ja")

    app = new_session(team_runtime, locale="en-US")

    assert app.title[0].value == "Salesforce 接続"
    assert app.session_state["language"] == "ja"


def test_user_without_saved_language_follows_browser(team_runtime):
    app = new_session(team_runtime, locale="ja")

    assert app.session_state["language"] == "ja"
    assert get_user(team_runtime.engine, owner_id(team_runtime)).language is None


def test_switch_is_stored_for_next_session(team_runtime):
    app = new_session(team_runtime, locale="en-US")
    assert app.session_state["language"] == "en"

    app.sidebar.selectbox(key="language").select("ja").run()

    assert not app.exception
    assert get_user(team_runtime.engine, owner_id(team_runtime)).language == "ja"
    # A reload or the OAuth round trip starts a new session, which opens in the stored language.
    reloaded = new_session(team_runtime, locale="en-US")
    assert reloaded.session_state["language"] == "ja"
    assert reloaded.title[0].value == "Salesforce 接続"


def test_choice_before_sign_in_is_kept(team_runtime):
    app = new_session(team_runtime, email=None, locale="en-US")
    app.sidebar.selectbox(key="language").select("ja").run()

    app.button(key="demo_owner").click().run()

    assert not app.exception
    assert demo_languages(team_runtime) == {
        "owner@demo.example": "ja",
        "admin@demo.example": None,
        "manager@demo.example": None,
        "member@demo.example": None,
    }


def test_sign_in_without_choice_stores_nothing(team_runtime):
    app = new_session(team_runtime, email=None, locale="ja-JP")

    app.button(key="demo_owner").click().run()

    assert not app.exception
    assert set(demo_languages(team_runtime).values()) == {None}


def test_set_language_rejects_unknown_language(team_runtime):
    with pytest.raises(ValueError, match="unknown screen language 'fr'"):
        set_language(team_runtime.engine, owner_id(team_runtime), "fr")
