"""Team membership: the first owner, invitations, removals, roles and the team's plan.

Every change checks permissions.require() first and records its audit event in
the transaction that makes the change. Owners are special: only an owner may
make, demote or remove an owner, and the last owner of a team always stays.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, update
from sqlmodel import Session, select

from core.auth.audit import Actor, record_audit
from core.auth.errors import (
    AlreadyMemberError,
    AuthError,
    InvalidPlanError,
    InvalidRoleError,
    LastOwnerError,
    MemberNotFoundError,
    SetupClosedError,
    TeamNotFoundError,
)
from core.auth.passwords import generate_temporary_password, validate_new_password
from core.auth.permissions import ROLE_RANK, Action, Decision, PermissionDenied, require, role_in_team
from core.auth.users import UserView, find_user, insert_user, normalise_display_name, normalise_email, user_view
from core.i18n import LocalizedError
from core.secrets import Secret
from core.store.db import session_scope
from core.store.models import BookingPage, Membership, Plan, Role, Team, User
from core.teams import SLUG_PATTERN, TeamSettingError, TeamView

logger = logging.getLogger(__name__)

# SLUG_PATTERN allows at most 64 characters. A suggestion turns every run of other characters into one hyphen.
MAX_SLUG_LENGTH = 64
_NOT_SLUG_CHARACTERS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class MemberView:
    """One member of a team with their role."""

    user_id: int
    email: str
    display_name: str
    role: Role
    joined_at: datetime


@dataclass(frozen=True)
class InviteResult:
    """The member added and, for a new account, its temporary password.

    The password is shown once to the inviter and never stored in plain text.
    It is None when the address already had an account.
    """

    member: MemberView
    temporary_password: Secret | None


@dataclass(frozen=True)
class FirstOwner:
    """The result of set-up: the owner, their new team, and the older teams they now own."""

    user: UserView
    team: TeamView
    adopted_teams: list[TeamView]


class _Refused(Exception):
    """Carries a refusal out of the write transaction, so its audit event survives the rollback."""

    def __init__(self, error: Exception, target: str, reason: dict[str, object]) -> None:
        super().__init__(str(error))
        self.error = error
        self.target = target
        self.reason = reason


def team_view(team: Team) -> TeamView:
    return TeamView(
        id=team.id,
        slug=team.slug,
        name=team.name,
        has_webhook_secret=bool(team.webhook_secret_enc),
        plan=team.plan,
    )


def parse_role(role: Role | str) -> Role:
    """Return role as a Role; raise InvalidRoleError for an unknown name."""
    try:
        return Role(role)
    except ValueError:
        raise InvalidRoleError(
            f"role {role!r} is invalid: use owner, admin, manager or member", role=str(role)
        ) from None


def suggest_team_slug(team_name: str) -> str:
    """Return a team ID made from team_name: lower-case ASCII letters and digits joined by hyphens.

    Returns "" when the name has no ASCII letter or digit, as a Japanese-only name has.
    """
    slug = _NOT_SLUG_CHARACTERS.sub("-", team_name.lower()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-")


def first_owner_errors(email: str, name: str, password: str, team_name: str, team_slug: str) -> list[LocalizedError]:
    """Return every problem with the set-up values, in the order of the form; an empty list means all are valid.

    Checks the same rules as create_first_owner except whether the email or
    team ID is already taken, which only the insert can settle.
    """
    checks: list[tuple[Callable[[str], object], str]] = [
        (normalise_display_name, name),
        (normalise_email, email),
        (validate_new_password, password),
        (_validate_team_name, team_name),
        (_validate_team_slug, team_slug),
    ]
    errors: list[LocalizedError] = []
    for check, value in checks:
        try:
            check(value)
        except LocalizedError as exc:
            errors.append(exc)
    return errors


def create_first_owner(
    engine: Engine,
    email: str,
    name: str,
    password: str,
    team_name: str,
    team_slug: str,
    now: datetime,
) -> FirstOwner:
    """Create the first user, a team they own, and make them owner of any team without members.

    Teams made before sign-in existed have no members, so the first owner takes
    them over. Raises SetupClosedError once any user exists, the validation
    errors of insert_user, and TeamSettingError for the team name or slug.
    """
    team_name, team_slug = _validate_team(team_name, team_slug)

    with session_scope(engine) as session:
        if session.exec(select(User.id).limit(1)).first() is not None:
            raise SetupClosedError("the first owner already exists: sign in instead")
        if session.exec(select(Team.id).where(Team.slug == team_slug)).first() is not None:
            raise TeamSettingError(
                f"team slug {team_slug!r} is already in use: choose another one",
                message_key="nav.team.error.slug_taken",
                slug=team_slug,
            )

        user = insert_user(session, email, name, password, now)
        # A set-up racing this one may have committed its user since the check
        # above. On SQLite the insert holds the write lock, so this count includes it.
        if session.exec(select(func.count()).select_from(User)).one() > 1:
            raise SetupClosedError("the first owner already exists: sign in instead")
        orphans = session.exec(
            select(Team).where(~Team.id.in_(select(Membership.team_id).distinct())).order_by(Team.id)
        ).all()
        team = Team(name=team_name, slug=team_slug, created_at=now)
        session.add(team)
        session.flush()

        for owned in (team, *orphans):
            session.add(Membership(team_id=owned.id, user_id=user.id, role=Role.OWNER, created_at=now))
            record_audit(
                session,
                actor=Actor(user.id, user.email),
                action="member.added",
                now=now,
                team_id=owned.id,
                target=user.email,
                after={"email": user.email, "role": Role.OWNER.value, "account": "first_owner"},
            )
        logger.info("created the first owner %s with team %s and %d older teams", user.id, team.id, len(orphans))
        return FirstOwner(user_view(user), team_view(team), [team_view(orphan) for orphan in orphans])


def invite_member(
    engine: Engine,
    actor: Actor,
    team_id: int,
    email: str,
    role: Role | str,
    now: datetime,
    *,
    display_name: str | None = None,
) -> InviteResult:
    """Add the user with email to the team, creating an account with a temporary password if needed.

    Raises PermissionDenied unless actor is an admin or owner (and an owner to
    invite an owner), InvalidEmailError, InvalidRoleError, AlreadyMemberError
    and TeamNotFoundError.
    """
    email = normalise_email(email)
    new_role = parse_role(role)
    require(engine, actor, team_id, Action.MANAGE_MEMBERS, now, target=email)

    with _audited_refusals(engine, actor, team_id, now, "member.invited"):
        with session_scope(engine) as session:
            _get_team(session, team_id)
            _check_owner_rights(session, actor, team_id, touches_owner=new_role == Role.OWNER, target=email)

            user = find_user(session, email)
            temporary_password: Secret | None = None
            if user is None:
                temporary_password = generate_temporary_password()
                user = insert_user(session, email, display_name or email.split("@", 1)[0], temporary_password, now)
            elif _membership(session, team_id, user.id) is not None:
                raise AlreadyMemberError(f"{email} is already a member of team {team_id}", email=email)

            membership = Membership(team_id=team_id, user_id=user.id, role=new_role, created_at=now)
            session.add(membership)
            session.flush()
            record_audit(
                session,
                actor=actor,
                action="member.invited",
                now=now,
                team_id=team_id,
                target=email,
                after={
                    "email": email,
                    "role": new_role.value,
                    "account": "created" if temporary_password is not None else "existing",
                },
            )
            logger.info("added user %s to team %s as %s", user.id, team_id, new_role.value)
            return InviteResult(_member_view(membership, user), temporary_password)


add_member = invite_member


def remove_member(engine: Engine, actor: Actor, team_id: int, user_id: int, now: datetime) -> None:
    """Remove the user from the team and clear their ownership of its booking pages.

    Raises PermissionDenied unless actor is an admin or owner (an owner to
    remove an owner), MemberNotFoundError, and LastOwnerError for the last owner.
    """
    require(engine, actor, team_id, Action.MANAGE_MEMBERS, now, target=f"user {user_id}")

    with _audited_refusals(engine, actor, team_id, now, "member.removed"):
        with session_scope(engine) as session:
            _lock_team(session, team_id)
            membership, user = _existing_membership(session, team_id, user_id)
            old_role = Role(membership.role)
            _check_owner_rights(session, actor, team_id, touches_owner=old_role == Role.OWNER, target=user.email)

            session.delete(membership)
            pages = session.exec(
                update(BookingPage)
                .where(BookingPage.team_id == team_id, BookingPage.owner_user_id == user_id)
                .values(owner_user_id=None)
            )
            session.flush()
            _ensure_an_owner_remains(session, team_id, user.email)

            record_audit(
                session,
                actor=actor,
                action="member.removed",
                now=now,
                team_id=team_id,
                target=user.email,
                before={"email": user.email, "role": old_role.value},
                after={"booking_pages_unassigned": pages.rowcount},
            )
    logger.info("removed user %s from team %s", user_id, team_id)


def change_role(
    engine: Engine, actor: Actor, team_id: int, user_id: int, role: Role | str, now: datetime
) -> MemberView:
    """Give the member a new role in the team.

    Raises PermissionDenied unless actor is an admin or owner (an owner when the
    old or new role is owner), InvalidRoleError, MemberNotFoundError, and
    LastOwnerError when the last owner would be demoted.
    """
    new_role = parse_role(role)
    require(engine, actor, team_id, Action.MANAGE_MEMBERS, now, target=f"user {user_id}")

    with _audited_refusals(engine, actor, team_id, now, "member.role_changed"):
        with session_scope(engine) as session:
            _lock_team(session, team_id)
            membership, user = _existing_membership(session, team_id, user_id)
            old_role = Role(membership.role)
            touches_owner = Role.OWNER in (old_role, new_role)
            _check_owner_rights(session, actor, team_id, touches_owner=touches_owner, target=user.email)
            if old_role == new_role:
                return _member_view(membership, user)

            membership.role = new_role
            session.add(membership)
            session.flush()
            _ensure_an_owner_remains(session, team_id, user.email)

            record_audit(
                session,
                actor=actor,
                action="member.role_changed",
                now=now,
                team_id=team_id,
                target=user.email,
                before={"role": old_role.value},
                after={"role": new_role.value},
            )
            logger.info("changed the role of user %s in team %s to %s", user_id, team_id, new_role.value)
            return _member_view(membership, user)


def list_members(engine: Engine, team_id: int) -> list[MemberView]:
    """Return the team's members, owners first, then by email."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(Membership, User).join(User, User.id == Membership.user_id).where(Membership.team_id == team_id)
        ).all()
        members = [_member_view(membership, user) for membership, user in rows]
    return sorted(members, key=lambda member: (-ROLE_RANK[member.role], member.email))


