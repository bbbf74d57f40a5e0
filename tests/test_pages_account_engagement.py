"""The Account Engagement page: gate, redirect URL, rule editor with save problems and stale saves, test panel."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import load_catalog
from core.routing import Join, Operator, RuleStatus
from core.routing.log import RoutingOutcome
from core.routing.store import get_form_routing, get_or_create_form_routing, save_rules
from core.runtime import Runtime
from core.store.db import session_scope
from core.store.models import AccountEngagementForm, ConnectionStatus, Plan, Role, SalesforceConnection, Team
from core.web.route import PageKind
from tests.page_support import DASHBOARD, SESSION_TOKEN_KEY, ensure_member, page_runtime, session_token_for, texts
from tests.routing_fixtures import FORM_ID, NOW, RoutingTeam, sample_rules, seed_routing_team

PAGE = "pages/account_engagement.py"
OWNER_EMAIL = "owner@example.com"


@pytest.fixture
def ae_runtime(tmp_path: Path) -> Runtime:
    with page_runtime(tmp_path, APP_DEMO="0", APP_PUBLIC_URL="https://console.example.com") as runtime:
        yield runtime


@pytest.fixture
def team(ae_runtime: Runtime) -> RoutingTeam:
    """The routing team with its cached form and no routing yet."""
    return seed_routing_team(ae_runtime.engine)


@pytest.fixture
def routed_team(team: RoutingTeam) -> RoutingTeam:
    """The routing team whose form has the sample rules saved (version 2)."""
    get_or_create_form_routing(team.engine, team.owner, team.id, FORM_ID, NOW)
    save_rules(team.engine, team.owner, team.id, FORM_ID, sample_rules(team), 1, NOW)
    return team


def open_screen(team: RoutingTeam, *, email: str = OWNER_EMAIL, role: Role = Role.OWNER, language: str = "en") -> AppTest:
    """Run the dashboard signed in as email with role in team, on the team, and switch to the screen."""
    app = AppTest.from_file(DASHBOARD, default_timeout=30)
    app.session_state["language"] = language
    app.session_state["team_id"] = team.id
    user_id = ensure_member(team.engine, email, role, [team.id])
    app.session_state[SESSION_TOKEN_KEY] = session_token_for(team.engine, user_id)
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def widget_key(app: AppTest, team: RoutingTeam, *parts: object) -> str:
    """Return the key of an editor widget in the editor's current revision."""
    revision = app.session_state[f"ae_{team.id}_{FORM_ID}_revision"]
    return f"ae_{team.id}_{FORM_ID}_w{revision}_" + "_".join(str(part) for part in parts)


def draft_rule_ids(app: AppTest, team: RoutingTeam) -> list[str]:
    return [rule.id for rule in app.session_state[f"ae_{team.id}_{FORM_ID}_draft"].rules]


def click(app: AppTest, key: str) -> AppTest:
    app.button(key=key).click().run()
    assert not app.exception, app.exception
    return app


def test_manager_sees_rules_read_only(routed_team):
    app = open_screen(routed_team, email="manager@example.com", role=Role.MANAGER)

    shown = texts(app)
    assert "Team owners on the Team plan or above can change these settings." in shown
    assert "Large companies" in shown
    assert "employees is greater than 300" in shown
    assert "country is one of “Japan, 日本, JP”" in shown
    assert "Fallback booking page: Intro call" in shown
    assert [button for button in app.button if button.label == "Save rules"] == []
    assert [button for button in app.button if button.label == "Refresh forms"] == []
    assert [code for code in app.code if "/route/" in code.value] == []


def test_owner_on_pro_plan_is_read_only(routed_team):
    with session_scope(routed_team.engine) as session:
        team_row = session.get(Team, routed_team.id)
        team_row.plan = Plan.PRO
        session.add(team_row)

    app = open_screen(routed_team)

    assert "Team owners on the Team plan or above" in texts(app)
    assert [button for button in app.button if button.label == "Save rules"] == []


