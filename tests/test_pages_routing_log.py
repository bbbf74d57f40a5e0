"""The Routing log page: gate, masked emails, filters and paging."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.routing.log import RoutingOutcome, write_routing_log
from core.routing.store import get_or_create_form_routing
from core.store.db import session_scope
from core.store.models import Plan, Role, Team
from tests.page_support import DASHBOARD, SESSION_TOKEN_KEY, ensure_member, page_runtime, session_token_for, texts
from tests.routing_fixtures import FORM_ID, NOW, RoutingTeam, seed_routing_team

PAGE = "pages/routing_log.py"


@pytest.fixture
def logged_team(tmp_path: Path) -> RoutingTeam:
    """The routing team with 60 matched visitors and, newest, one fallback visitor."""
    with page_runtime(tmp_path, APP_DEMO="0") as runtime:
        team = seed_routing_team(runtime.engine)
        routing = get_or_create_form_routing(team.engine, team.owner, team.id, FORM_ID, NOW)
        common = {"form_key": routing.form_key, "team_id": team.id, "form_routing_id": routing.id}
        for number in range(60):
            write_routing_log(
                team.engine,
                outcome=RoutingOutcome.MATCHED,
                now=NOW + timedelta(minutes=number),
                matched_rule_id="large",
                matched_rule_name="Large companies",
                booking_page_id=team.demo_page_id,
                answers={"email": f"visitor{number}@example.com", "employees": "900"},
                **common,
            )
        write_routing_log(
            team.engine,
            outcome=RoutingOutcome.FALLBACK,
            now=NOW + timedelta(hours=3),
            booking_page_id=team.intro_page_id,
            answers={"email": "taro@example.co.jp", "country": "Germany"},
            **common,
        )
        yield team


def open_log(team: RoutingTeam, *, email: str = "manager@example.com", role: Role = Role.MANAGER,
             language: str = "en") -> AppTest:
    app = AppTest.from_file(DASHBOARD, default_timeout=30)
    app.session_state["language"] = language
    app.session_state["team_id"] = team.id
    app.session_state[SESSION_TOKEN_KEY] = session_token_for(team.engine, ensure_member(team.engine, email, role, [team.id]))
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def table(app: AppTest):
    return app.dataframe[0].value


def test_manager_sees_masked_rows(logged_team):
    app = open_log(logged_team)

    rows = table(app)
    assert len(rows) == 50
    newest = rows.iloc[0]
    assert newest["email"] == "t***@example.co.jp"
    assert newest["outcome"] == "Fallback page"
    assert newest["booking_page"] == "Intro call"
    assert newest["form"] == "Demo request JP"
    assert "taro@example.co.jp" not in newest["answers"]
    assert "61 visitors, page 1 of 2, newest first." in texts(app)


def test_second_page(logged_team):
    app = open_log(logged_team)

    app.number_input(key="routing_log_page").set_value(2).run()

    assert len(table(app)) == 11


def test_outcome_filter(logged_team):
    app = open_log(logged_team)

    app.multiselect(key="routing_log_outcomes").set_value(["fallback"]).run()

    rows = table(app)
    assert len(rows) == 1
    assert rows.iloc[0]["rule"] == "-"


def test_form_filter_lists_routed_forms(logged_team):
    app = open_log(logged_team)

    assert "Demo request JP" in app.selectbox(key="routing_log_form").options


def test_member_cannot_view(logged_team):
    app = open_log(logged_team, email="member@example.com", role=Role.MEMBER)

    assert "cannot view the routing log. It needs the Manager role or higher." in texts(app)
    assert len(app.dataframe) == 0


def test_pro_plan_cannot_view(logged_team):
    with session_scope(logged_team.engine) as session:
        team_row = session.get(Team, logged_team.id)
        team_row.plan = Plan.PRO
        session.add(team_row)

    app = open_log(logged_team)

    assert "The routing log needs the Team plan or higher" in texts(app)
    assert len(app.dataframe) == 0


def test_japanese_labels(logged_team):
    app = open_log(logged_team, language="ja")

    assert "ルーティングログ" in texts(app)
    assert table(app).iloc[0]["outcome"] == "既定のページ"
