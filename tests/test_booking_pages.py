"""Booking page settings: validation, storage and the webhook secret of a team."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from core.auth.audit import Actor
from core.booking_pages import (
    BookingPageInvalid,
    BookingPageSettings,
    answer_mapping_from_rows,
    delete_booking_page,
    list_booking_pages,
    parse_host_emails,
    save_booking_page,
    validate_settings,
)
from core.secrets import SecretBox
from core.store.db import session_scope
from core.store.models import BookingPage, Membership, OutboxEvent, OwnerRule, Role, SyncLog, Team, User
from core.teams import (
    TeamSettingError,
    create_team,
    list_teams,
    read_webhook_secret,
    set_webhook_secret,
    webhook_url,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
USER_ID = "005000000000001AAA"
OWNER_EMAIL = "owner@example.com"


def owner_of(engine: Engine, team_id: int) -> Actor:
    """Return the test owner as an actor, making them an owner of team_id first."""
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.email == OWNER_EMAIL)).first()
        if user is None:
            user = User(email=OWNER_EMAIL, display_name="Owner", created_at=NOW)
            session.add(user)
            session.flush()
        joined = session.exec(
            select(Membership).where(Membership.team_id == team_id, Membership.user_id == user.id)
        ).first()
        if joined is None:
            session.add(Membership(team_id=team_id, user_id=user.id, role=Role.OWNER, created_at=NOW))
        return Actor(user.id, user.email)


@pytest.fixture
def team_id(empty_store: Engine) -> int:
    return create_team(empty_store, "Sales Tokyo", "sales-tokyo", NOW).id


def settings(**changes) -> BookingPageSettings:
    values = {"name": "Intro call", "event_type_uid": "ETINTRO"}
    values.update(changes)
    return BookingPageSettings(**values)


def problem_keys(exc: BookingPageInvalid) -> list[str]:
    return [problem.message_key for problem in exc.problems]


def test_parse_host_emails_splits_and_dedupes():
    raw = "Hanako@Example.com, ken@example.com\n\nhanako@example.com;aki@example.com"

    assert parse_host_emails(raw) == ["hanako@example.com", "ken@example.com", "aki@example.com"]


def test_validate_trims_and_normalizes():
    clean = validate_settings(
        settings(
            name="  Intro call ",
            public_url=" https://booking.example.com/intro ",
            host_emails=[" Hanako@Example.com "],
            lead_source="  ",
            event_owner_id=USER_ID,
        )
    )

    assert clean.name == "Intro call"
    assert clean.public_url == "https://booking.example.com/intro"
    assert clean.host_emails == ["hanako@example.com"]
    assert clean.lead_source is None
    # The fixed owner only matters with the fixed owner rule.
    assert clean.event_owner_id is None


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"name": " "}, "booking_pages.error.name"),
        ({"event_type_uid": "ET INTRO"}, "booking_pages.error.event_type_uid"),
        ({"public_url": "ftp://booking.example.com"}, "booking_pages.error.public_url"),
        ({"public_url": "booking.example.com/intro"}, "booking_pages.error.public_url"),
        ({"host_emails": ["not-an-email"]}, "booking_pages.error.host_email"),
        ({"lead_owner_id": "003000000000001AAA"}, "booking_pages.error.user_id"),
        ({"fallback_owner_id": "005123"}, "booking_pages.error.user_id"),
        ({"event_owner_rule": OwnerRule.FIXED}, "booking_pages.error.fixed_owner_missing"),
        ({"subject_template": "{page_name} with {guest_phone}"}, "booking_pages.error.subject_placeholder"),
        ({"subject_template": "Call {guest_name"}, "booking_pages.error.subject_braces"),
        ({"subject_template": ""}, "booking_pages.error.subject_length"),
        ({"cancellation_action": "archive"}, "booking_pages.error.choice"),
        ({"answer_mapping": {"Company name": "Industry"}}, "booking_pages.error.mapping_field"),
    ],
)
def test_validate_rejects_invalid_value(changes, key):
    with pytest.raises(BookingPageInvalid) as raised:
        validate_settings(settings(**changes))

    assert problem_keys(raised.value) == [key]


def test_validate_lists_every_invalid_field():
    with pytest.raises(BookingPageInvalid) as raised:
        validate_settings(settings(name="", public_url="mailto:x", subject_template="{guest_phone}"))

    assert [problem.field for problem in raised.value.problems] == ["name", "public_url", "subject_template"]


def test_unknown_placeholder_message_names_it():
    with pytest.raises(BookingPageInvalid) as raised:
        validate_settings(settings(subject_template="{page_name}: {guest_company}"))

    assert raised.value.problems[0].params["names"] == "{guest_company}"


def test_validate_accepts_escaped_braces_and_known_placeholders():
    clean = validate_settings(settings(subject_template="{{Demo}} {page_name} {guest_name} {guest_email}"))

    assert clean.subject_template == "{{Demo}} {page_name} {guest_name} {guest_email}"


def test_answer_mapping_from_rows_skips_blank_rows():
    rows = [(" Company name ", "Company"), (None, None), ("", ""), ("Phone", "Phone")]

    assert answer_mapping_from_rows(rows) == {"Company name": "Company", "Phone": "Phone"}


@pytest.mark.parametrize(
    ("rows", "key"),
    [
        ([(None, "Company")], "booking_pages.error.mapping_label"),
        ([("Company", "Company"), ("Company ", "Phone")], "booking_pages.error.mapping_duplicate"),
        ([("Budget", "AnnualRevenue")], "booking_pages.error.mapping_field"),
        ([("Budget", None)], "booking_pages.error.mapping_field"),
    ],
)
def test_answer_mapping_from_rows_rejects(rows, key):
    with pytest.raises(BookingPageInvalid) as raised:
        answer_mapping_from_rows(rows)

    assert problem_keys(raised.value) == [key]


def test_save_inserts_then_updates_page(empty_store, team_id):
    created = save_booking_page(
        empty_store,
        team_id,
        settings(
            integration_enabled=True,
            event_owner_rule=OwnerRule.FIXED,
            event_owner_id=USER_ID,
            answer_mapping={"Company name": "Company"},
        ),
        NOW,
        actor=owner_of(empty_store, team_id),
    )
    changed = settings(name="Intro call (30 min)", lead_source="Web", answer_mapping={"Phone": "Phone"})
    save_booking_page(empty_store, team_id, changed, NOW, actor=owner_of(empty_store, team_id), page_id=created.id)

    with session_scope(empty_store) as session:
        stored = session.exec(select(BookingPage)).all()
    assert len(stored) == 1
    assert stored[0].name == "Intro call (30 min)"
    assert stored[0].lead_source == "Web"
    assert stored[0].answer_mapping == {"Phone": "Phone"}
    assert stored[0].event_owner_rule == OwnerRule.RECORD_OWNER
    assert stored[0].event_owner_id is None


def test_save_rejects_event_type_of_other_page(empty_store, team_id):
    save_booking_page(empty_store, team_id, settings(), NOW, actor=owner_of(empty_store, team_id))

    with pytest.raises(BookingPageInvalid) as raised:
        save_booking_page(
            empty_store, team_id, settings(name="Second page"), NOW, actor=owner_of(empty_store, team_id)
        )

    assert problem_keys(raised.value) == ["booking_pages.error.event_type_uid_taken"]
    assert raised.value.problems[0].params["page"] == "Intro call"


def test_save_allows_same_event_type_in_other_team(empty_store, team_id):
    other = create_team(empty_store, "Sales Osaka", "sales-osaka", NOW).id
    save_booking_page(empty_store, team_id, settings(), NOW, actor=owner_of(empty_store, team_id))
    save_booking_page(empty_store, other, settings(), NOW, actor=owner_of(empty_store, other))

    assert [page.team_id for page in list_booking_pages(empty_store, other)] == [other]


def test_save_rejects_page_of_other_team(empty_store, team_id):
    other = create_team(empty_store, "Sales Osaka", "sales-osaka", NOW).id
    page = save_booking_page(empty_store, other, settings(), NOW, actor=owner_of(empty_store, other))

    with pytest.raises(LookupError, match="not found"):
        save_booking_page(
            empty_store,
            team_id,
            settings(name="Taken over"),
            NOW,
            actor=owner_of(empty_store, team_id),
            page_id=page.id,
        )


def test_delete_keeps_sync_log_rows(empty_store, team_id):
    page = save_booking_page(empty_store, team_id, settings(), NOW, actor=owner_of(empty_store, team_id))
    with session_scope(empty_store) as session:
        outbox = OutboxEvent(
            team_id=team_id,
            dedupe_key="guest_booked:BK1",
            event_type="guest_booked",
            booking_uid="BK1",
            event_type_uid="ETINTRO",
            payload={},
            received_at=NOW,
            next_attempt_at=NOW,
        )
        session.add(outbox)
        session.flush()
        session.add(
            SyncLog(
                team_id=team_id,
                outbox_id=outbox.id,
                booking_page_id=page.id,
                booking_uid="BK1",
                event_type="guest_booked",
                created_at=NOW,
                updated_at=NOW,
            )
        )

    delete_booking_page(empty_store, team_id, page.id, NOW, actor=owner_of(empty_store, team_id))

    assert list_booking_pages(empty_store, team_id) == []
    with session_scope(empty_store) as session:
        log = session.exec(select(SyncLog)).one()
    assert log.booking_page_id is None


def test_create_team_rejects_taken_slug(empty_store, team_id):
    with pytest.raises(TeamSettingError) as raised:
        create_team(empty_store, "Another", "Sales-Tokyo", NOW)

    assert raised.value.message_key == "nav.team.error.slug_taken"
    assert [team.slug for team in list_teams(empty_store)] == ["sales-tokyo"]


@pytest.mark.parametrize("slug", ["", "-sales", "sales tokyo", "営業", "a" * 65])
def test_create_team_rejects_invalid_slug(empty_store, slug):
    with pytest.raises(TeamSettingError) as raised:
        create_team(empty_store, "Sales", slug, NOW)

    assert raised.value.message_key == "nav.team.error.slug"


def test_webhook_secret_is_stored_encrypted(empty_store, box: SecretBox, team_id):
    set_webhook_secret(empty_store, box, team_id, "  whsec_0123456789abcdef  ", NOW, actor=owner_of(empty_store, team_id))

    with session_scope(empty_store) as session:
        stored = session.get(Team, team_id).webhook_secret_enc
    assert "whsec_0123456789abcdef" not in stored
    assert read_webhook_secret(empty_store, box, team_id) == "whsec_0123456789abcdef"
    assert list_teams(empty_store)[0].has_webhook_secret


@pytest.mark.parametrize("secret", ["short", "has a space in the secret"])
def test_webhook_secret_rejects_weak_value(empty_store, box, team_id, secret):
    with pytest.raises(TeamSettingError):
        set_webhook_secret(empty_store, box, team_id, secret, NOW, actor=owner_of(empty_store, team_id))

    assert read_webhook_secret(empty_store, box, team_id) is None


def test_webhook_url_joins_public_url_and_slug():
    assert webhook_url("https://console.example.com/", "sales-tokyo") == (
        "https://console.example.com/hooks/jicoo/sales-tokyo"
    )


def test_save_reports_all_problems_at_once(empty_store, team_id):
    owner = owner_of(empty_store, team_id)
    save_booking_page(empty_store, team_id, settings(), NOW, actor=owner)

    with pytest.raises(BookingPageInvalid) as raised:
        save_booking_page(
            empty_store, team_id, settings(name="Second", public_url="booking.example.com"), NOW, actor=owner
        )

    assert problem_keys(raised.value) == ["booking_pages.error.public_url", "booking_pages.error.event_type_uid_taken"]
