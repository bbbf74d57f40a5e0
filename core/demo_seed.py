"""Demo data: the "Demo Sales" team, its booking pages and its demo org connection.

The connection is made the way a manager makes it: the console's own OAuth code
starts the flow, the demo org's authorize page is approved over HTTP, and the
console's callback route exchanges the code at the demo org's token endpoint.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import requests
from sqlmodel import select

from core.auth.accounts import seed_demo_users
from core.demo_booking import demo_booking_url, page_slug_of
from core.demo_org import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, approve_authorization
from core.pardot import SCOPES_WITH_ACCOUNT_ENGAGEMENT
from core.routing.demo import seed_demo_routing
from core.runtime import Runtime
from core.salesforce import oauth
from core.sample_booking import SampleGuest, send_sample_booking
from core.store.db import session_scope
from core.store.models import (
    BookingPage,
    CancellationAction,
    ConnectionStatus,
    OwnerRule,
    Plan,
    SalesforceConnection,
    Team,
)

logger = logging.getLogger(__name__)

DEMO_TEAM_SLUG = "demo"
DEMO_TEAM_NAME = "Demo Sales"
INTRO_EVENT_TYPE_UID = "ETDEMOINTRO"
PRODUCT_DEMO_EVENT_TYPE_UID = "ETDEMOPRODUCT"

# The demo booking page address of each seeded page ends in this slug.
DEMO_BOOKING_SLUGS = {INTRO_EVENT_TYPE_UID: "intro-call", PRODUCT_DEMO_EVENT_TYPE_UID: "product-demo"}
# Stores seeded before the demo booking page existed have these public URLs.
OLD_PUBLIC_URLS = {
    INTRO_EVENT_TYPE_UID: "https://booking.example.com/demo-sales/intro-call",
    PRODUCT_DEMO_EVENT_TYPE_UID: "https://booking.example.com/demo-sales/product-demo",
}

# How long the seeding thread waits for the app's own HTTP server to respond.
SERVER_WAIT_SECONDS = 60.0


def seed_demo_store(runtime: Runtime, now: datetime) -> tuple[int, bool]:
    """Create the demo team, its signing secret and booking pages unless they exist.

    Returns the team id and whether the team was created now.
    """
    settings = runtime.settings
    with session_scope(runtime.engine) as session:
        team = session.exec(select(Team).where(Team.slug == DEMO_TEAM_SLUG)).first()
        if team is not None:
            return team.id, False

        team = Team(
            slug=DEMO_TEAM_SLUG,
            name=DEMO_TEAM_NAME,
            webhook_secret_enc=runtime.box.encrypt(settings.demo_webhook_secret),
            plan=Plan.TEAM,
            created_at=now,
        )
        session.add(team)
        session.flush()

        session.add(
            BookingPage(
                team_id=team.id,
                name="Intro call",
                event_type_uid=INTRO_EVENT_TYPE_UID,
                public_url=demo_booking_url(settings.public_url, DEMO_BOOKING_SLUGS[INTRO_EVENT_TYPE_UID]),
                host_emails=["hanako.sato@demo-org.example"],
                integration_enabled=True,
                create_lead_for_new=True,
                create_event_for_existing=True,
                create_event_on_new_lead=True,
                event_owner_rule=OwnerRule.RECORD_OWNER,
                subject_template="{page_name}: {guest_name}",
                cancellation_action=CancellationAction.DELETE,
                lead_source="Web",
                answer_mapping={"会社名": "Company", "電話番号": "Phone", "Company": "Company", "Phone": "Phone"},
                updated_at=now,
            )
        )
        session.add(
            BookingPage(
                team_id=team.id,
                name="Product demo",
                event_type_uid=PRODUCT_DEMO_EVENT_TYPE_UID,
                public_url=demo_booking_url(settings.public_url, DEMO_BOOKING_SLUGS[PRODUCT_DEMO_EVENT_TYPE_UID]),
                host_emails=["ken.suzuki@demo-org.example"],
                integration_enabled=True,
                event_owner_rule=OwnerRule.HOST,
                subject_template="Product demo with {guest_name}",
                cancellation_action=CancellationAction.MARK_CANCELLED,
                answer_mapping={"会社名": "Company"},
                updated_at=now,
            )
        )

        team_id = team.id

    oauth.save_credentials(
        runtime.engine,
        runtime.box,
        team_id,
        login_url=settings.demo_org_url,
        consumer_key=DEMO_CONSUMER_KEY,
        consumer_secret=DEMO_CONSUMER_SECRET,
    )
    logger.info("created the demo team %r with two booking pages", DEMO_TEAM_SLUG)
    return team_id, True


def update_demo_booking_urls(runtime: Runtime, team_id: int, now: datetime) -> int:
    """Point the seeded booking pages of a demo store created earlier at this app's demo booking page.

    A page is changed only while its public URL is the one seeded before the
    demo booking page existed, or a demo booking page address of another
    APP_PUBLIC_URL; any other URL is kept. Returns how many pages changed.
    """
    changed = 0
    with session_scope(runtime.engine) as session:
        pages = session.exec(
            select(BookingPage).where(
                BookingPage.team_id == team_id, BookingPage.event_type_uid.in_(list(DEMO_BOOKING_SLUGS))
            )
        ).all()
        for page in pages:
            slug = DEMO_BOOKING_SLUGS[page.event_type_uid]
            expected_url = demo_booking_url(runtime.settings.public_url, slug)
            stale = page.public_url == OLD_PUBLIC_URLS[page.event_type_uid] or page_slug_of(page.public_url) == slug
            if stale and page.public_url != expected_url:
                page.public_url = expected_url
                page.updated_at = now
                session.add(page)
                changed += 1
    if changed:
        logger.info("pointed %d demo booking pages of team %s at the demo booking page", changed, team_id)
    return changed


def connect_demo_team(runtime: Runtime, team_id: int, http: requests.Session) -> None:
    """Connect the team to the demo org through its authorize page and token endpoint.

    Does nothing when the team is already connected.
    """
    with session_scope(runtime.engine) as session:
        connection = session.exec(
            select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)
        ).first()
        if connection is not None and connection.status == ConnectionStatus.CONNECTED:
            return

    authorize_url = oauth.start_authorization(
        runtime.engine,
        runtime.box,
        team_id,
        runtime.settings.callback_url,
        datetime.now(UTC),
        scopes=SCOPES_WITH_ACCOUNT_ENGAGEMENT,
    )
    callback_url = approve_authorization(http, authorize_url)
    # The console's own callback route completes the flow, as after a browser redirect.
    response = http.get(callback_url, allow_redirects=False, timeout=30)
    location = response.headers.get("location", "")
    if "oauth=ok" not in location:
        raise RuntimeError(f"the demo org connection failed: the callback redirected to {location!r}")
    logger.info("connected the demo team to the demo org")


def _wait_for_server(http: requests.Session, base_url: str) -> None:
    deadline = time.monotonic() + SERVER_WAIT_SECONDS
    while True:
        try:
            if http.get(f"{base_url}/healthz", timeout=5).status_code < 500:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the app did not respond at {base_url} within {SERVER_WAIT_SECONDS:.0f} s: "
                "set APP_PUBLIC_URL to the address this app listens on"
            )
        time.sleep(0.5)


def _send_demo_history(runtime: Runtime, team_id: int, http: requests.Session) -> None:
    """Send two sample bookings through the webhook endpoint so the sync log has rows."""
    with session_scope(runtime.engine) as session:
        page = session.exec(
            select(BookingPage).where(
                BookingPage.team_id == team_id, BookingPage.event_type_uid == INTRO_EVENT_TYPE_UID
            )
        ).one()
    for guest, language in ((SampleGuest.NEW_CUSTOMER, "ja"), (SampleGuest.EXISTING_CONTACT, "en")):
        send_sample_booking(
            runtime.engine,
            runtime.box,
            runtime.settings,
            team_id,
            page.id,
            guest,
            datetime.now(UTC),
            language=language,
            http=http,
        )


def seed_demo(runtime: Runtime) -> None:
    """Seed the store, connect the demo team and, on first start, send sample bookings."""
    now = datetime.now(UTC)
    team_id, created = seed_demo_store(runtime, now)
    update_demo_booking_urls(runtime, team_id, now)
    # Both are idempotent, so a store created before they existed gets them too.
    seed_demo_users(runtime.engine, team_id, now)
    seed_demo_routing(runtime.engine, team_id, now)
    with requests.Session() as http:
        _wait_for_server(http, runtime.settings.public_url)
        connect_demo_team(runtime, team_id, http)
        if created:
            _send_demo_history(runtime, team_id, http)


def start_demo_seeding(runtime: Runtime) -> threading.Thread:
    """Run seed_demo in a daemon thread and log, rather than raise, its failure."""

    def run() -> None:
        try:
            seed_demo(runtime)
        except Exception:
            logger.exception("demo seeding failed; the Connection page can still connect the demo org by hand")

    thread = threading.Thread(target=run, name="demo-seed", daemon=True)
    thread.start()
    return thread
