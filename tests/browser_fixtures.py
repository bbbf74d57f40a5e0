"""Fixtures for browser tests: the real app started with ``streamlit run`` and Debian's chromium driven by Playwright.

Import the fixtures into a test module by name::

    from tests.browser_fixtures import app_server, browser  # noqa: F401
"""

from __future__ import annotations

from contextlib import contextmanager

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Start-up took under 10 s on a two-core development machine; the limit leaves room for slower CI machines.
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 15
POLL_SECONDS = 0.25
LOG_TAIL_CHARACTERS = 4000
PLAYWRIGHT_MISSING = "Playwright is missing: pip install -r requirements.txt"


@dataclass(frozen=True)
class AppServer:
    """A running app: its base URL, data folder and the file its output goes to."""

    url: str
    data_dir: Path
    log_path: Path

    def log_tail(self) -> str:
        """Return the end of the app's output, for failure messages."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL_CHARACTERS:]

    def wait_until(self, condition, description: str, timeout: float = 30.0):
        """Call condition until it returns a true value, and return that value.

        Raises AssertionError with description and the app's output
        when timeout seconds pass first.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = condition()
            except requests.RequestException:
                result = None
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f} s waiting for {description}\n--- app output ---\n{self.log_tail()}"
                )
            time.sleep(POLL_SECONDS)


def app_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        # Files changed during the run must not reload the app's modules under the test.
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]


@contextmanager
def running_app(data_dir: Path, *, demo: bool) -> Iterator[AppServer]:
    """Run `streamlit run app.py` on a free loopback port with data_dir until the block ends.

    Yields once GET /healthz returns 200; raises AssertionError with the app's log when it exits early.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "APP_DATA_DIR": str(data_dir),
        "APP_PUBLIC_URL": url,
        "APP_DEMO": "1" if demo else "0",
        "DATABASE_URL": "",
        "APP_ENCRYPTION_KEYS": "",
        "DEMO_WEBHOOK_SECRET": "",
    }
    log_path = data_dir / "app.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            app_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = AppServer(url=url, data_dir=data_dir, log_path=log_path)
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


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app in demo mode on a free loopback port with its own data folder, once /healthz returns 200."""
    with running_app(tmp_path_factory.mktemp("browser-app"), demo=True) as server:
        yield server


def _stop(process: subprocess.Popen) -> None:
    """Stop the app's process group: SIGTERM first, SIGKILL when it does not exit in time."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, launched by Playwright; the test is skipped when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium with `apt-get install chromium` (as root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)

    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()
