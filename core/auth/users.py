"""Console users: email rules, creation and the view pages get without the password hash."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from core.auth.audit import Actor, record_audit
from core.auth.errors import EmailTakenError, InvalidDisplayNameError, InvalidEmailError
from core.auth.passwords import hash_password, validate_new_password
from core.i18n import LANGUAGES
from core.store.db import session_scope
from core.store.models import User

logger = logging.getLogger(__name__)

# RFC 5321 limits: 64 octets for the local part and 254 for a whole forward path.
MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
MAX_DISPLAY_NAME_LENGTH = 200

# A pragmatic subset of RFC 5322 addresses: no quoted local parts, no IP literals,
# and a domain of at least two dot-separated labels.
_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class UserView:
    """A user as pages show them: no password hash, no failure counter."""

    id: int
    email: str
    display_name: str
    created_at: datetime
    last_sign_in_at: datetime | None = None
    locked_until: datetime | None = None
    has_password: bool = True
    # The screen language the user last chose, or None to follow the browser.
    language: str | None = None


def user_view(user: User) -> UserView:
    return UserView(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        created_at=user.created_at,
        last_sign_in_at=user.last_sign_in_at,
        locked_until=user.locked_until,
        has_password=bool(user.password_hash),
        language=user.language if user.language in LANGUAGES else None,
    )


def normalise_email(raw: str) -> str:
    """Return raw trimmed and lower-cased; raise InvalidEmailError unless it is a plain address."""
    email = raw.strip().lower()
    local, at, domain = email.rpartition("@")
    valid = (
        bool(at)
        and len(email) <= MAX_EMAIL_LENGTH
        and len(local) <= MAX_LOCAL_PART_LENGTH
        and _LOCAL_PART.match(local) is not None
        and _DOMAIN.match(domain) is not None
    )
    if not valid:
        raise InvalidEmailError(
            f"{email[:MAX_EMAIL_LENGTH]!r} is not a valid email address: use the form name@example.com",
            email=email[:MAX_EMAIL_LENGTH],
        )
    return email


def normalise_display_name(raw: str) -> str:
    """Return raw with surrounding spaces removed; raise InvalidDisplayNameError when empty or too long."""
    name = raw.strip()
    if not name or len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise InvalidDisplayNameError(
            f"the display name has {len(name)} characters: use 1 to {MAX_DISPLAY_NAME_LENGTH}",
            max_length=MAX_DISPLAY_NAME_LENGTH,
        )
    return name


def find_user(session: Session, email: str) -> User | None:
    """Return the user with the normalised email, or None."""
    return session.exec(select(User).where(User.email == email)).first()


def insert_user(session: Session, email: str, display_name: str, password: str | None, now: datetime) -> User:
    """Validate and add a user to session; the caller's transaction commits it.

    Raises InvalidEmailError, InvalidDisplayNameError, WeakPasswordError, or
    EmailTakenError when another user has the address.
    """
    email = normalise_email(email)
    display_name = normalise_display_name(display_name)
    if password is not None:
        validate_new_password(password)
    if find_user(session, email) is not None:
        raise EmailTakenError(f"a user with the email {email!r} already exists", email=email)

    user = User(
        email=email,
        display_name=display_name,
        password_hash=hash_password(password) if password is not None else None,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def create_user(
    engine: Engine,
    email: str,
    display_name: str,
    password: str | None,
    now: datetime,
    *,
    actor: Actor | None = None,
) -> UserView:
    """Insert a user and audit it; a None password makes an account that cannot sign in with a password.

    Raises InvalidEmailError, InvalidDisplayNameError, WeakPasswordError or EmailTakenError.
    """
    with session_scope(engine) as session:
        user = insert_user(session, email, display_name, password, now)
        record_audit(
            session,
            actor=actor or Actor.system(),
            action="user.created",
            now=now,
            target=user.email,
            after={
                "email": user.email,
                "display_name": user.display_name,
                "sign_in": "password" if password is not None else "none",
            },
        )
        logger.info("created user %s", user.id)
        return user_view(user)


def get_user(engine: Engine, user_id: int) -> UserView | None:
    """Return the user with user_id, or None when there is none."""
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        return user_view(user) if user is not None else None


def has_users(engine: Engine) -> bool:
    """Return whether any user exists; until one does, only the first-owner form is reachable."""
    with session_scope(engine) as session:
        return session.exec(select(User.id).limit(1)).first() is not None


def set_language(engine: Engine, user_id: int, language: str) -> None:
    """Store the screen language the user chose, for their next sessions.

    Raises ValueError for a language the console has no catalog for, and
    LookupError when no user has user_id.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown screen language {language!r}: use one of {', '.join(LANGUAGES)}")
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        if user is None:
            raise LookupError(f"no user has id {user_id}")
        if user.language == language:
            return
        user.language = language
        session.add(user)
    logger.info("user %s chose the screen language %s", user_id, language)
