"""Stored routing rules: one FormRouting row per team and Account Engagement form.

Every write checks the actor's permission first (team owners on the Team plan
or above) and records an audit event in the same transaction. Rule saves are
guarded by the stored version, so two managers editing the same form cannot
silently overwrite each other's change.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, select

from core.auth.audit import Actor, record_audit
from core.auth.permissions import Action, require
from core.routing.errors import RoutingError, StaleRulesError
from core.routing.rules import RuleSet, check_version
from core.routing.validation import ensure_valid
from core.store.db import session_scope
from core.store.models import AccountEngagementForm, BookingPage, FormRouting

logger = logging.getLogger(__name__)

# secrets.token_urlsafe(12) gives 16 characters from 96 random bits: unguessable, and short enough to paste.
FORM_KEY_BYTES = 12
FIRST_VERSION = 1


class FormNotCachedError(RoutingError, LookupError):
    """The form is not among the team's cached Account Engagement forms."""

    message_key = "account_engagement.error.form_not_cached"

    def __init__(self, team_id: int, form_id: int) -> None:
        super().__init__(
            f"form {form_id} is not in the cached Account Engagement forms of team {team_id}; "
            "refresh the forms list and choose the form again"
        )
        self.team_id = team_id
        self.form_id = form_id


@dataclass(frozen=True)
class FormRoutingView:
    """The routing of one form as pages and the redirect endpoint read it.

    ``rule_set.version`` equals ``version``: pass it back to save_rules as the
    submitted version.
    """

    id: int
    team_id: int
    form_id: int
    form_key: str
    enabled: bool
    verify_with_prospect: bool
    version: int
    rule_set: RuleSet
    updated_at: datetime
    updated_by_user_id: int | None


def new_form_key() -> str:
    """Generate a random URL-safe key for a form's public redirect URL."""
    return secrets.token_urlsafe(FORM_KEY_BYTES)


def get_form_routing(engine: Engine, team_id: int, form_id: int) -> FormRoutingView | None:
    """Return the routing of the team's form, or None when none was created yet."""
    with session_scope(engine) as session:
        row = _find_row(session, team_id, form_id)
        return _view(row) if row else None


def find_form_routing_by_key(engine: Engine, form_key: str) -> FormRoutingView | None:
    """Return the routing whose public redirect URL carries form_key, or None."""
    with session_scope(engine) as session:
        row = session.exec(select(FormRouting).where(FormRouting.form_key == form_key)).first()
        return _view(row) if row else None


