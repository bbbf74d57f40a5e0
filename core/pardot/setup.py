"""Account Engagement setup: the team's Business Unit ID, the API host, and the prerequisite checks."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import requests
from sqlalchemy import Engine, delete
from sqlmodel import Session, select

from core.auth.audit import Actor, record_audit
from core.auth.permissions import Action, require
from core.demo_org.constants import DEMO_ORG_ID
from core.i18n import LocalizedValueError
from core.pardot.client import PardotClient
from core.pardot.errors import BusinessUnitError, NotSetUpError, PardotAuthenticationError
from core.salesforce.connection import refresh_connection
from core.salesforce.errors import ReconnectRequired, SalesforceError
from core.secrets import Secret, SecretBox
from core.store.db import session_scope
from core.store.models import (
    AccountEngagementConnection,
    AccountEngagementForm,
    ConnectionStatus,
    SalesforceConnection,
)

logger = logging.getLogger(__name__)

PARDOT_SCOPE = "pardot_api"
# The scopes to request when connecting a team that uses Account Engagement.
SCOPES_WITH_ACCOUNT_ENGAGEMENT = ("api", "refresh_token", PARDOT_SCOPE)

# A Business Unit ID is an 18-character Salesforce id with the key prefix 0Uv.
BUSINESS_UNIT_PATTERN = re.compile(r"0Uv[A-Za-z0-9]{15}")
BUSINESS_UNIT_PREFIX = "0Uv"
BUSINESS_UNIT_LENGTH = 18

# The built-in demo org serves its Account Engagement API under this path of its instance URL.
DEMO_ORG_PARDOT_PATH = "/pardot"


class Environment(StrEnum):
    """The environment of a business unit: a production account, or a demo, training or sandbox account."""

    PRODUCTION = "production"
    DEMO = "demo"


API_HOSTS = {
    Environment.PRODUCTION: "https://pi.pardot.com",
    Environment.DEMO: "https://pi.demo.pardot.com",
}


class Prerequisite(StrEnum):
    SCOPE = "scope"  # the connection was granted pardot_api
    USER_ACCESS = "user_access"  # the connected user may use Account Engagement in the business unit
    BUSINESS_UNIT = "business_unit"  # the Business Unit ID exists in the chosen environment


class BusinessUnitIdError(LocalizedValueError):
    """A Business Unit ID is not an 18-character id starting with 0Uv; the message is in catalog pardot.toml."""


@dataclass(frozen=True)
class BusinessUnitSettings:
    """A team's saved Account Engagement business unit and the outcome of its last check."""

    team_id: int
    business_unit_id: str
    environment: str
    checked_at: datetime | None
    last_error_code: str | None
    forms_fetched_at: datetime | None


@dataclass(frozen=True)
class PrerequisiteCheck:
    """One prerequisite: met is True, False, or None when it could not be checked."""

    name: Prerequisite
    met: bool | None
    next_step_key: str | None = None
    next_step_params: dict[str, Any] = field(default_factory=dict)

    @property
    def label_key(self) -> str:
        """The i18n key of the prerequisite's name."""
        return f"pardot.prerequisite.{self.name.value}"


@dataclass(frozen=True)
class PrerequisiteReport:
    """The three prerequisites in display order, and the error of the check call if it failed."""

    scope: PrerequisiteCheck
    user_access: PrerequisiteCheck
    business_unit: PrerequisiteCheck
    checked_at: datetime
    error: SalesforceError | None = None

    @property
    def items(self) -> tuple[PrerequisiteCheck, PrerequisiteCheck, PrerequisiteCheck]:
        return (self.scope, self.user_access, self.business_unit)

    @property
    def all_met(self) -> bool:
        return all(item.met is True for item in self.items)


def validate_business_unit_id(raw: str) -> str:
    """Return the Business Unit ID without surrounding spaces.

    Raises BusinessUnitIdError (a ValueError) saying what is wrong and where
    to copy the ID from.
    """
    value = raw.strip()
    if not value:
        raise BusinessUnitIdError(
            "the Business Unit ID is empty: copy it from Account Engagement Settings, "
            "an 18-character ID starting with 0Uv",
            message_key="pardot.business_unit.empty",
        )
    if not value.startswith(BUSINESS_UNIT_PREFIX):
        raise BusinessUnitIdError(
            f"the Business Unit ID {value!r} does not start with 0Uv: copy the Business Unit ID "
            "from Account Engagement Settings, not an org ID (00D) or a user ID (005)",
            message_key="pardot.business_unit.prefix",
            value=value,
        )
    if not BUSINESS_UNIT_PATTERN.fullmatch(value):
        raise BusinessUnitIdError(
            f"the Business Unit ID {value!r} has {len(value)} characters: it must be 0Uv followed by "
            "15 letters and digits, 18 characters in all",
            message_key="pardot.business_unit.format",
            value=value,
            length=str(len(value)),
        )
    return value


