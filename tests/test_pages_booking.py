"""The Booking pages page: editing page settings, the webhook secret and the demo test booking."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sqlmodel import select
from starlette.applications import Starlette

from core.booking_pages import BookingPageSettings, list_booking_pages, save_booking_page
from core.runtime import Runtime
from core.store.db import session_scope
from core.store.models import OutboxEvent, OwnerRule, SyncLog, Team
from core.teams import TeamView, create_team, read_webhook_secret, set_webhook_secret
from core.sync.worker import SyncWorker
from core.web.hooks import hook_routes
from core.demo_org.seed import JOHN_DOE_ID, KEN_ID
from tests.page_support import (
    NOW,
    connect_to_demo_org,
    open_page,
    owner_actor,
    page_runtime,
    serve_demo_console,
    shown,
    texts,
)
from tests.servers import free_port, serve

PAGE = "pages/booking_pages.py"
SECRET = "whsec_0123456789abcdef"


@pytest.fixture
def team_runtime(tmp_path: Path) -> tuple[Runtime, TeamView]:
    with page_runtime(tmp_path, APP_PUBLIC_URL="https://console.example.com", APP_DEMO="0") as runtime:
        yield runtime, create_team(runtime.engine, "Sales Tokyo", "sales-tokyo", NOW)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_new_page_is_saved_from_form(team_runtime, language):
    runtime, team = team_runtime
    app = open_page(PAGE, language)
    app.text_input(key="bp0_name").input("Intro call")
    app.text_input(key="bp0_event_type_uid").input("ETINTRO")
    app.text_input(key="bp0_public_url").input("https://booking.example.com/intro")
    app.text_area(key="bp0_host_emails").input("Hanako@Example.com, ken@example.com")
    app.toggle(key="bp0_integration").set_value(True)
    app.radio(key="bp0_event_owner_rule").set_value(OwnerRule.FIXED).run()
    # Salesforce is not connected, so the owner pickers are User Id boxes.
    app.text_input(key="bp0_event_owner").input("005000000000001AAA")
    app.text_input(key="bp0_subject").input("{page_name} / {guest_name}")
    app.session_state["bp0_answers"] = {
        "edited_rows": {},
        "added_rows": [{"label": "Company name", "field": "Company"}],
        "deleted_rows": [],
    }
    app.button(key="bp0_save").click().run()

    assert not app.exception
    assert app.success[0].value == ("Saved." if language == "en" else "保存しました。")
    [page] = list_booking_pages(runtime.engine, team.id)
    assert page.name == "Intro call"
    assert page.event_type_uid == "ETINTRO"
    assert page.host_emails == ["hanako@example.com", "ken@example.com"]
    assert page.integration_enabled is True
    assert page.event_owner_rule == OwnerRule.FIXED
    assert page.event_owner_id == "005000000000001AAA"
    assert page.subject_template == "{page_name} / {guest_name}"
    assert page.answer_mapping == {"Company name": "Company"}
    # The editor now shows the saved page.
    assert app.selectbox(key="bp_selected").value == page.id


def test_existing_page_is_updated(team_runtime):
    runtime, team = team_runtime
    settings = BookingPageSettings(name="Intro call", event_type_uid="ETINTRO")
    page = save_booking_page(runtime.engine, team.id, settings, NOW, actor=owner_actor(runtime.engine))
    app = open_page(PAGE)
    app.selectbox(key="bp_selected").set_value(page.id).run()
    app.text_input(key=f"bp{page.id}_lead_source").input("Web")
    app.button(key=f"bp{page.id}_save").click().run()

    assert not app.exception
    [stored] = list_booking_pages(runtime.engine, team.id)
    assert stored.lead_source == "Web"
    assert "Intro call" in app.dataframe[0].value["name"].tolist()


def elements_in_order(app) -> list:
    """Return the page's elements top to bottom, without the layout blocks."""
    return [node for node in app.main if node.type not in ("block", "unknown")]


def element_after(app, key: str):
    """Return the element right under the widget with key."""
    elements = elements_in_order(app)
    position = next(index for index, element in enumerate(elements) if getattr(element, "key", None) == key)
    return elements[position + 1]


def fill_invalid_page(app) -> None:
    app.text_input(key="bp0_name").input("Intro call")
    app.text_input(key="bp0_event_type_uid").input("ETINTRO")
    app.text_input(key="bp0_public_url").input("booking.example.com")
    app.text_input(key="bp0_subject").input("{guest_company}")
    app.button(key="bp0_save").click().run()


