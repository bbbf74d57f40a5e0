"""SQLModel tables of the console's store.

Columns ending in ``_enc`` hold Fernet tokens (see core.secrets) and never a plain
secret. Times are timezone-aware; SQLModel stores and returns them in UTC.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class Role(StrEnum):
    """A user's role in one team, from most to least rights."""

    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    MEMBER = "member"


class Plan(StrEnum):
    FREE = "free"
    PRO = "pro"
    TEAM = "team"
    ENTERPRISE = "enterprise"


class ConnectionStatus(StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


class OwnerRule(StrEnum):
    """The rule that picks the owner of the Event created for a booking."""

    RECORD_OWNER = "record_owner"  # the owner of the Lead or Contact
    HOST = "host"  # the booking page's host, matched to an active User by email
    FIXED = "fixed"  # one chosen User


class CancellationAction(StrEnum):
    DELETE = "delete"
    MARK_CANCELLED = "mark_cancelled"
    KEEP = "keep"


class NameMode(StrEnum):
    SPLIT = "split"  # family and given name into LastName and FirstName
    LAST_NAME_ONLY = "last_name_only"  # the whole name into LastName


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class SyncOutcome(StrEnum):
    QUEUED = "queued"
    CREATED_LEAD = "created_lead"
    CREATED_EVENT = "created_event"
    UPDATED_EVENT = "updated_event"
    DELETED_EVENT = "deleted_event"
    SKIPPED = "skipped"
    FAILED = "failed"


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True, max_length=64)
    name: str = Field(max_length=200)
    webhook_secret_enc: str | None = None
    plan: str = Field(default=Plan.FREE, sa_column_kwargs={"server_default": Plan.FREE.value})
    created_at: datetime


class SalesforceConnection(SQLModel, table=True):
    """One team's link to a Salesforce org; several teams may link the same org."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", unique=True)
    login_url: str
    consumer_key: str
    consumer_secret_enc: str
    access_token_enc: str | None = None
    refresh_token_enc: str | None = None
    instance_url: str | None = None
    org_id: str | None = Field(default=None, index=True)
    user_id: str | None = None
    username: str | None = None
    api_version: str = "66.0"
    # The scopes Salesforce granted, space-separated, from the token response.
    scope: str | None = None
    status: str = ConnectionStatus.DISCONNECTED
    connected_at: datetime | None = None
    last_error_code: str | None = None
    # Latest Sforce-Limit-Info reading: API requests used and allowed in the last 24 hours.
    api_usage_used: int | None = None
    api_usage_max: int | None = None
    api_usage_at: datetime | None = None


class OAuthState(SQLModel, table=True):
    """A pending authorization: the browser leaves the Streamlit session during it."""

    state: str = Field(primary_key=True, max_length=128)
    team_id: int = Field(foreign_key="team.id")
    # The console user who started the authorization, for the audit trail.
    user_id: int | None = Field(default=None, foreign_key="user.id")
    code_verifier_enc: str
    # Space-separated OAuth scopes requested, e.g. "api refresh_token pardot_api".
    scope: str = Field(default="api refresh_token", sa_column_kwargs={"server_default": "api refresh_token"})
    # The External Client App credentials the authorization uses. They reach the
    # connection only when the token exchange succeeds, so a wrong Consumer Secret
    # never replaces a working one. None (rows from before migration 0004) means
    # the credentials saved on the connection.
    login_url: str
    consumer_key: str | None = None
    consumer_secret_enc: str | None = None
    redirect_uri: str
    expires_at: datetime


class BookingPage(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("team_id", "event_type_uid"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    # The member whose page this is; members see the sync log of their own pages only.
    owner_user_id: int | None = Field(default=None, foreign_key="user.id")
    name: str = Field(max_length=200)
    event_type_uid: str = Field(max_length=100)
    public_url: str = ""
    host_emails: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))

    integration_enabled: bool = False
    create_lead_for_new: bool = True
    create_event_for_existing: bool = True
    create_event_on_new_lead: bool = True
    # Lead owner: None lets the org's active lead assignment rule decide.
    lead_owner_id: str | None = None
    event_owner_rule: str = OwnerRule.RECORD_OWNER
    event_owner_id: str | None = None  # with OwnerRule.FIXED
    # Used when the owner rule finds no active User; None means the connected user.
    fallback_owner_id: str | None = None
    subject_template: str = "{page_name}: {guest_name}"
    cancellation_action: str = CancellationAction.DELETE
    name_mode: str = NameMode.SPLIT
    lead_source: str | None = None
    # Booking answer label -> Lead field (Company, Phone, LeadSource, Description).
    answer_mapping: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime


class OutboxEvent(SQLModel, table=True):
    """A received webhook event, stored before it is acknowledged."""

    __table_args__ = (
        UniqueConstraint("team_id", "dedupe_key"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    # Event type, booking uid and object.updatedAt, or a hash of the raw body.
    dedupe_key: str = Field(max_length=300)
    event_type: str = Field(max_length=64)
    booking_uid: str = Field(max_length=100)
    event_type_uid: str = Field(max_length=100)
    object_updated_at: datetime | None = None
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime
    status: str = OutboxStatus.QUEUED
    attempts: int = 0
    next_attempt_at: datetime
    claimed_at: datetime | None = None


class BookingRecord(SQLModel, table=True):
    """The Salesforce records a booking produced, for later reschedules and cancellations."""

    __table_args__ = (UniqueConstraint("team_id", "booking_uid"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    booking_uid: str = Field(max_length=100)
    who_id: str | None = None  # Lead or Contact Id
    lead_id: str | None = None  # set when this booking created the Lead
    event_id: str | None = None
    # object.updatedAt of the newest event applied; older events are ignored.
    applied_updated_at: datetime | None = None
    cancelled: bool = False


class SyncLog(SQLModel, table=True):
    """The outcome of one received booking event, shown on the Sync log screen."""

    __table_args__ = (
        Index("ix_synclog_team_created", "team_id", "created_at"),
        Index("ix_synclog_team_outcome", "team_id", "outcome"),
        Index("ix_synclog_team_page", "team_id", "booking_page_id"),
        Index("ix_synclog_team_email", "team_id", "guest_email"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    outbox_id: int = Field(foreign_key="outboxevent.id", unique=True)
    booking_page_id: int | None = Field(default=None, foreign_key="bookingpage.id")
    booking_uid: str = Field(max_length=100)
    event_type: str = Field(max_length=64)
    guest_email: str = Field(default="", max_length=320)  # lower-cased for the filter
    guest_name: str = Field(default="", max_length=200)
    outcome: str = SyncOutcome.QUEUED
    # [{"sobject": "Lead", "id": "00Q..."}, ...]
    records: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    api_calls: int = 0
    duration_ms: int = 0
    # Why a row was skipped or what a success means: an i18n key with parameters.
    detail_key: str | None = None
    detail_params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error_code: str | None = None
    error_message: str | None = None
    next_step_key: str | None = None
    next_step_params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempts: int = 0
    created_at: datetime
    updated_at: datetime


class User(SQLModel, table=True):
    """A person who signs in to the console."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=320)  # lower-cased
    display_name: str = Field(max_length=200)
    # Argon2id hash; None for an account that signs in only through single sign-on.
    password_hash: str | None = None
    # The screen language the user last chose ("en" or "ja"); None follows the browser.
    language: str | None = Field(default=None, max_length=8)
    failed_sign_ins: int = 0
    locked_until: datetime | None = None
    last_sign_in_at: datetime | None = None
    created_at: datetime