def test_owner_sets_up_routing_and_gets_url(team):
    app = open_screen(team)

    [create] = [button for button in app.button if button.label == "Set up routing for this form"]
    create.click().run()

    routing = get_form_routing(team.engine, team.id, FORM_ID)
    assert routing is not None
    [url] = [code.value for code in app.code if "/route/" in code.value]
    assert url.startswith(f"https://console.example.com/route/{routing.form_key}?")
    assert "email={{Recipient.Email}}" in url
    assert "employees={{Recipient.employees}}" in url


def test_add_rule_and_save(team):
    get_or_create_form_routing(team.engine, team.owner, team.id, FORM_ID, NOW)
    app = open_screen(team)

    click(app, widget_key(app, team, "add_rule"))
    [rule_id] = draft_rule_ids(app, team)
    app.text_input(key=widget_key(app, team, rule_id, "name")).input("Big accounts")
    app.selectbox(key=widget_key(app, team, rule_id, 0, "field")).select("employees")
    app.selectbox(key=widget_key(app, team, rule_id, 0, "operator")).select("greater_than").run()
    app.text_input(key=widget_key(app, team, rule_id, 0, "value")).input("500")
    app.selectbox(key=widget_key(app, team, rule_id, "target")).select(team.demo_page_id)
    app.selectbox(key=widget_key(app, team, "fallback")).select(team.intro_page_id)
    click(app, widget_key(app, team, "save"))

    assert "The rules were saved as version 2." in texts(app)
    stored = get_form_routing(team.engine, team.id, FORM_ID)
    [rule] = stored.rule_set.rules
    assert rule.name == "Big accounts"
    assert rule.conditions[0].field == "employees"
    assert rule.conditions[0].operator == "greater_than"
    assert rule.conditions[0].value == "500"
    assert rule.target_page_id == team.demo_page_id
    assert stored.rule_set.fallback_page_id == team.intro_page_id


def test_is_one_of_takes_one_value_per_line(team):
    get_or_create_form_routing(team.engine, team.owner, team.id, FORM_ID, NOW)
    app = open_screen(team)

    click(app, widget_key(app, team, "add_rule"))
    [rule_id] = draft_rule_ids(app, team)
    app.selectbox(key=widget_key(app, team, rule_id, 0, "field")).select("country")
    app.selectbox(key=widget_key(app, team, rule_id, 0, "operator")).select("is_one_of").run()
    app.text_area(key=widget_key(app, team, rule_id, 0, "values")).input("Japan\n日本\n\nJP")
    app.selectbox(key=widget_key(app, team, rule_id, "target")).select(team.intro_page_id)
    click(app, widget_key(app, team, "save"))

    [rule] = get_form_routing(team.engine, team.id, FORM_ID).rule_set.rules
    assert rule.conditions[0].value == ["Japan", "日本", "JP"]


def test_invalid_rules_show_problems_at_fields(team):
    get_or_create_form_routing(team.engine, team.owner, team.id, FORM_ID, NOW)
    app = open_screen(team)

    click(app, widget_key(app, team, "add_rule"))
    [rule_id] = draft_rule_ids(app, team)
    app.selectbox(key=widget_key(app, team, rule_id, 0, "field")).select("employees")
    app.selectbox(key=widget_key(app, team, rule_id, 0, "operator")).select("greater_than").run()
    app.text_input(key=widget_key(app, team, rule_id, 0, "value")).input("many")
    click(app, widget_key(app, team, "save"))

    errors = [error.value for error in app.error]
    assert "The rules were not saved. Fix the problems shown below and save again." in errors
    assert "“many” is not a number. Enter digits, such as 1000 or 1,000." in errors
    assert "Choose the booking page this rule sends visitors to." in errors
    assert get_form_routing(team.engine, team.id, FORM_ID).version == 1
    # The draft keeps what the user typed, so the problems can be fixed in place.
    assert app.text_input(key=widget_key(app, team, rule_id, 0, "value")).value == "many"


