"""The console's single process: dashboard, HTTP routes and the sync worker.

Run with ``streamlit run app.py``. The dashboard script is dashboard.py; the
routes are Starlette routes served beside it by the same uvicorn server.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import streamlit as st
from starlette.routing import BaseRoute, Mount
from streamlit.runtime.pages_manager import PagesManager

from core.demo_booking import demo_booking_routes
from core.demo_org import create_demo_org_app
from core.demo_seed import start_demo_seeding
from core.logging_setup import configure_logging
from core.runtime import get_runtime
from core.sync.worker import SyncWorker
from core.web.auth_routes import auth_routes
from core.web.health import health_routes
from core.web.hooks import hook_routes
from core.web.oauth_callback import oauth_routes
from core.web.route import route_routes

configure_logging()
logger = logging.getLogger("app")

# NOTE: Streamlit 1.67 treats a pages/ folder beside the entry script as an old
# style multipage app until the first st.navigation call of the process, so the
# first visitor of /connection would get pages/connection.py without the
# sidebar of dashboard.py. This internal flag is what st.navigation itself
# clears; recheck it when upgrading Streamlit.
PagesManager.uses_pages_directory = False

runtime = get_runtime()

routes: list[BaseRoute] = [
    *health_routes(runtime),
    *oauth_routes(runtime),
    *hook_routes(runtime),
    *auth_routes(runtime),
    *route_routes(runtime),
]
if runtime.settings.demo:
    demo_org = create_demo_org_app(
        runtime.settings.demo_org_database,
        callback_urls=[runtime.settings.callback_url],
    )
    routes.append(Mount("/demo-org", app=demo_org))
    routes.extend(demo_booking_routes(runtime))


@asynccontextmanager
async def lifespan(_app):
    worker = SyncWorker(runtime)
    runtime.worker = worker
    worker.start()
    if runtime.settings.demo:
        # Seeding connects through the demo org's HTTP endpoints, which respond
        # only once this start-up hook has returned, so it runs in a thread.
        start_demo_seeding(runtime)
    logger.info("console started (demo mode %s) at %s", runtime.settings.demo, runtime.settings.public_url)
    yield
    worker.stop()
    logger.info("console stopped")


app = st.App("dashboard.py", routes=routes, lifespan=lifespan)