@pytest.mark.parametrize(
    ("language", "summary", "message"),
    [
        (
            "en",
            "Not saved. Check these settings: Public URL, Event subject.",
            '"booking.example.com" is not a valid URL',
        ),
        (
            "ja",
            "保存できませんでした。次の設定を確認してください: 公開 URL、行動の件名",
            "「booking.example.com」は正しい URL ではありません",
        ),
    ],
)
def test_invalid_values_are_shown_at_their_fields(team_runtime, language, summary, message):
    runtime, team = team_runtime
    app = open_page(PAGE, language)

    fill_invalid_page(app)

    assert not app.exception
    assert list_booking_pages(runtime.engine, team.id) == []
    assert len(app.error) == 3
    assert app.error[0].value == summary
    under_url = element_after(app, "bp0_public_url")
    assert under_url.type == "error"
    assert message in shown(under_url.value)
    assert "{guest_company}" in shown(element_after(app, "bp0_subject").value)
    assert element_after(app, "bp0_save").type == "warning"


def test_summary_comes_before_the_fields(team_runtime):
    app = open_page(PAGE)

    fill_invalid_page(app)

    elements = elements_in_order(app)
    summary = elements.index(app.error[0])
    name_field = next(index for index, element in enumerate(elements) if getattr(element, "key", None) == "bp0_name")
    assert summary < name_field


def test_fixed_field_loses_its_message(team_runtime):
    runtime, team = team_runtime
    app = open_page(PAGE)
    fill_invalid_page(app)

    app.text_input(key="bp0_public_url").input("https://booking.example.com/intro").run()

    assert not app.exception
    assert [error.value for error in app.error][0] == "Not saved. Check these settings: Event subject."
    assert len(app.error) == 2
    assert element_after(app, "bp0_public_url").key == "bp0_host_emails"

    app.text_input(key="bp0_subject").input("{page_name}: {guest_name}")
    app.button(key="bp0_save").click().run()

    assert not app.exception
    assert app.success[0].value == "Saved."
    assert not app.error
    [page] = list_booking_pages(runtime.engine, team.id)
    assert page.public_url == "https://booking.example.com/intro"


def test_taken_event_type_is_shown_at_its_field(team_runtime):
    runtime, team = team_runtime
    owner = owner_actor(runtime.engine)
    save_booking_page(runtime.engine, team.id, BookingPageSettings(name="Intro call", event_type_uid="ETINTRO"), NOW,
                      actor=owner)
    app = open_page(PAGE)
    app.selectbox(key="bp_selected").set_value(0).run()
    app.text_input(key="bp0_name").input("Second page")
    app.text_input(key="bp0_event_type_uid").input("ETINTRO")
    app.button(key="bp0_save").click().run()

    assert not app.exception
    assert 'already used by the booking page "Intro call"' in element_after(app, "bp0_event_type_uid").value
    assert len(list_booking_pages(runtime.engine, team.id)) == 1


@pytest.mark.parametrize("language", ["en", "ja"])
def test_webhook_secret_is_set_and_never_shown(team_runtime, language):
    runtime, team = team_runtime
    app = open_page(PAGE, language)
    assert "https://console.example.com/hooks/jicoo/sales-tokyo" in [code.value for code in app.code]

    app.text_input(key="webhook_secret_value").input(SECRET)
    app.button[-1].click().run()

    assert not app.exception
    assert read_webhook_secret(runtime.engine, runtime.box, team.id) == SECRET
    assert SECRET not in texts(app)
    expected = "A signing secret is set." if language == "en" else "署名シークレットは設定済みです。"
    assert expected in texts(app)


def test_test_booking_reaches_webhook_endpoint(tmp_path):
    port = free_port()
    with page_runtime(tmp_path, APP_PUBLIC_URL=f"http://127.0.0.1:{port}", APP_DEMO="1") as runtime:
        team = create_team(runtime.engine, "Demo Sales", "demo", NOW)
        set_webhook_secret(runtime.engine, runtime.box, team.id, SECRET, NOW, actor=owner_actor(runtime.engine))
        save_booking_page(
            runtime.engine,
            team.id,
            BookingPageSettings(
                name="Intro call",
                event_type_uid="ETDEMOINTRO",
                integration_enabled=True,
                answer_mapping={"Company name": "Company"},
            ),
            NOW,
            actor=owner_actor(runtime.engine),
        )
        with serve(Starlette(routes=hook_routes(runtime)), port=port):
            app = open_page(PAGE)
            app.radio(key="test_guest").set_value("new_customer")
            app.button(key="test_send").click().run()

        assert not app.exception
        assert any("HTTP 202" in message.value for message in app.success)
        with session_scope(runtime.engine) as session:
            outbox = session.exec(select(OutboxEvent)).one()
            log = session.exec(select(SyncLog)).one()
            assert session.get(Team, outbox.team_id).slug == "demo"
        assert outbox.event_type_uid == "ETDEMOINTRO"
        assert outbox.payload["object"]["answers"] == [{"question": "Company name", "content": ["Sample Trading Inc."]}]
        assert log.guest_email.startswith("sample-")