def base_url_for(environment: Environment | str, connection: SalesforceConnection) -> str:
    """Return the Account Engagement API base URL for a team's environment and Salesforce connection.

    A connection to the built-in demo org (recognised by its fixed org ID) uses
    the demo org's own Account Engagement API, whatever the environment.
    Raises ValueError for an unknown environment.
    """
    if connection.org_id == DEMO_ORG_ID and connection.instance_url:
        return connection.instance_url.rstrip("/") + DEMO_ORG_PARDOT_PATH
    try:
        return API_HOSTS[Environment(environment)]
    except ValueError as exc:
        raise ValueError(f"unknown Account Engagement environment {environment!r}: use production or demo") from exc


def load_business_unit(engine: Engine, team_id: int) -> BusinessUnitSettings | None:
    """Return the team's saved business unit, or None when none is saved."""
    with session_scope(engine) as session:
        row = _load_row(session, team_id)
        return _settings_view(row) if row is not None else None


def save_business_unit(
    engine: Engine,
    team_id: int,
    business_unit_id: str,
    environment: Environment | str,
    now: datetime,
    *,
    actor: Actor | None = None,
) -> BusinessUnitSettings:
    """Validate and save the team's Business Unit ID and environment.

    A change of either drops the cached forms and the last check, because they
    belong to the old business unit. With an actor, the permission to manage
    Account Engagement is checked first and the change is audited.

    Raises BusinessUnitIdError, ValueError for an unknown environment, and
    PermissionDenied when the actor may not make the change.
    """
    business_unit_id = validate_business_unit_id(business_unit_id)
    try:
        environment = Environment(environment)
    except ValueError as exc:
        raise ValueError(f"unknown Account Engagement environment {environment!r}: use production or demo") from exc
    if actor is not None:
        require(engine, actor, team_id, Action.MANAGE_ACCOUNT_ENGAGEMENT, now, target="account_engagement")

    with session_scope(engine) as session:
        row = _load_row(session, team_id)
        before = None
        if row is None:
            row = AccountEngagementConnection(team_id=team_id, business_unit_id=business_unit_id)
        else:
            before = {"business_unit_id": row.business_unit_id, "environment": row.environment}

        if before != {"business_unit_id": business_unit_id, "environment": environment.value}:
            session.exec(delete(AccountEngagementForm).where(AccountEngagementForm.team_id == team_id))
            row.checked_at = None
            row.last_error_code = None
            row.forms_fetched_at = None
        row.business_unit_id = business_unit_id
        row.environment = environment.value
        session.add(row)

        if actor is not None:
            record_audit(
                session,
                actor=actor,
                action=Action.MANAGE_ACCOUNT_ENGAGEMENT.value,
                now=now,
                team_id=team_id,
                target="account_engagement",
                before=before,
                after={"business_unit_id": business_unit_id, "environment": environment.value},
            )
        session.flush()
        view = _settings_view(row)

    logger.info("saved Account Engagement business unit %s (%s) for team %s", business_unit_id, environment, team_id)
    return view


def open_pardot_client(
    engine: Engine, box: SecretBox, team_id: int, http: requests.Session | None = None
) -> PardotClient:
    """Return a client for the team's business unit, using its Salesforce token.

    The client refreshes the Salesforce access token once per request when
    Account Engagement rejects it, and saves the new token encrypted.
    Raises ReconnectRequired when the team has no connected org and
    NotSetUpError when no Business Unit ID is saved.
    """
    connection = _connected_salesforce(engine, team_id)
    settings = load_business_unit(engine, team_id)
    if settings is None:
        raise NotSetUpError(
            f"team {team_id} has saved no Account Engagement Business Unit ID",
            error_code="PARDOT_NOT_SET_UP",
        )

    def refresh() -> Secret:
        return refresh_connection(engine, box, team_id, http)

    return PardotClient(
        base_url_for(settings.environment, connection),
        settings.business_unit_id,
        box.decrypt(connection.access_token_enc),
        refresh=refresh,
        http=http,
    )


def check_prerequisites(
    engine: Engine, box: SecretBox, team_id: int, now: datetime, http: requests.Session | None = None
) -> PrerequisiteReport:
    """Check the scope, the user's access and the Business Unit ID, with at most one API call.

    The scope comes from the connection's granted scopes. User access and the
    business unit are checked together by asking for one form's id: code 184
    means the user has no access, 181, 182 or 201 that the business unit is
    wrong. The outcome is saved with the business unit. A SalesforceError of
    the check call, PardotError included, is returned in the report instead of raised.
    """
    with session_scope(engine) as session:
        connection = session.exec(select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)).first()
        settings_row = _load_row(session, team_id)

    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        return _report(
            now,
            scope=_unknown(Prerequisite.SCOPE, "pardot.next.connect_salesforce"),
            user_access=_unknown(Prerequisite.USER_ACCESS),
            business_unit=_business_unit_saved_or_not(settings_row),
        )

    if PARDOT_SCOPE not in (connection.scope or "").split():
        return _report(
            now,
            scope=PrerequisiteCheck(Prerequisite.SCOPE, False, "pardot.next.add_scope"),
            user_access=_unknown(Prerequisite.USER_ACCESS),
            business_unit=_business_unit_saved_or_not(settings_row),
        )

    scope = PrerequisiteCheck(Prerequisite.SCOPE, True)
    if settings_row is None:
        return _report(
            now,
            scope=scope,
            user_access=_unknown(Prerequisite.USER_ACCESS),
            business_unit=PrerequisiteCheck(Prerequisite.BUSINESS_UNIT, False, "pardot.next.enter_business_unit"),
        )

    report = _call_and_classify(engine, box, team_id, now, scope, connection, http)
    _save_check(engine, team_id, now, report.error)
    return report


