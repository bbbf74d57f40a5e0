"""Errors of sign-in and team membership, each carrying the i18n message pages show."""

from __future__ import annotations

from core.i18n import LocalizedError


class AuthError(LocalizedError):
    """Base of the account and membership errors.

    ``message_key`` names the message in core/i18n/catalog/auth_core.toml and
    ``params`` holds its parameters; str(error) is an English log line.
    """

    message_key = "auth_core.error.generic"


class InvalidEmailError(AuthError, ValueError):
    """An email address is malformed or too long."""

    message_key = "auth_core.error.invalid_email"


class WeakPasswordError(AuthError, ValueError):
    """A new password is shorter than the minimum length or longer than the maximum."""

    message_key = "auth_core.error.weak_password"


class InvalidDisplayNameError(AuthError, ValueError):
    """A display name is empty or too long."""

    message_key = "auth_core.error.invalid_name"


class InvalidRoleError(AuthError, ValueError):
    """A role name is not one of owner, admin, manager and member."""

    message_key = "auth_core.error.invalid_role"


class InvalidPlanError(AuthError, ValueError):
    """A plan name is not one of the known values."""

    message_key = "auth_core.error.invalid_plan"


class EmailTakenError(AuthError):
    """Another user already has this email address."""

    message_key = "auth_core.error.email_taken"


class SetupClosedError(AuthError):
    """The first owner already exists, so the set-up form is closed."""

    message_key = "auth_core.error.setup_closed"


class TeamNotFoundError(AuthError, LookupError):
    """The team does not exist."""

    message_key = "auth_core.error.team_not_found"


class UserNotFoundError(AuthError, LookupError):
    """The user does not exist."""

    message_key = "auth_core.error.user_not_found"


class MemberNotFoundError(AuthError, LookupError):
    """The user is not a member of the team."""

    message_key = "auth_core.error.member_not_found"


class AlreadyMemberError(AuthError):
    """The user is already a member of the team."""

    message_key = "auth_core.error.already_member"


class LastOwnerError(AuthError):
    """The change would leave the team without an owner."""

    message_key = "auth_core.error.last_owner"


class WrongPasswordError(AuthError):
    """The current password given for a password change is wrong."""

    message_key = "auth_core.error.wrong_current_password"


class InvalidTicketError(AuthError):
    """A sign-in ticket is unknown, already used or expired."""

    message_key = "auth_core.error.ticket_invalid"


class DemoModeOffError(AuthError):
    """One-click demo sign-in was requested while demo mode is off."""

    message_key = "auth_core.error.demo_off"