def test_test_booking_without_secret_says_what_to_do(tmp_path):
    with page_runtime(tmp_path, APP_DEMO="1") as runtime:
        team = create_team(runtime.engine, "Demo Sales", "demo", NOW)
        save_booking_page(
            runtime.engine,
            team.id,
            BookingPageSettings(name="Intro call", event_type_uid="ET1"),
            NOW,
            actor=owner_actor(runtime.engine),
        )
        app = open_page(PAGE, "ja")
        app.button(key="test_send").click().run()

    assert not app.exception
    assert app.error[0].value.startswith("先に Webhook の署名シークレットを設定してから")


def test_owner_pickers_list_org_users(tmp_path):
    with serve_demo_console(tmp_path) as (runtime, _):
        team = create_team(runtime.engine, "Demo Sales", "demo", NOW)
        connect_to_demo_org(runtime, team.id)
        app = open_page(PAGE)
        app.radio(key="bp0_event_owner_rule").set_value(OwnerRule.FIXED).run()
        picker = app.selectbox(key="bp0_event_owner")
        assert "Ken Suzuki <ken.suzuki@demo-org.example>" in picker.options
        assert not [option for option in picker.options if "Old Timer" in option]
        picker.select(KEN_ID).run()
        app.text_input(key="bp0_name").input("Intro call")
        app.text_input(key="bp0_event_type_uid").input("ETINTRO")
        app.button(key="bp0_save").click().run()

    assert not app.exception
    [page] = list_booking_pages(runtime.engine, team.id)
    assert page.event_owner_id == KEN_ID


def test_existing_contact_sample_syncs_to_event(tmp_path):
    with serve_demo_console(tmp_path) as (runtime, _):
        team = create_team(runtime.engine, "Demo Sales", "demo", NOW)
        set_webhook_secret(runtime.engine, runtime.box, team.id, SECRET, NOW, actor=owner_actor(runtime.engine))
        save_booking_page(
            runtime.engine,
            team.id,
            BookingPageSettings(name="Intro call", event_type_uid="ETDEMOINTRO", integration_enabled=True),
            NOW,
            actor=owner_actor(runtime.engine),
        )
        connect_to_demo_org(runtime, team.id)
        app = open_page(PAGE)
        app.radio(key="test_guest").set_value("existing_contact")
        app.button(key="test_send").click().run()
        SyncWorker(runtime).process_due(datetime.now(UTC))

        app.switch_page("pages/sync_log.py").run()

    assert not app.exception
    table = app.dataframe[0].value
    assert table["guest"].tolist() == ["John Doe"]
    assert table["outcome"].tolist() == ["Event created"]
    assert table["person"].iloc[0].endswith(f"/lightning/r/Contact/{JOHN_DOE_ID}/view")


@pytest.mark.parametrize(
    ("language", "company"), [("en", "Sample Trading Inc."), ("ja", "サンプル商事株式会社")]
)
def test_new_customer_sample_fills_company_once(tmp_path, language, company):
    with serve_demo_console(tmp_path) as (runtime, public_url):
        team = create_team(runtime.engine, "Demo Sales", "demo", NOW)
        set_webhook_secret(runtime.engine, runtime.box, team.id, SECRET, NOW, actor=owner_actor(runtime.engine))
        save_booking_page(
            runtime.engine,
            team.id,
            BookingPageSettings(
                name="Intro call",
                event_type_uid="ETDEMOINTRO",
                integration_enabled=True,
                # A bilingual form: each question in Japanese and in English.
                answer_mapping={
                    "会社名": "Company",
                    "電話番号": "Phone",
                    "Company": "Company",
                    "Phone": "Phone",
                },
            ),
            NOW,
            actor=owner_actor(runtime.engine),
        )
        connect_to_demo_org(runtime, team.id)
        app = open_page(PAGE, language)
        app.radio(key="test_guest").set_value("new_customer")
        app.button(key="test_send").click().run()
        SyncWorker(runtime).process_due(datetime.now(UTC))

        with session_scope(runtime.engine) as session:
            guest_email = session.exec(select(SyncLog)).one().guest_email
        leads = requests.get(f"{public_url}/demo-org/_admin/records/Lead", timeout=10).json()

    assert not app.exception
    [lead] = [lead for lead in leads if lead.get("Email") == guest_email]
    assert lead["Company"] == company
    assert lead["Phone"] == "03-1234-5678"
