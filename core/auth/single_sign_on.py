"""Sign-in through an OpenID Connect identity provider (Streamlit's st.login).

The provider proves the email address; the console still decides who may
enter: only an existing console user (the first owner, or someone an admin
invited) with that address, and not while the account is locked.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine

from core.auth.audit import Actor, record_audit
from core.auth.errors import InvalidEmailError
from core.auth.sessions import LOCKED_KEY, SignInResult
from core.auth.users import find_user, normalise_email, user_view
from core.store.db import session_scope

logger = logging.getLogger(__name__)

UNKNOWN_USER_KEY = "auth.sso.unknown_user"
NOT_VERIFIED_KEY = "auth.sso.not_verified"


def sign_in_with_identity(engine: Engine, email: str, email_verified: bool, now: datetime) -> SignInResult:
    """Sign in the console user whose email the identity provider confirmed, and audit the attempt.

    Returns a failed SignInResult when the address is unverified or invalid,
    when no console user has it, or while the account is locked.
    """
    try:
        email = normalise_email(email)
    except InvalidEmailError as error:
        return SignInResult(None, error.message_key, error.params)
    if not email_verified:
        return SignInResult(None, NOT_VERIFIED_KEY, {"email": email})

    with session_scope(engine) as session:
        user = find_user(session, email)
        if user is None:
            record_audit(
                session,
                actor=Actor(None, email),
                action="auth.sign_in_failed",
                now=now,
                target=email,
                after={"reason": "unknown_email", "method": "oidc"},
            )
            return SignInResult(None, UNKNOWN_USER_KEY, {"email": email})

        actor = Actor(user.id, user.email)
        if user.locked_until is not None and now < user.locked_until:
            record_audit(
                session,
                actor=actor,
                action="auth.sign_in_refused",
                now=now,
                target=email,
                after={"reason": "locked", "method": "oidc", "until": user.locked_until.isoformat()},
            )
            until = user.locked_until.strftime("%Y-%m-%d %H:%M:%S UTC")
            seconds = max(1, int((user.locked_until - now).total_seconds()))
            params = {"time": until, "seconds": seconds, "failures": user.failed_sign_ins}
            return SignInResult(None, LOCKED_KEY, params, retry_at=user.locked_until)

        user.last_sign_in_at = now
        session.add(user)
        record_audit(session, actor=actor, action="auth.sign_in", now=now, target=email, after={"method": "oidc"})
        logger.info("user %s signed in through the identity provider", user.id)
        return SignInResult(user_view(user))
