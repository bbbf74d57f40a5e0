"""The rule editor in a browser: what the browser shows after Discard, which AppTest cannot see.

Deselect with ``-m "not browser"``. Without /usr/bin/chromium the tests are skipped.
"""

from __future__ import annotations

import pytest

from tests.browser_fixtures import CHROMIUM, PLAYWRIGHT_MISSING, app_server, browser  # noqa: F401 (fixtures)
from tests.test_browser import UI_TIMEOUT_MS, open_screen, page, sign_in, text  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium with `apt-get install chromium` (as root)",
    ),
]

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect


def test_discard_shows_stored_value_again(page, app_server):  # noqa: F811 (fixture)
    sign_in(page, app_server, "owner")
    open_screen(page, "nav.account_engagement", "account_engagement.title")
    # The first rule of the demo form is "Companies over 300 employees": employees is greater than 300.
    value = page.get_by_role("textbox", name=text("account_engagement.rules.value"), exact=True).first
    expect(value).to_have_value("300")
    not_a_number = text("routing.problem.value_not_number").replace("{value}", "abc")

    value.fill("abc")
    value.press("Enter")
    page.get_by_role("button", name=text("account_engagement.rules.save"), exact=True).click()
    expect(page.get_by_text(not_a_number)).to_be_visible()

    page.get_by_role("button", name=text("account_engagement.rules.reload"), exact=True).click()
    expect(page.get_by_text(not_a_number)).to_have_count(0)
    value = page.get_by_role("textbox", name=text("account_engagement.rules.value"), exact=True).first
    expect(value).to_have_value("300")

    page.get_by_role("button", name=text("account_engagement.rules.save"), exact=True).click()
    expect(page.get_by_text(text("account_engagement.rules.saved").split("{")[0].strip())).to_be_visible()
    expect(page.get_by_text(not_a_number)).to_have_count(0)