def teams_for_user(engine: Engine, user_id: int) -> list[tuple[TeamView, Role]]:
    """Return the teams the user belongs to with their role in each, by team name."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(Team, Membership.role)
            .join(Membership, Membership.team_id == Team.id)
            .where(Membership.user_id == user_id)
            .order_by(Team.name, Team.id)
        ).all()
        return [(team_view(team), Role(role)) for team, role in rows]


def set_team_plan(engine: Engine, actor: Actor, team_id: int, plan: Plan | str, now: datetime) -> TeamView:
    """Change the team's plan; raise PermissionDenied unless actor is its owner, or InvalidPlanError."""
    try:
        new_plan = Plan(plan)
    except ValueError:
        raise InvalidPlanError(
            f"plan {plan!r} is invalid: use free, pro, team or enterprise", plan=str(plan)
        ) from None
    require(engine, actor, team_id, Action.MANAGE_PLAN, now, target=f"team {team_id}")

    with session_scope(engine) as session:
        team = _get_team(session, team_id)
        old_plan = team.plan
        if old_plan != new_plan:
            team.plan = new_plan
            session.add(team)
            record_audit(
                session,
                actor=actor,
                action="team.plan_changed",
                now=now,
                team_id=team_id,
                target=team.slug,
                before={"plan": old_plan},
                after={"plan": new_plan.value},
            )
            logger.info("changed the plan of team %s to %s", team_id, new_plan.value)
        return team_view(team)


