"""A fresh installation outside demo mode in a browser: the first owner's set-up signs them in.

Deselect with ``-m "not browser"``. Without /usr/bin/chromium the test is skipped.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
import requests

from core.i18n import translate
from tests.browser_fixtures import (  # noqa: F401 (fixtures)
    CHROMIUM,
    CHROMIUM_ARGS,
    PLAYWRIGHT_MISSING,
    ROOT,
    START_TIMEOUT_SECONDS,
    AppServer,
    _stop,
    app_command,
    browser,
)
from tests.servers import free_port

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
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "APP_DATA_DIR": str(tmp_path),
        "APP_PUBLIC_URL": url,
        "APP_DEMO": "0",
        "DATABASE_URL": "",
        "APP_ENCRYPTION_KEYS": "",
    }
    log_path = tmp_path / "app.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            app_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = AppServer(url=url, data_dir=tmp_path, log_path=log_path)
    try:
        server.wait_until(
            lambda: process.poll() is not None or requests.get(f"{url}/healthz", timeout=5).status_code == 200,
            "GET /healthz to return 200",
            timeout=START_TIMEOUT_SECONDS,
        )
        if process.poll() is not None:
            raise AssertionError(f"the app exited with status {process.returncode}\n{server.log_tail()}")
        yield server
    finally:
        _stop(process)


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
