"""The whole product in a browser: the app started with ``streamlit run``, driven through Debian's chromium.

Deselect with ``-m "not browser"``. Without /usr/bin/chromium the tests are skipped.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
import requests

from core.i18n import load_catalog, translate
from core.sample_booking import SAMPLE_NEW_GUEST_NAME
from tests.browser_fixtures import (  # noqa: F401 (fixtures)
    CHROMIUM,
    PLAYWRIGHT_MISSING,
    AppServer,
    app_server,
    browser,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium with `apt-get install chromium` (as root)",
    ),
]

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

# Streamlit pages rerun on every interaction, and a slow CI machine can take several seconds per rerun.
UI_TIMEOUT_MS = 20_000
expect.set_options(timeout=UI_TIMEOUT_MS)
NEW_GUEST_NAME = SAMPLE_NEW_GUEST_NAME["en"]
ROUTED_GUEST = {"email": "taro.yamada.browser@example.jp", "first_name": "Taro", "last_name": "Yamada"}


@pytest.fixture
def page(browser):  # noqa: F811 (fixture)
    """A fresh English browser session, so each test signs in on its own."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


def text(key: str, language: str = "en") -> str:
    return translate(key, language)


def fixed_start(key: str, language: str = "en") -> str:
    """Return a catalog message up to its first full stop or parameter, for messages with parameters."""
    return re.split(r"[.{]", load_catalog()[key][language])[0].strip()


def sign_in(page, server: AppServer, role: str) -> None:
    """Sign in with the demo button for role and wait until the demo team's connection shows as connected.

    The demo org connection is made by a start-up thread, so the Connection
    page is reloaded until it reports it.
    """
    page.goto(f"{server.url}/")
    page.get_by_role("button", name=text(f"auth.demo.button.{role}")).click()
    expect(page.get_by_role("heading", name=text("connection.title"))).to_be_visible()

    connected = page.get_by_text(text("connection.status.connected"))

    def shows_connected() -> bool:
        try:
            expect(connected).to_be_visible(timeout=2_000)
        except AssertionError:
            page.reload()
            return False
        return True

    server.wait_until(shows_connected, "the Connection page to show the demo org as connected", timeout=60)


def open_screen(page, nav_key: str, title_key: str, language: str = "en") -> None:
    page.get_by_role("link", name=text(nav_key, language), exact=True).click()
    expect(page.get_by_role("heading", name=text(title_key, language), exact=True)).to_be_visible()


def wait_for_sync(server: AppServer) -> None:
    """Wait until the sync worker has no queued booking left."""
    server.wait_until(
        lambda: requests.get(f"{server.url}/healthz", timeout=5).json().get("queued") == 0,
        "the sync worker to empty its queue",
    )


def lead_url_of_row(page, server: AppServer, *row_texts: str) -> str:
    """Return the Lead link of the sync log row that shows every one of row_texts.

    The grid draws on a canvas, so rows are read from its accessible table;
    the page is reloaded until the row appears.
    """
    row = page.locator("[data-testid=stDataFrame] table[role=grid] tr")
    for row_text in row_texts:
        row = row.filter(has_text=row_text)
    lead_cell = row.first.locator("td").filter(has_text="/lightning/r/Lead/")

    def read_link() -> str | None:
        try:
            expect(lead_cell.first).to_be_attached(timeout=3_000)
        except AssertionError:
            page.reload()
            return None
        return lead_cell.first.inner_text().strip()

    return server.wait_until(read_link, f"a sync log row showing {row_texts} with a Lead link")