@contextmanager
def _audited_refusals(engine: Engine, actor: Actor, team_id: int, now: datetime, action: str) -> Iterator[None]:
    """Turn a _Refused raised inside into its error, after committing a refusal audit event."""
    try:
        yield
    except _Refused as refused:
        with session_scope(engine) as session:
            record_audit(
                session,
                actor=actor,
                action=action,
                now=now,
                team_id=team_id,
                target=refused.target,
                after=dict(refused.reason),
                outcome="refused",
            )
        raise refused.error from None


def _validate_team(name: str, slug: str) -> tuple[str, str]:
    return _validate_team_name(name), _validate_team_slug(slug)


def _validate_team_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise TeamSettingError("team name must be 1 to 200 characters", message_key="nav.team.error.name")
    return name


def _validate_team_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise TeamSettingError(
            f"team slug {slug!r} is invalid: use 1 to 64 lower-case letters, digits and hyphens",
            message_key="nav.team.error.slug",
            slug=slug,
        )
    return slug


def _get_team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise TeamNotFoundError(f"team {team_id} not found", team_id=team_id)
    return team


def _lock_team(session: Session, team_id: int) -> Team:
    # On PostgreSQL the row lock serialises concurrent role changes of one team, so
    # two owners demoting each other cannot both pass the last-owner check. SQLite
    # has no row locks, but there the first write takes the database's write lock.
    team = session.exec(select(Team).where(Team.id == team_id).with_for_update()).first()
    if team is None:
        raise TeamNotFoundError(f"team {team_id} not found", team_id=team_id)
    return team