def test_stale_save_is_refused_and_reload_recovers(routed_team):
    team = routed_team
    app = open_screen(team)
    app.text_input(key=widget_key(app, team, "large", "name")).input("Enterprise")

    # Another owner saves while this editor is open.
    save_rules(team.engine, team.owner, team.id, FORM_ID, sample_rules(team, fallback=False), 2, NOW)
    click(app, widget_key(app, team, "save"))

    assert ("Someone else saved these rules while you were editing. Reload the page and make your change again."
            in [error.value for error in app.error])
    stored = get_form_routing(team.engine, team.id, FORM_ID)
    assert stored.version == 3
    assert stored.rule_set.rules[0].name == "Large companies"

    click(app, widget_key(app, team, "reload"))
    assert app.text_input(key=widget_key(app, team, "large", "name")).value == "Large companies"
    assert app.selectbox(key=widget_key(app, team, "fallback")).value is None


def test_discard_drops_rejected_value(routed_team):
    team = routed_team
    app = open_screen(team)
    app.text_input(key=widget_key(app, team, "large", 0, "value")).input("abc")
    click(app, widget_key(app, team, "save"))
    assert "“abc” is not a number. Enter digits, such as 1000 or 1,000." in [error.value for error in app.error]

    click(app, widget_key(app, team, "reload"))

    assert app.text_input(key=widget_key(app, team, "large", 0, "value")).value == "300"
    assert [error.value for error in app.error] == []
    click(app, widget_key(app, team, "save"))
    assert "The rules were saved as version 3." in texts(app)


def test_reorder_duplicate_disable_and_delete(routed_team):
    team = routed_team
    app = open_screen(team)

    click(app, widget_key(app, team, "japan", "up"))
    assert draft_rule_ids(app, team) == ["japan", "large"]
    click(app, widget_key(app, team, "large", "duplicate"))
    copy_id = draft_rule_ids(app, team)[2]
    app.toggle(key=widget_key(app, team, copy_id, "enabled")).set_value(False)
    click(app, widget_key(app, team, "japan", "delete"))
    click(app, widget_key(app, team, "save"))

    rules = get_form_routing(team.engine, team.id, FORM_ID).rule_set.rules
    assert [rule.id for rule in rules] == ["large", copy_id]
    assert rules[1].name == "Large companies (copy)"
    assert rules[1].enabled is False
    assert rules[0].enabled is True


def test_remove_condition_keeps_the_others(routed_team):
    team = routed_team
    app = open_screen(team)

    click(app, widget_key(app, team, "large", "add_condition"))
    app.selectbox(key=widget_key(app, team, "large", 1, "field")).select("country")
    app.text_input(key=widget_key(app, team, "large", 1, "value")).input("Japan")
    click(app, widget_key(app, team, "large", 0, "remove"))

    assert app.selectbox(key=widget_key(app, team, "large", 0, "field")).value == "country"
    assert app.text_input(key=widget_key(app, team, "large", 0, "value")).value == "Japan"


def test_panel_explains_each_condition(routed_team):
    team = routed_team
    app = open_screen(team)
    prefix = f"ae_test_{team.id}_{FORM_ID}_"

    app.text_input(key=prefix + "employees").input("120")
    app.text_input(key=prefix + "country").input("JP")
    click(app, prefix + "run")

    shown = texts(app)
    assert "Rule “Japan” matches: the visitor goes to Intro call." in shown
    assert "❌ employees is 120, which is not greater than 300." in shown
    assert "✅ country is “JP”, which is one of “Japan, 日本, JP”." in shown
    # The test panel routes nobody, so no routing log row appears.
    from sqlmodel import select

    from core.store.models import RoutingLog

    with session_scope(team.engine) as session:
        assert session.exec(select(RoutingLog)).all() == []


def test_panel_uses_unsaved_edits(routed_team):
    team = routed_team
    app = open_screen(team)
    prefix = f"ae_test_{team.id}_{FORM_ID}_"

    app.text_input(key=widget_key(app, team, "large", 0, "value")).input("100")
    app.text_input(key=prefix + "employees").input("120")
    click(app, prefix + "run")

    assert "Rule “Large companies” matches: the visitor goes to Product demo." in texts(app)


