"""Sign-in, throttling and lockout, one-time tickets and browser sessions.

A page checks the password with sign_in() and creates a ticket. The browser
takes the ticket to GET /auth/session, which redeems it for a session token in
an HttpOnly cookie, because a Streamlit page cannot set such a cookie itself.
The store keeps only the SHA-256 of tickets and session tokens.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, select

from core.auth.audit import Actor, record_audit
from core.auth.demo_users import demo_email
from core.auth.errors import (
    DemoModeOffError,
    InvalidEmailError,
    InvalidTicketError,
    UserNotFoundError,
    WrongPasswordError,
)
from core.auth.passwords import hash_password, needs_rehash, validate_new_password, verify_password
from core.auth.users import UserView, find_user, normalise_email, user_view
from core.store.db import session_scope
from core.store.models import AuditEvent, AuthSession, Role, User

logger = logging.getLogger(__name__)

SESSION_LIFETIME = timedelta(hours=12)
TICKET_LIFETIME = timedelta(seconds=60)
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
# After the n-th consecutive wrong password (n < MAX_FAILED_SIGN_INS), attempts
# are refused for 2 ** (n - 1) seconds: 1, 2, 4 and 8 s.
FIRST_RETRY_DELAY = timedelta(seconds=1)

WRONG_CREDENTIALS_KEY = "auth_core.sign_in.wrong_credentials"
TOO_SOON_KEY = "auth_core.sign_in.too_soon"
LOCKED_KEY = "auth_core.sign_in.locked"


@dataclass(frozen=True)
class SignInResult:
    """The signed-in user, or the i18n key and parameters of why sign-in failed.

    retry_at is when the next attempt is accepted after a failure; pages may
    replace the ``time`` parameter with retry_at shown in the reader's zone.
    """

    user: UserView | None
    error_key: str | None = None
    error_params: dict[str, Any] = field(default_factory=dict)
    retry_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None


def hash_token(token: str) -> str:
    """Return the hex SHA-256 of a session token or ticket, the form the store keeps."""
    return hashlib.sha256(token.encode()).hexdigest()


def retry_delay(failures: int) -> timedelta:
    """Return how long attempts are refused after the given number of consecutive failures."""
    if failures >= MAX_FAILED_SIGN_INS:
        return LOCKOUT
    if failures <= 0:
        return timedelta(0)
    return FIRST_RETRY_DELAY * 2 ** (failures - 1)


def sign_in(engine: Engine, email: str, password: str, now: datetime) -> SignInResult:
    """Check email and password and audit the attempt.

    A wrong password adds a failure and refuses further attempts for
    retry_delay(failures). The fifth consecutive failure locks the account for
    LOCKOUT. Attempts during either wait are refused without checking the
    password. An unknown email gets the same result as a wrong password.
    """
    try:
        email = normalise_email(email)
    except InvalidEmailError as error:
        return SignInResult(None, error.message_key, error.params)

    with session_scope(engine) as session:
        user = find_user(session, email)
        if user is None:
            verify_password(None, password)
            _audit_sign_in(
                session, Actor(None, email), "auth.sign_in_failed", now, {"reason": "unknown_email"}, outcome="failed"
            )
            return SignInResult(None, WRONG_CREDENTIALS_KEY)

        actor = Actor(user.id, user.email)
        # NOTE: requests arriving together all pass this check before any of them
        # stores its failure, so a parallel burst gets one guess per request
        # before the count reaches the lockout.
        if user.locked_until is not None and now < user.locked_until:
            return _refuse_waiting(session, user, actor, now)
        if user.failed_sign_ins >= MAX_FAILED_SIGN_INS:
            # The lockout has ended, so the next wrong password starts a new count.
            user.failed_sign_ins = 0

        if not verify_password(user.password_hash, password):
            return _record_failure(session, user, actor, now)

        user.failed_sign_ins = 0
        user.locked_until = None
        user.last_sign_in_at = now
        if user.password_hash and needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        session.add(user)
        _audit_sign_in(session, actor, "auth.sign_in", now, {"method": "password"})
        logger.info("user %s signed in", user.id)
        return SignInResult(user_view(user))


def sign_in_demo(engine: Engine, role: Role | str, now: datetime, *, demo_mode: bool) -> SignInResult:
    """Sign in as the demo user with role, without a password, and audit it.

    Raises DemoModeOffError unless demo_mode is on, and UserNotFoundError
    when seed_demo_users has not created the user yet.
    """
    if not demo_mode:
        raise DemoModeOffError("one-click demo sign-in works only in demo mode (APP_DEMO=1)")
    email = demo_email(role)

    with session_scope(engine) as session:
        user = find_user(session, email)
        if user is None:
            raise UserNotFoundError(f"the demo user {email} does not exist yet: seed the demo team first", email=email)
        user.last_sign_in_at = now
        session.add(user)
        _audit_sign_in(session, Actor(user.id, user.email), "auth.sign_in", now, {"method": "demo"})
        return SignInResult(user_view(user))


def create_ticket(engine: Engine, user_id: int, now: datetime) -> str:
    """Return a new one-time ticket for user_id, valid for TICKET_LIFETIME.

    Also deletes expired tickets and sessions of every user.
    """
    ticket = secrets.token_urlsafe(32)
    with session_scope(engine) as session:
        session.exec(delete(AuthSession).where(AuthSession.expires_at <= now))
        session.add(
            AuthSession(
                token_hash=hash_token(ticket),
                user_id=user_id,
                created_at=now,
                expires_at=now + TICKET_LIFETIME,
                is_ticket=True,
            )
        )
    return ticket


def redeem_ticket(engine: Engine, ticket: str, now: datetime) -> str:
    """Use up ticket and return a new session token valid for SESSION_LIFETIME.

    Raises InvalidTicketError when the ticket is unknown, used or expired.
    """
    ticket_hash = hash_token(ticket)
    with session_scope(engine) as session:
        pending = session.get(AuthSession, ticket_hash)
        # The conditional delete lets exactly one of two concurrent redemptions win.
        used = session.exec(
            delete(AuthSession).where(
                AuthSession.token_hash == ticket_hash,
                AuthSession.is_ticket.is_(True),
                AuthSession.expires_at > now,
            )
        )
        if pending is None or used.rowcount != 1:
            raise InvalidTicketError("the sign-in ticket is unknown, used or expired: sign in again")

        token = secrets.token_urlsafe(32)
        session.add(
            AuthSession(
                token_hash=hash_token(token),
                user_id=pending.user_id,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    logger.info("started a session for user %s", pending.user_id)
    return token


def user_for_session(engine: Engine, token: str | None, now: datetime) -> UserView | None:
    """Return the user of a live session token, or None for a missing, unknown or expired one."""
    if not token:
        return None
    with session_scope(engine) as session:
        row = session.exec(
            select(User)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(
                AuthSession.token_hash == hash_token(token),
                AuthSession.is_ticket.is_(False),
                AuthSession.expires_at > now,
            )
        ).first()
        return user_view(row) if row is not None else None


def sign_out(engine: Engine, token: str | None, now: datetime | None = None) -> None:
    """Delete the session of token, if any, and audit the sign-out."""
    if not token:
        return
    with session_scope(engine) as session:
        existing = session.get(AuthSession, hash_token(token))
        if existing is None or existing.is_ticket:
            return
        user = session.get(User, existing.user_id)
        session.delete(existing)
        if user is not None:
            _audit_sign_in(session, Actor(user.id, user.email), "auth.sign_out", now or datetime.now(UTC), None)
    logger.info("user %s signed out", existing.user_id)


def change_password(
    engine: Engine,
    user_id: int,
    current_password: str,
    new_password: str,
    now: datetime,
    *,
    keep_session: str | None = None,
) -> None:
    """Replace the user's password and end their other sessions.

    keep_session is the token of the browser making the change, which stays
    signed in. Raises WrongPasswordError, WeakPasswordError and UserNotFoundError.
    """
    validate_new_password(new_password)
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        if user is None:
            raise UserNotFoundError(f"user {user_id} not found", user_id=user_id)
        if not verify_password(user.password_hash, current_password):
            raise WrongPasswordError(f"the current password of user {user_id} is wrong")

        user.password_hash = hash_password(new_password)
        session.add(user)
        ended = session.exec(
            delete(AuthSession).where(
                AuthSession.user_id == user_id,
                AuthSession.token_hash != hash_token(keep_session or ""),
            )
        )
        _audit_sign_in(
            session, Actor(user.id, user.email), "user.password_changed", now, {"sessions_ended": ended.rowcount}
        )
    logger.info("user %s changed their password", user_id)


def has_temporary_password(engine: Engine, user_id: int) -> bool:
    """Return whether the user still signs in with the temporary password an invitation created.

    The store has no column for it, so the audit trail decides: the account was
    created by a "member.invited" event and the user has no "user.password_changed"
    event since. NOTE: deleting audit events would make this return False.
    """
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        if user is None or not user.password_hash:
            return False
        changed = session.exec(
            select(AuditEvent.id)
            .where(AuditEvent.action == "user.password_changed", AuditEvent.actor_user_id == user_id)
            .limit(1)
        ).first()
        if changed is not None:
            return False
        invitations = session.exec(
            select(AuditEvent.after).where(
                AuditEvent.action == "member.invited",
                AuditEvent.target == user.email,
                AuditEvent.outcome == "done",
            )
        ).all()
    return any((after or {}).get("account") == "created" for after in invitations)


def _refuse_waiting(session: Session, user: User, actor: Actor, now: datetime) -> SignInResult:
    locked = user.failed_sign_ins >= MAX_FAILED_SIGN_INS
    key = LOCKED_KEY if locked else TOO_SOON_KEY
    _audit_sign_in(
        session,
        actor,
        "auth.sign_in_refused",
        now,
        {"reason": "locked" if locked else "too_soon", "until": user.locked_until.isoformat()},
        outcome="refused",
    )
    return _waiting_result(key, user.locked_until, now, user.failed_sign_ins)


def _record_failure(session: Session, user: User, actor: Actor, now: datetime) -> SignInResult:
    # Counted in SQL, so concurrent wrong passwords each add one.
    session.flush()
    session.exec(update(User).where(User.id == user.id).values(failed_sign_ins=User.failed_sign_ins + 1))
    session.refresh(user)
    failures = user.failed_sign_ins
    user.locked_until = now + retry_delay(failures)
    session.add(user)

    _audit_sign_in(
        session, actor, "auth.sign_in_failed", now, {"reason": "wrong_password", "failures": failures}, outcome="failed"
    )
    if failures < MAX_FAILED_SIGN_INS:
        return SignInResult(None, WRONG_CREDENTIALS_KEY, retry_at=user.locked_until)

    _audit_sign_in(session, actor, "auth.locked", now, {"failures": failures, "until": user.locked_until.isoformat()})
    logger.warning("locked user %s until %s after %d wrong passwords", user.id, user.locked_until, failures)
    return _waiting_result(LOCKED_KEY, user.locked_until, now, failures)


def _waiting_result(key: str, until: datetime, now: datetime, failures: int) -> SignInResult:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    params = {"time": until.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), "seconds": seconds, "failures": failures}
    return SignInResult(None, key, params, retry_at=until)


def _audit_sign_in(
    session: Session,
    actor: Actor,
    action: str,
    now: datetime,
    after: dict[str, Any] | None,
    *,
    outcome: str = "done",
) -> None:
    record_audit(session, actor=actor, action=action, now=now, target=actor.email, after=after, outcome=outcome)