def _membership(session: Session, team_id: int, user_id: int) -> Membership | None:
    return session.exec(
        select(Membership).where(Membership.team_id == team_id, Membership.user_id == user_id)
    ).first()


def _existing_membership(session: Session, team_id: int, user_id: int) -> tuple[Membership, User]:
    membership = _membership(session, team_id, user_id)
    user = session.get(User, user_id)
    if membership is None or user is None:
        raise MemberNotFoundError(f"user {user_id} is not a member of team {team_id}", user_id=user_id)
    return membership, user


def _check_owner_rights(session: Session, actor: Actor, team_id: int, *, touches_owner: bool, target: str) -> None:
    if not touches_owner:
        return
    actor_role = role_in_team(session, actor.user_id, team_id)
    if actor_role == Role.OWNER:
        return
    params = {"role": actor_role.value if actor_role else "", "required_role": Role.OWNER.value}
    decision = Decision(False, "auth.denied.role", params)
    raise _Refused(PermissionDenied(Action.MANAGE_MEMBERS, decision), target, {"reason": "auth.denied.role", **params})


def _ensure_an_owner_remains(session: Session, team_id: int, target: str) -> None:
    owners = session.exec(
        select(func.count()).select_from(Membership).where(Membership.team_id == team_id, Membership.role == Role.OWNER)
    ).one()
    if owners == 0:
        error: AuthError = LastOwnerError(
            f"{target} is the last owner of team {team_id}: make another member owner first", email=target
        )
        raise _Refused(error, target, {"reason": error.message_key})


def _member_view(membership: Membership, user: User) -> MemberView:
    return MemberView(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=Role(membership.role),
        joined_at=membership.created_at,
    )
