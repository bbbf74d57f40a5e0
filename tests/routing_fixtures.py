"""Fixtures for routing tests: a Team-plan team with an owner, a manager, a cached form and two booking pages.

Test modules import the fixtures they use by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from core.auth.audit import Actor
from core.routing import Condition, Operator, Rule, RuleSet
from core.store.db import session_scope
from core.store.models import AccountEngagementForm, BookingPage, Membership, Plan, Role, Team, User

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FORM_ID = 1001
FORM_FIELDS = ["email", "first_name", "last_name", "company", "employees", "country", "interest"]
INTRO_URL = "https://booking.example.com/sales/intro-call"
DEMO_URL = "https://booking.example.com/sales/product-demo?utm_source=form&lang=ja"


@dataclass(frozen=True)
class RoutingTeam:
    """A team set up for routing, with the ids tests refer to."""

    engine: Engine
    id: int
    owner: Actor
    manager: Actor
    intro_page_id: int
    demo_page_id: int
    other_team_id: int
    other_page_id: int


def add_user(session, team_id: int, email: str, role: Role) -> Actor:
    user = User(email=email, display_name=email.split("@")[0], created_at=NOW)
    session.add(user)
    session.flush()
    session.add(Membership(team_id=team_id, user_id=user.id, role=role, created_at=NOW))
    return Actor(user_id=user.id, email=email)


def add_page(session, team_id: int, name: str, uid: str, url: str) -> int:
    page = BookingPage(team_id=team_id, name=name, event_type_uid=uid, public_url=url, updated_at=NOW)
    session.add(page)
    session.flush()
    return page.id


def seed_routing_team(engine: Engine, *, plan: Plan = Plan.TEAM) -> RoutingTeam:
    """Add the routing team, its people, pages and cached form, and a second team with one page."""
    with session_scope(engine) as session:
        team = Team(slug="inside-sales", name="Inside sales", plan=plan, created_at=NOW)
        other = Team(slug="field-sales", name="Field sales", plan=Plan.TEAM, created_at=NOW)
        session.add_all([team, other])
        session.flush()

        owner = add_user(session, team.id, "owner@example.com", Role.OWNER)
        manager = add_user(session, team.id, "manager@example.com", Role.MANAGER)
        intro = add_page(session, team.id, "Intro call", "ETINTRO", INTRO_URL)
        demo = add_page(session, team.id, "Product demo", "ETDEMO", DEMO_URL)
        other_page = add_page(session, other.id, "Field visit", "ETFIELD", "https://booking.example.com/field/visit")
        session.add(
            AccountEngagementForm(
                team_id=team.id, form_id=FORM_ID, name="Demo request JP", fields=FORM_FIELDS, fetched_at=NOW
            )
        )
        team_id, other_id = team.id, other.id

    return RoutingTeam(
        engine=engine,
        id=team_id,
        owner=owner,
        manager=manager,
        intro_page_id=intro,
        demo_page_id=demo,
        other_team_id=other_id,
        other_page_id=other_page,
    )


def sample_rules(team: RoutingTeam, *, fallback: bool = True) -> RuleSet:
    """Large companies to the product demo, Japanese visitors to the intro call, else the intro call."""
    return RuleSet(
        rules=[
            Rule(
                id="large",
                name="Large companies",
                conditions=[Condition(field="employees", operator=Operator.GREATER_THAN, value="300")],
                target_page_id=team.demo_page_id,
            ),
            Rule(
                id="japan",
                name="Japan",
                conditions=[Condition(field="country", operator=Operator.IS_ONE_OF, value=["Japan", "日本", "JP"])],
                target_page_id=team.intro_page_id,
            ),
        ],
        fallback_page_id=team.intro_page_id if fallback else None,
    )


@pytest.fixture
def routing_team(empty_store: Engine) -> RoutingTeam:
    """A Team-plan team with an owner, a manager, the cached form "Demo request JP" and two booking pages."""
    return seed_routing_team(empty_store)