def test_manager_test_booking_reaches_demo_org(page, app_server):  # noqa: F811 (fixture)
    sign_in(page, app_server, "manager")

    open_screen(page, "nav.booking_pages", "booking_pages.title")
    page.get_by_role("radio", name=text("booking_pages.test.guest.new_customer")).check(force=True)
    page.get_by_role("button", name=text("booking_pages.test.send")).click()
    expect(page.get_by_text(fixed_start("booking_pages.test.sent"))).to_be_visible()
    wait_for_sync(app_server)

    open_screen(page, "nav.sync_log", "sync_log.title")
    lead_url = lead_url_of_row(page, app_server, NEW_GUEST_NAME, text("sync_log.outcome.created_lead"))
    assert lead_url.startswith(f"{app_server.url}/demo-org/lightning/r/Lead/")

    page.goto(lead_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Lead: {NEW_GUEST_NAME}")
    page.go_back()
    expect(page.get_by_role("heading", name=text("sync_log.title"), exact=True)).to_be_visible()

    page.get_by_role("combobox", name=text("common.language")).click()
    page.get_by_role("option", name="日本語").click()
    expect(page.get_by_role("heading", name=text("sync_log.title", "ja"), exact=True)).to_be_visible()


def turn_on_integration(page, page_name: str) -> None:
    """Switch on the Salesforce integration of page_name on the Booking pages screen and save it."""
    open_screen(page, "nav.booking_pages", "booking_pages.title")
    page.get_by_role("combobox", name=text("booking_pages.editor.choose"), exact=True).first.click()
    page.get_by_role("option", name=page_name, exact=True).click()
    expect(page.get_by_role("textbox", name=text("booking_pages.field.name"), exact=True)).to_have_value(page_name)
    integration = page.get_by_role("switch", name=text("booking_pages.field.integration_enabled"))
    # The previous page's editor lingers until the rerun has finished.
    expect(integration).to_have_count(1)
    if not integration.is_checked():
        integration.check(force=True)
    expect(integration).to_be_checked()
    page.get_by_role("button", name=text("common.save"), exact=True).click()
    expect(page.get_by_text(text("common.saved"))).to_be_visible()


def demo_org_leads(server: AppServer, email: str) -> list[dict]:
    response = requests.get(f"{server.url}/demo-org/_admin/records/Lead", timeout=10)
    response.raise_for_status()
    return [lead for lead in response.json() if (lead.get("Email") or "").lower() == email]


def test_routed_visitor_books_on_demo_page(page, app_server):  # noqa: F811 (fixture)
    # Large companies are routed to "Product demo"; its integration must be on for the booking to reach Salesforce.
    sign_in(page, app_server, "admin")
    turn_on_integration(page, "Product demo")

    query = urlencode({**ROUTED_GUEST, "employees": "1200", "country": "Japan"})
    page.goto(f"{app_server.url}/route/demo-request-jp?{query}")

    expect(page).to_have_url(re.compile(re.escape(f"{app_server.url}/demo-booking/product-demo?")))
    expect(page.get_by_role("heading", name="Product demo", level=1)).to_be_visible()
    expect(page.get_by_label(text("demo_booking.field.name"), exact=True)).to_have_value("Taro Yamada")
    expect(page.get_by_label(text("demo_booking.field.email"), exact=True)).to_have_value(ROUTED_GUEST["email"])

    page.get_by_role("radio").first.check()
    page.get_by_label("会社名").fill("Browser Test KK")
    page.get_by_role("button", name=text("demo_booking.submit")).click()

    expect(page.get_by_role("heading", name=text("demo_booking.done.title"))).to_be_visible()
    expect(page.get_by_role("link", name=text("demo_booking.done.open_log"))).to_have_attribute(
        "href", f"{app_server.url}/sync-log"
    )
    [lead] = app_server.wait_until(
        lambda: demo_org_leads(app_server, ROUTED_GUEST["email"]), "the routed guest's Lead in the demo org"
    )
    assert lead["LastName"] == "Yamada"
    assert lead["FirstName"] == "Taro"
    assert lead["Company"] == "Browser Test KK"


def test_member_sees_read_only_booking_pages(page, app_server):  # noqa: F811 (fixture)
    sign_in(page, app_server, "member")

    open_screen(page, "nav.booking_pages", "booking_pages.title")

    expect(page.get_by_text(fixed_start("auth.read_only.role")).first).to_be_visible()
    expect(page.get_by_role("textbox", name=text("booking_pages.field.name"), exact=True)).to_be_disabled()
    expect(page.get_by_role("switch", name=text("booking_pages.field.integration_enabled"))).to_be_disabled()
    expect(page.get_by_role("button", name=text("common.save"), exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name=text("booking_pages.test.send"))).to_be_disabled()
