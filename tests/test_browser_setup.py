"""A fresh installation outside demo mode in a browser: the first owner's set-up signs them in.

Deselect with ``-m "not browser"``. Without /usr/bin/chromium the test is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.i18n import translate
from tests.browser_fixtures import (  # noqa: F401 (fixtures)
    CHROMIUM,
    PLAYWRIGHT_MISSING,
    AppServer,
    browser,
    running_app,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium with `apt-get install chromium` (as root)",
    ),
]

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

UI_TIMEOUT_MS = 20_000
PASSWORD = "correct horse battery staple"


@pytest.fixture
def fresh_install(tmp_path) -> Iterator[AppServer]:
    """The app outside demo mode with an empty store, so it shows the first-owner form."""
    with running_app(tmp_path, demo=False) as server:
        yield server


def test_first_owner_is_signed_in_after_setup(browser, fresh_install):  # noqa: F811 (fixture)
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(f"{fresh_install.url}/")
        expect(page.get_by_role("heading", name=translate("auth.setup.title"))).to_be_visible(timeout=UI_TIMEOUT_MS)
        page.get_by_label(translate("auth.setup.name")).fill("Hanako Sato")
        page.get_by_label(translate("auth.setup.email")).fill("hanako@example.com")
        page.get_by_label(translate("auth.setup.password"), exact=True).fill(PASSWORD)
        page.get_by_label(translate("auth.setup.password_again")).fill(PASSWORD)
        page.get_by_label(translate("nav.team.name")).fill("Sales Tokyo")
        page.get_by_role("button", name=translate("auth.setup.submit")).click()

        expect(page.get_by_role("heading", name=translate("connection.title"))).to_be_visible(timeout=UI_TIMEOUT_MS)
        signed_in = translate("auth.sidebar.signed_in_as", name="Hanako Sato", email="hanako@example.com")
        expect(page.get_by_text(signed_in)).to_be_visible(timeout=UI_TIMEOUT_MS)
    finally:
        context.close()
