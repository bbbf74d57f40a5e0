"""The audit trail: who changed what, from what to what, and who was refused."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from core.store.models import AuditEvent

logger = logging.getLogger(__name__)

# Values of keys containing these words are replaced before anything is stored.
_SECRET_WORDS = ("secret", "token", "password", "verifier", "_enc")
REDACTED = "********"


@dataclass(frozen=True)
class Actor:
    """The signed-in user a change is made by; None ids stand for the system."""

    user_id: int | None
    email: str

    @classmethod
    def system(cls) -> Actor:
        return cls(user_id=None, email="system")


def redact(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return a copy of values with every secret-looking key's value masked."""
    if values is None:
        return None
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if any(word in key.lower() for word in _SECRET_WORDS):
            cleaned[key] = REDACTED if value else value
        elif isinstance(value, dict):
            cleaned[key] = redact(value)
        else:
            cleaned[key] = value
    return cleaned


def record_audit(
    session: Session,
    *,
    actor: Actor,
    action: str,
    now: datetime,
    team_id: int | None = None,
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    outcome: str = "done",
) -> AuditEvent:
    """Add an audit event to session; the caller's transaction commits it with the change."""
    event = AuditEvent(
        team_id=team_id,
        actor_user_id=actor.user_id,
        actor_email=actor.email,
        action=action,
        target=target,
        before=redact(before),
        after=redact(after),
        outcome=outcome,
        created_at=now,
    )
    session.add(event)
    logger.info("audit: %s %s by user %s on team %s (%s)", action, target, actor.user_id, team_id, outcome)
    return event