def _call_and_classify(
    engine: Engine,
    box: SecretBox,
    team_id: int,
    now: datetime,
    scope: PrerequisiteCheck,
    connection: SalesforceConnection,
    http: requests.Session | None,
) -> PrerequisiteReport:
    try:
        client = open_pardot_client(engine, box, team_id, http)
        client.request("GET", "objects/forms", params={"fields": "id", "limit": 1})
    except PardotAuthenticationError as exc:
        params = {**exc.next_step_params, "username": connection.username or ""}
        user_access = PrerequisiteCheck(Prerequisite.USER_ACCESS, False, "pardot.next.user_access", params)
        return _report(now, scope, user_access, _unknown(Prerequisite.BUSINESS_UNIT), error=exc)
    except BusinessUnitError as exc:
        business_unit = PrerequisiteCheck(Prerequisite.BUSINESS_UNIT, False, exc.next_step_key, exc.next_step_params)
        return _report(now, scope, _unknown(Prerequisite.USER_ACCESS), business_unit, error=exc)
    except ReconnectRequired as exc:
        return _report(
            now,
            _unknown(Prerequisite.SCOPE, exc.next_step_key, exc.next_step_params),
            _unknown(Prerequisite.USER_ACCESS),
            _unknown(Prerequisite.BUSINESS_UNIT),
            error=exc,
        )
    except SalesforceError as exc:
        logger.warning(
            "the Account Engagement check of team %s failed: %s", team_id, exc.error_code or type(exc).__name__
        )
        return _report(
            now,
            scope,
            _unknown(Prerequisite.USER_ACCESS, exc.next_step_key, exc.next_step_params),
            _unknown(Prerequisite.BUSINESS_UNIT),
            error=exc,
        )

    user_access = PrerequisiteCheck(Prerequisite.USER_ACCESS, True)
    return _report(now, scope, user_access, PrerequisiteCheck(Prerequisite.BUSINESS_UNIT, True))


def _report(
    now: datetime,
    scope: PrerequisiteCheck,
    user_access: PrerequisiteCheck,
    business_unit: PrerequisiteCheck,
    *,
    error: SalesforceError | None = None,
) -> PrerequisiteReport:
    return PrerequisiteReport(scope, user_access, business_unit, checked_at=now, error=error)


def _unknown(
    name: Prerequisite, key: str = "pardot.next.unchecked", params: dict[str, Any] | None = None
) -> PrerequisiteCheck:
    return PrerequisiteCheck(name, None, key, dict(params or {}))


def _business_unit_saved_or_not(row: AccountEngagementConnection | None) -> PrerequisiteCheck:
    if row is None:
        return PrerequisiteCheck(Prerequisite.BUSINESS_UNIT, False, "pardot.next.enter_business_unit")
    return _unknown(Prerequisite.BUSINESS_UNIT)


def _save_check(engine: Engine, team_id: int, now: datetime, error: SalesforceError | None) -> None:
    with session_scope(engine) as session:
        row = _load_row(session, team_id)
        if row is None:
            return
        row.checked_at = now
        row.last_error_code = (error.error_code or type(error).__name__) if error is not None else None
        session.add(row)


def _connected_salesforce(engine: Engine, team_id: int) -> SalesforceConnection:
    with session_scope(engine) as session:
        connection = session.exec(select(SalesforceConnection).where(SalesforceConnection.team_id == team_id)).first()
    if (
        connection is None
        or connection.status != ConnectionStatus.CONNECTED
        or not connection.access_token_enc
        or not connection.instance_url
    ):
        status = connection.status if connection is not None else "not set up"
        raise ReconnectRequired(f"team {team_id} has no connected Salesforce org (status: {status})")
    return connection


def _load_row(session: Session, team_id: int) -> AccountEngagementConnection | None:
    return session.exec(
        select(AccountEngagementConnection).where(AccountEngagementConnection.team_id == team_id)
    ).first()


def _settings_view(row: AccountEngagementConnection) -> BusinessUnitSettings:
    return BusinessUnitSettings(
        team_id=row.team_id,
        business_unit_id=row.business_unit_id,
        environment=row.environment,
        checked_at=row.checked_at,
        last_error_code=row.last_error_code,
        forms_fetched_at=row.forms_fetched_at,
    )
