"""Sign-in with throttling and lockout, tickets, sessions, sign-out and password changes."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlmodel import select

from core.auth.demo_users import seed_demo_users
from core.auth.errors import DemoModeOffError, InvalidTicketError, WeakPasswordError, WrongPasswordError
from core.auth.passwords import verify_password
from core.auth.sessions import (
    LOCKED_KEY,
    TOO_SOON_KEY,
    WRONG_CREDENTIALS_KEY,
    change_password,
    create_ticket,
    redeem_ticket,
    retry_delay,
    sign_in,
    sign_in_demo,
    sign_out,
    user_for_session,
)
from core.store.db import session_scope
from core.store.models import AuthSession, Role, User
from tests.auth_fixtures import NOW, PASSWORD, add_team, audit_rows, signed_up_user  # noqa: F401

EMAIL = "hanako.sato@example.com"


def seconds(count: float) -> timedelta:
    return timedelta(seconds=count)


def stored_user(engine, user_id: int) -> User:
    with session_scope(engine) as session:
        return session.get(User, user_id)


def fail_times(engine, count: int, start=NOW):
    """Enter a wrong password count times, each as soon as the delay allows; return the last result."""
    moment = start
    result = None
    for _ in range(count):
        result = sign_in(engine, EMAIL, "wrong password!", moment)
        assert result.error_key in (WRONG_CREDENTIALS_KEY, LOCKED_KEY)
        moment = result.retry_at
    return result


def test_sign_in_success(empty_store, signed_up_user):
    result = sign_in(empty_store, "  HANAKO.SATO@example.com ", PASSWORD, NOW)

    assert result.ok
    assert result.user.id == signed_up_user.id
    assert result.user.email == EMAIL
    assert result.error_key is None
    assert stored_user(empty_store, signed_up_user.id).last_sign_in_at == NOW
    [event] = audit_rows(empty_store, "auth.sign_in")
    assert event.actor_user_id == signed_up_user.id
    assert event.after == {"method": "password"}
    assert event.outcome == "done"


def test_sign_in_wrong_password(empty_store, signed_up_user):
    result = sign_in(empty_store, EMAIL, "not the password", NOW)

    assert not result.ok
    assert result.error_key == WRONG_CREDENTIALS_KEY
    assert result.retry_at == NOW + seconds(1)
    assert stored_user(empty_store, signed_up_user.id).failed_sign_ins == 1
    [event] = audit_rows(empty_store, "auth.sign_in_failed")
    assert event.actor_user_id == signed_up_user.id
    assert event.after == {"reason": "wrong_password", "failures": 1}
    assert event.outcome == "failed"


def test_sign_in_unknown_email_looks_like_wrong_password(empty_store, signed_up_user):
    result = sign_in(empty_store, "nobody@example.com", PASSWORD, NOW)

    assert result.error_key == WRONG_CREDENTIALS_KEY
    [event] = audit_rows(empty_store, "auth.sign_in_failed")
    assert event.actor_user_id is None
    assert event.actor_email == "nobody@example.com"


def test_sign_in_invalid_email(empty_store):
    result = sign_in(empty_store, "not an email", PASSWORD, NOW)

    assert result.error_key == "auth_core.error.invalid_email"
    assert audit_rows(empty_store) == []


def test_sign_in_account_without_password(empty_store):
    add_team(empty_store, "demo")
    seed_demo_users(empty_store, 1, NOW)

    result = sign_in(empty_store, "owner@demo.example", "", NOW)

    assert result.error_key == WRONG_CREDENTIALS_KEY


@pytest.mark.parametrize(
    ("failures", "delay"), [(0, 0), (1, 1), (2, 2), (3, 4), (4, 8), (5, 900), (6, 900)]
)
def test_retry_delay_grows_then_locks(failures, delay):
    assert retry_delay(failures) == seconds(delay)


def test_attempt_too_soon_is_refused_even_with_right_password(empty_store, signed_up_user):
    sign_in(empty_store, EMAIL, "wrong password!", NOW)

    result = sign_in(empty_store, EMAIL, PASSWORD, NOW + seconds(0.5))

    assert result.error_key == TOO_SOON_KEY
    assert result.error_params["seconds"] == 1
    assert result.retry_at == NOW + seconds(1)
    [refused] = audit_rows(empty_store, "auth.sign_in_refused")
    assert refused.after["reason"] == "too_soon"
    assert refused.outcome == "refused"
    # A refused attempt is not a failure: the count stays.
    assert stored_user(empty_store, signed_up_user.id).failed_sign_ins == 1


def test_attempt_after_delay_is_accepted(empty_store, signed_up_user):
    sign_in(empty_store, EMAIL, "wrong password!", NOW)

    result = sign_in(empty_store, EMAIL, PASSWORD, NOW + seconds(1))

    assert result.ok
    user = stored_user(empty_store, signed_up_user.id)
    assert user.failed_sign_ins == 0
    assert user.locked_until is None


def test_delay_doubles_with_each_failure(empty_store, signed_up_user):
    third = fail_times(empty_store, 3)

    assert third.retry_at == NOW + seconds(1 + 2 + 4)
    early = sign_in(empty_store, EMAIL, PASSWORD, third.retry_at - seconds(1))
    assert early.error_key == TOO_SOON_KEY
    assert early.error_params["seconds"] == 1


def test_lockout_after_five_failures(empty_store, signed_up_user):
    fifth = fail_times(empty_store, 5)

    locked_at = NOW + seconds(1 + 2 + 4 + 8)
    assert fifth.error_key == LOCKED_KEY
    assert fifth.retry_at == locked_at + timedelta(minutes=15)
    assert fifth.error_params["failures"] == 5
    assert fifth.error_params["time"] == "2026-12-01 09:15:15 UTC"
    [locked] = audit_rows(empty_store, "auth.locked")
    assert locked.actor_user_id == signed_up_user.id
    assert locked.after["failures"] == 5
    assert len(audit_rows(empty_store, "auth.sign_in_failed")) == 5


def test_locked_account_refuses_right_password(empty_store, signed_up_user):
    fifth = fail_times(empty_store, 5)

    result = sign_in(empty_store, EMAIL, PASSWORD, fifth.retry_at - seconds(1))

    assert result.error_key == LOCKED_KEY
    [refused] = audit_rows(empty_store, "auth.sign_in_refused")
    assert refused.after["reason"] == "locked"


def test_lock_ends_after_fifteen_minutes(empty_store, signed_up_user):
    fifth = fail_times(empty_store, 5)

    result = sign_in(empty_store, EMAIL, PASSWORD, fifth.retry_at)

    assert result.ok
    assert stored_user(empty_store, signed_up_user.id).failed_sign_ins == 0


def test_failure_after_lock_starts_new_count(empty_store, signed_up_user):
    fifth = fail_times(empty_store, 5)

    result = sign_in(empty_store, EMAIL, "wrong again!!", fifth.retry_at)

    assert result.error_key == WRONG_CREDENTIALS_KEY
    assert stored_user(empty_store, signed_up_user.id).failed_sign_ins == 1
    assert len(audit_rows(empty_store, "auth.locked")) == 1


def test_sign_in_upgrades_weak_hash(empty_store, signed_up_user):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with session_scope(empty_store) as session:
        user = session.get(User, signed_up_user.id)
        user.password_hash = weak
        session.add(user)

    assert sign_in(empty_store, EMAIL, PASSWORD, NOW).ok

    upgraded = stored_user(empty_store, signed_up_user.id).password_hash
    assert upgraded != weak
    assert "$m=65536,t=3,p=4$" in upgraded
    assert verify_password(upgraded, PASSWORD)


def test_audit_never_holds_the_password(empty_store, signed_up_user):
    sign_in(empty_store, EMAIL, "typo in password", NOW)
    sign_in(empty_store, EMAIL, PASSWORD, NOW + seconds(5))

    stored = json.dumps([[row.before, row.after, row.target] for row in audit_rows(empty_store)])
    assert "typo in password" not in stored
    assert PASSWORD not in stored


def test_ticket_redeems_once_for_a_session(empty_store, signed_up_user):
    ticket = create_ticket(empty_store, signed_up_user.id, NOW)

    token = redeem_ticket(empty_store, ticket, NOW + seconds(59))

    assert user_for_session(empty_store, token, NOW + seconds(60)).id == signed_up_user.id
    with pytest.raises(InvalidTicketError) as raised:
        redeem_ticket(empty_store, ticket, NOW + seconds(59))
    assert raised.value.message_key == "auth_core.error.ticket_invalid"


def test_ticket_expires_after_sixty_seconds(empty_store, signed_up_user):
    ticket = create_ticket(empty_store, signed_up_user.id, NOW)

    with pytest.raises(InvalidTicketError):
        redeem_ticket(empty_store, ticket, NOW + seconds(60))


def test_unknown_ticket_is_rejected(empty_store, signed_up_user):
    with pytest.raises(InvalidTicketError):
        redeem_ticket(empty_store, "made-up-ticket", NOW)


def test_ticket_is_not_a_session(empty_store, signed_up_user):
    ticket = create_ticket(empty_store, signed_up_user.id, NOW)

    assert user_for_session(empty_store, ticket, NOW) is None


def test_session_expires_after_twelve_hours(empty_store, signed_up_user):
    token = redeem_ticket(empty_store, create_ticket(empty_store, signed_up_user.id, NOW), NOW)

    assert user_for_session(empty_store, token, NOW + timedelta(hours=12) - seconds(1)) is not None
    assert user_for_session(empty_store, token, NOW + timedelta(hours=12)) is None


@pytest.mark.parametrize("token", [None, "", "unknown-token"])
def test_missing_or_unknown_session(empty_store, signed_up_user, token):
    assert user_for_session(empty_store, token, NOW) is None


def test_store_keeps_only_token_hashes(empty_store, signed_up_user):
    ticket = create_ticket(empty_store, signed_up_user.id, NOW)
    token = redeem_ticket(empty_store, ticket, NOW)
    pending = create_ticket(empty_store, signed_up_user.id, NOW)

    with session_scope(empty_store) as session:
        rows = session.exec(select(AuthSession)).all()
    hashes = {row.token_hash for row in rows}
    assert hashes == {hashlib.sha256(token.encode()).hexdigest(), hashlib.sha256(pending.encode()).hexdigest()}
    assert token not in hashes
    assert len(token) >= 43  # 32 random bytes in URL-safe base64


def test_create_ticket_deletes_expired_rows(empty_store, signed_up_user):
    old_token = redeem_ticket(empty_store, create_ticket(empty_store, signed_up_user.id, NOW), NOW)
    create_ticket(empty_store, signed_up_user.id, NOW)

    create_ticket(empty_store, signed_up_user.id, NOW + timedelta(hours=13))

    with session_scope(empty_store) as session:
        rows = session.exec(select(AuthSession)).all()
    assert len(rows) == 1
    assert user_for_session(empty_store, old_token, NOW) is None


def test_sign_out_ends_session(empty_store, signed_up_user):
    token = redeem_ticket(empty_store, create_ticket(empty_store, signed_up_user.id, NOW), NOW)

    sign_out(empty_store, token, NOW + seconds(30))

    assert user_for_session(empty_store, token, NOW + seconds(31)) is None
    [event] = audit_rows(empty_store, "auth.sign_out")
    assert event.actor_user_id == signed_up_user.id
    assert event.created_at == NOW + seconds(30)


def test_sign_out_without_session_does_nothing(empty_store, signed_up_user):
    sign_out(empty_store, None, NOW)
    sign_out(empty_store, "unknown-token", NOW)

    assert audit_rows(empty_store, "auth.sign_out") == []


def test_demo_sign_in_needs_demo_mode(empty_store):
    team_id = add_team(empty_store, "demo")
    seed_demo_users(empty_store, team_id, NOW)

    with pytest.raises(DemoModeOffError):
        sign_in_demo(empty_store, Role.OWNER, NOW, demo_mode=False)

    assert audit_rows(empty_store, "auth.sign_in") == []


@pytest.mark.parametrize("role", list(Role))
def test_demo_sign_in_per_role(empty_store, role):
    team_id = add_team(empty_store, "demo")
    seed_demo_users(empty_store, team_id, NOW)

    result = sign_in_demo(empty_store, role, NOW, demo_mode=True)

    assert result.ok
    assert result.user.email == f"{role.value}@demo.example"
    [event] = audit_rows(empty_store, "auth.sign_in")
    assert event.after == {"method": "demo"}


def test_change_password_ends_other_sessions(empty_store, signed_up_user):
    kept = redeem_ticket(empty_store, create_ticket(empty_store, signed_up_user.id, NOW), NOW)
    other = redeem_ticket(empty_store, create_ticket(empty_store, signed_up_user.id, NOW), NOW)
    new_password = "a much longer passphrase"

    change_password(empty_store, signed_up_user.id, PASSWORD, new_password, NOW, keep_session=kept)

    assert user_for_session(empty_store, kept, NOW) is not None
    assert user_for_session(empty_store, other, NOW) is None
    assert sign_in(empty_store, EMAIL, new_password, NOW).ok
    [event] = audit_rows(empty_store, "user.password_changed")
    assert event.after == {"sessions_ended": 1}


def test_change_password_checks_current_and_length(empty_store, signed_up_user):
    with pytest.raises(WrongPasswordError):
        change_password(empty_store, signed_up_user.id, "not the password", "a much longer passphrase", NOW)
    with pytest.raises(WeakPasswordError):
        change_password(empty_store, signed_up_user.id, PASSWORD, "short", NOW)

    assert sign_in(empty_store, EMAIL, PASSWORD, NOW).ok
