"""Demo data for form routing: the demo team's business unit, its cached forms and the rules of one form."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from core.demo_org.constants import DEMO_BUSINESS_UNIT_ID
from core.routing.rules import Condition, Operator, Rule, RuleSet
from core.routing.store import FIRST_VERSION
from core.routing.validation import ensure_valid
from core.store.db import session_scope
from core.store.models import AccountEngagementConnection, AccountEngagementForm, BookingPage, FormRouting

logger = logging.getLogger(__name__)

DEMO_ENVIRONMENT = "demo"
# The forms of the demo org's business unit, as refresh_forms caches them: (form id, name, field names).
# They mirror core/demo_org/seed.py, so the Account Engagement screen has forms before the first refresh.
DEMO_FORMS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1001, "Demo request JP", ("email", "first_name", "last_name", "company", "employees", "country", "interest")),
    (1002, "Contact us EN", ("email", "first_name", "last_name", "company", "country")),
    (1003, "Webinar signup", ("email", "first_name", "last_name")),
)
DEMO_ROUTED_FORM_ID = 1001
# A fixed key, unlike the random keys of real forms, so the README's demo redirect URL works on every install.
DEMO_FORM_KEY = "demo-request-jp"
INTRO_PAGE_NAME = "Intro call"
PRODUCT_DEMO_PAGE_NAME = "Product demo"


def seed_demo_routing(engine: Engine, team_id: int, now: datetime) -> None:
    """Give the team the demo business unit, its forms, and routing rules for "Demo request JP".

    Companies with more than 300 employees go to "Product demo", visitors from
    Japan to "Intro call", and everyone else to "Intro call" as the fallback.
    Each part is added only when missing, so calling it again changes nothing.
    The rules are skipped, with a warning, when the team lacks either page.
    """
    with session_scope(engine) as session:
        _seed_business_unit(session, team_id, now)
        _seed_forms(session, team_id, now)

        existing = session.exec(
            select(FormRouting).where(FormRouting.team_id == team_id, FormRouting.form_id == DEMO_ROUTED_FORM_ID)
        ).first()
        if existing is not None:
            return

        pages = {
            page.name: page.id
            for page in session.exec(select(BookingPage).where(BookingPage.team_id == team_id)).all()
        }
        intro = pages.get(INTRO_PAGE_NAME)
        product_demo = pages.get(PRODUCT_DEMO_PAGE_NAME)
        if intro is None or product_demo is None:
            logger.warning(
                "demo routing rules not seeded: team %s has no %r or %r booking page",
                team_id,
                INTRO_PAGE_NAME,
                PRODUCT_DEMO_PAGE_NAME,
            )
            return

        rule_set = demo_rule_set(intro_page_id=intro, product_demo_page_id=product_demo)
        fields = next(fields for form_id, _, fields in DEMO_FORMS if form_id == DEMO_ROUTED_FORM_ID)
        ensure_valid(rule_set, fields, pages.values())
        session.add(
            FormRouting(
                team_id=team_id,
                form_id=DEMO_ROUTED_FORM_ID,
                form_key=DEMO_FORM_KEY,
                rules=rule_set.model_dump(mode="json", exclude={"version"}),
                version=FIRST_VERSION,
                updated_at=now,
            )
        )
    logger.info("seeded the demo routing rules of form %s for team %s", DEMO_ROUTED_FORM_ID, team_id)


def demo_rule_set(*, intro_page_id: int, product_demo_page_id: int) -> RuleSet:
    """Return the demo rules: large companies to the product demo, Japan to the intro call."""
    return RuleSet(
        rules=[
            Rule(
                id="large-companies",
                name="Companies over 300 employees",
                conditions=[Condition(field="employees", operator=Operator.GREATER_THAN, value="300")],
                target_page_id=product_demo_page_id,
            ),
            Rule(
                id="japan",
                name="Visitors from Japan",
                conditions=[Condition(field="country", operator=Operator.IS_ONE_OF, value=["Japan", "日本", "JP"])],
                target_page_id=intro_page_id,
            ),
        ],
        fallback_page_id=intro_page_id,
    )


def _seed_business_unit(session: Session, team_id: int, now: datetime) -> None:
    found = session.exec(
        select(AccountEngagementConnection).where(AccountEngagementConnection.team_id == team_id)
    ).first()
    if found is None:
        session.add(
            AccountEngagementConnection(
                team_id=team_id,
                business_unit_id=DEMO_BUSINESS_UNIT_ID,
                environment=DEMO_ENVIRONMENT,
                forms_fetched_at=now,
            )
        )


def _seed_forms(session: Session, team_id: int, now: datetime) -> None:
    cached = session.exec(select(AccountEngagementForm.form_id).where(AccountEngagementForm.team_id == team_id)).all()
    if cached:
        return
    for form_id, name, fields in DEMO_FORMS:
        session.add(
            AccountEngagementForm(team_id=team_id, form_id=form_id, name=name, fields=list(fields), fetched_at=now)
        )