def test_panel_in_japanese(routed_team):
    team = routed_team
    app = open_screen(team, language="ja")
    prefix = f"ae_test_{team.id}_{FORM_ID}_"

    app.text_input(key=prefix + "country").input("Germany")
    click(app, prefix + "run")

    shown = texts(app)
    assert "どのルールにも一致しません。訪問者は既定のページ Intro call に移動します。" in shown
    assert "country は「Germany」で、「Japan, 日本, JP」のいずれにも一致しません。" in shown


def test_toggles_save_at_once(routed_team):
    team = routed_team
    app = open_screen(team)

    app.toggle(key=f"ae_{team.id}_{FORM_ID}_enabled").set_value(False).run()
    app.toggle(key=f"ae_{team.id}_{FORM_ID}_verify_with_prospect").set_value(True).run()

    stored = get_form_routing(team.engine, team.id, FORM_ID)
    assert stored.enabled is False
    assert stored.verify_with_prospect is True
    assert "Routing is off" in texts(app)


def test_prerequisites_without_connection(team):
    app = open_screen(team)

    shown = texts(app)
    assert "Connect the team to Salesforce on the Connection page first" in shown
    assert "Reconnect with Account Engagement access" not in [button.label for button in app.button]


def test_missing_scope_offers_reconnect(team, ae_runtime):
    with session_scope(team.engine) as session:
        session.add(
            SalesforceConnection(
                team_id=team.id,
                login_url="https://login.salesforce.com",
                consumer_key="3MVGkey",
                consumer_secret_enc=ae_runtime.box.encrypt("secret"),
                access_token_enc=ae_runtime.box.encrypt("token"),
                instance_url="https://example.my.salesforce.com",
                scope="api refresh_token",
                status=ConnectionStatus.CONNECTED,
            )
        )
    app = open_screen(team)

    assert "The Salesforce connection was made without the pardot_api scope." in texts(app)
    click(app, "ae_reconnect")

    [link] = [block.value for block in app.markdown if "Continue to Salesforce" in block.value]
    assert "https://login.salesforce.com/services/oauth2/authorize?" in link
    assert "scope=api+refresh_token+pardot_api" in link


@pytest.mark.parametrize(
    ("prefix", "names"),
    [
        ("account_engagement.operator", [operator.value for operator in Operator]),
        ("account_engagement.summary", [operator.value for operator in Operator]),
        ("account_engagement.rules.join", [join.value for join in Join]),
        ("account_engagement.rules.join_word", [join.value for join in Join]),
        ("account_engagement.test.status", [status.value for status in RuleStatus]),
        ("account_engagement.setup", ["met", "not_met", "unknown"]),
        ("routing_log.outcome", [outcome.value for outcome in RoutingOutcome]),
        ("route.page", [f"{kind.value}.{part}" for kind in PageKind if kind is not PageKind.REDIRECT
                        for part in ("title", "message")]),
    ],
)
def test_keys_built_from_values_exist(prefix, names):
    catalog = load_catalog()

    assert [name for name in names if f"{prefix}.{name}" not in catalog] == []


def add_cached_form(team: RoutingTeam, form_id: int, name: str) -> None:
    with session_scope(team.engine) as session:
        session.add(
            AccountEngagementForm(team_id=team.id, form_id=form_id, name=name, fields=["email", "country"], fetched_at=NOW)
        )


def test_routed_form_is_preselected(routed_team):
    # "Contact us EN" sorts before "Demo request JP", but only the latter has routing rules.
    add_cached_form(routed_team, 1002, "Contact us EN")

    app = open_screen(routed_team)

    assert app.selectbox(key="ae_form").value == FORM_ID
    assert "Routing rules for Demo request JP" in texts(app)


def test_form_with_rules_wins_over_empty_routing(routed_team):
    add_cached_form(routed_team, 1002, "Contact us EN")
    get_or_create_form_routing(routed_team.engine, routed_team.owner, routed_team.id, 1002, NOW)

    app = open_screen(routed_team)

    assert app.selectbox(key="ae_form").value == FORM_ID


def test_first_form_without_any_routing(team):
    add_cached_form(team, 1002, "Contact us EN")

    app = open_screen(team)

    assert app.selectbox(key="ae_form").value == 1002