def list_form_routings(engine: Engine, team_id: int) -> list[FormRoutingView]:
    """Return the team's form routings, ordered by form id."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(FormRouting).where(FormRouting.team_id == team_id).order_by(FormRouting.form_id)
        ).all()
        return [_view(row) for row in rows]


def get_or_create_form_routing(
    engine: Engine, actor: Actor, team_id: int, form_id: int, now: datetime
) -> FormRoutingView:
    """Return the routing of the team's form, creating it with no rules and a new form key if needed.

    Raises PermissionDenied when actor may not manage Account Engagement, and
    FormNotCachedError when the form is not among the team's cached forms.
    """
    existing = get_form_routing(engine, team_id, form_id)
    if existing is not None:
        return existing

    require(engine, actor, team_id, Action.MANAGE_ACCOUNT_ENGAGEMENT, now, target=_target(form_id))
    with session_scope(engine) as session:
        _load_form_fields(session, team_id, form_id)
        row = FormRouting(
            team_id=team_id,
            form_id=form_id,
            form_key=new_form_key(),
            rules=_rules_json(RuleSet()),
            version=FIRST_VERSION,
            updated_at=now,
            updated_by_user_id=actor.user_id,
        )
        session.add(row)
        session.flush()
        record_audit(
            session,
            actor=actor,
            action="routing.create",
            now=now,
            team_id=team_id,
            target=_target(form_id),
            after={"form_id": form_id, "enabled": row.enabled},
        )
        logger.info("created the routing of form %s for team %s", form_id, team_id)
        return _view(row)


def save_rules(
    engine: Engine,
    actor: Actor,
    team_id: int,
    form_id: int,
    rule_set: RuleSet,
    submitted_version: int,
    now: datetime,
) -> FormRoutingView:
    """Store rule_set as the form's rules and increment the version.

    submitted_version is the version the editor loaded. Raises PermissionDenied
    when actor may not manage Account Engagement, LookupError when the form has
    no routing yet, and FormNotCachedError when the form is not cached. Raises
    StaleRulesError when someone saved since the editor loaded the rules. Raises
    InvalidRuleSetError listing every problem, such as a rule without a target,
    a field the form does not have, a number operator with a non-number value
    or a page of another team.
    """
    require(engine, actor, team_id, Action.MANAGE_ACCOUNT_ENGAGEMENT, now, target=_target(form_id))

    with session_scope(engine) as session:
        row = _require_row(session, team_id, form_id)
        check_version(row.version, submitted_version)
        ensure_valid(rule_set, _load_form_fields(session, team_id, form_id), _team_page_ids(session, team_id))

        before = {"version": row.version, **_stored_rules(row)}
        new_version = row.version + 1
        rules = _rules_json(rule_set)
        # The version in the WHERE clause makes the check and the write one step, so a save
        # committed by another process after the read above makes this update match no row.
        result = session.execute(
            update(FormRouting)
            .where(FormRouting.id == row.id, FormRouting.version == submitted_version)
            .values(rules=rules, version=new_version, updated_at=now, updated_by_user_id=actor.user_id)
        )
        lost_race = result.rowcount != 1
        if not lost_race:
            session.refresh(row)
            saved = _view(row)
            record_audit(
                session,
                actor=actor,
                action="routing.save_rules",
                now=now,
                team_id=team_id,
                target=_target(form_id),
                before=before,
                after={"version": new_version, **rules},
            )

    if lost_race:
        raise StaleRulesError(_current_version(engine, row.id), submitted_version)

    logger.info(
        "saved %d routing rules of form %s for team %s (version %d)", len(rule_set.rules), form_id, team_id, new_version
    )
    return saved


def set_enabled(
    engine: Engine, actor: Actor, team_id: int, form_id: int, enabled: bool, now: datetime
) -> FormRoutingView:
    """Turn the form's redirect on or off; while off, visitors see a plain page instead of a booking page.

    Raises PermissionDenied and LookupError as save_rules does.
    """
    return _set_flag(engine, actor, team_id, form_id, "enabled", enabled, now)


def set_verify_with_prospect(
    engine: Engine, actor: Actor, team_id: int, form_id: int, verify: bool, now: datetime
) -> FormRoutingView:
    """Turn on or off checking the answers against the Account Engagement prospect before routing.

    Raises PermissionDenied and LookupError as save_rules does.
    """
    return _set_flag(engine, actor, team_id, form_id, "verify_with_prospect", verify, now)


def _set_flag(
    engine: Engine, actor: Actor, team_id: int, form_id: int, name: str, value: bool, now: datetime
) -> FormRoutingView:
    require(engine, actor, team_id, Action.MANAGE_ACCOUNT_ENGAGEMENT, now, target=_target(form_id))

    with session_scope(engine) as session:
        row = _require_row(session, team_id, form_id)
        before = getattr(row, name)
        if before == value:
            return _view(row)

        setattr(row, name, value)
        row.updated_at = now
        row.updated_by_user_id = actor.user_id
        session.add(row)
        record_audit(
            session,
            actor=actor,
            action=f"routing.set_{name}",
            now=now,
            team_id=team_id,
            target=_target(form_id),
            before={name: before},
            after={name: value},
        )
        logger.info("set %s=%s on the routing of form %s for team %s", name, value, form_id, team_id)
        return _view(row)


def _find_row(session: Session, team_id: int, form_id: int) -> FormRouting | None:
    return session.exec(
        select(FormRouting).where(FormRouting.team_id == team_id, FormRouting.form_id == form_id)
    ).first()


def _require_row(session: Session, team_id: int, form_id: int) -> FormRouting:
    row = _find_row(session, team_id, form_id)
    if row is None:
        raise LookupError(
            f"form {form_id} of team {team_id} has no routing yet; open the form in the editor to create it"
        )
    return row


def _current_version(engine: Engine, routing_id: int) -> int:
    with session_scope(engine) as session:
        row = session.get(FormRouting, routing_id)
        return row.version if row else 0


def _load_form_fields(session: Session, team_id: int, form_id: int) -> list[str]:
    form = session.exec(
        select(AccountEngagementForm).where(
            AccountEngagementForm.team_id == team_id, AccountEngagementForm.form_id == form_id
        )
    ).first()
    if form is None:
        raise FormNotCachedError(team_id, form_id)
    return list(form.fields or [])


def _team_page_ids(session: Session, team_id: int) -> set[int]:
    return set(session.exec(select(BookingPage.id).where(BookingPage.team_id == team_id)).all())


def _rules_json(rule_set: RuleSet) -> dict[str, Any]:
    # The version lives in its own column, the one the conditional update compares.
    return rule_set.model_dump(mode="json", exclude={"version"})


def _stored_rules(row: FormRouting) -> dict[str, Any]:
    return dict(row.rules or {})


def _view(row: FormRouting) -> FormRoutingView:
    rule_set = RuleSet.model_validate({**_stored_rules(row), "version": row.version})
    return FormRoutingView(
        id=row.id,
        team_id=row.team_id,
        form_id=row.form_id,
        form_key=row.form_key,
        enabled=row.enabled,
        verify_with_prospect=row.verify_with_prospect,
        version=row.version,
        rule_set=rule_set,
        updated_at=row.updated_at,
        updated_by_user_id=row.updated_by_user_id,
    )


def _target(form_id: int) -> str:
    return f"form {form_id}"