class Membership(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    role: str = Role.MEMBER
    created_at: datetime


class AuthSession(SQLModel, table=True):
    """A signed-in browser. The cookie contains the token, and the store keeps only its SHA-256."""

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime
    expires_at: datetime
    # A one-time sign-in ticket becomes a session when the browser redeems it.
    is_ticket: bool = False


class AuditEvent(SQLModel, table=True):
    """One change, refusal or sign-in event; values never contain secrets."""

    __table_args__ = (Index("ix_audit_team_created", "team_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    actor_user_id: int | None = Field(default=None, foreign_key="user.id")
    actor_email: str = Field(default="", max_length=320)
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=300)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    outcome: str = Field(default="done", max_length=16)  # done, refused, failed
    created_at: datetime


class AccountEngagementConnection(SQLModel, table=True):
    """A team's Account Engagement business unit, reached with its Salesforce token."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", unique=True)
    business_unit_id: str = Field(max_length=18)
    environment: str = "production"  # production or demo (pi.demo.pardot.com)
    checked_at: datetime | None = None
    last_error_code: str | None = None
    forms_fetched_at: datetime | None = None


class AccountEngagementForm(SQLModel, table=True):
    """A cached Account Engagement form with its field names."""

    __table_args__ = (UniqueConstraint("team_id", "form_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    form_id: int
    name: str = Field(max_length=255)
    fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fetched_at: datetime


class FormRouting(SQLModel, table=True):
    """The routing rules of one form and the key of its public redirect URL."""

    __table_args__ = (UniqueConstraint("team_id", "form_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    form_id: int
    form_key: str = Field(unique=True, index=True, max_length=64)
    enabled: bool = True
    # core.routing.RuleSet as JSON; its version guards against lost updates.
    rules: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    verify_with_prospect: bool = False
    updated_at: datetime
    updated_by_user_id: int | None = Field(default=None, foreign_key="user.id")


class RoutingLog(SQLModel, table=True):
    """One visitor routed (or not) by GET /route/{form_key}."""

    __table_args__ = (Index("ix_routinglog_team_created", "team_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    form_routing_id: int | None = Field(default=None, foreign_key="formrouting.id")
    form_key: str = Field(max_length=64)
    outcome: str = Field(max_length=32)  # matched, fallback, no_match, unknown_form, disabled, not_verified
    matched_rule_id: str | None = None
    matched_rule_name: str | None = None
    booking_page_id: int | None = Field(default=None, foreign_key="bookingpage.id")
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime
