"""The exception tree for Salesforce calls, with a next step for the user.

Every error carries the HTTP status, Salesforce's ``errorCode`` and message, the
fields it names, and the method and path of the request (never a token or a
query string). ``next_step_key`` names an i18n message (catalog
``salesforce_errors.toml``) that pages and the sync log show in the user's language.
"""

from __future__ import annotations

from typing import Any


class SalesforceError(Exception):
    """A Salesforce call failed."""

    #: Whether retrying the same request later can succeed without anyone acting.
    transient = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        fields: list[str] | None = None,
        method: str | None = None,
        path: str | None = None,
        next_step_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.fields = fields or []
        self.method = method
        self.path = path
        self.next_step_params = next_step_params or {}

    @property
    def next_step_key(self) -> str:
        """Return the i18n key of what the user should do about this error."""
        from core.i18n import load_catalog

        if self.error_code:
            specific = f"sf_next.{self.error_code}"
            if specific in load_catalog():
                return specific
        return f"sf_next.family.{type(self).__name__}"

    def __str__(self) -> str:
        where = f" ({self.method} {self.path})" if self.method and self.path else ""
        code = f"{self.error_code}: " if self.error_code else ""
        return f"{code}{self.message}{where}"


class TransportError(SalesforceError):
    """The request did not reach Salesforce or its answer did not arrive (network, timeout)."""

    transient = True


class AuthenticationError(SalesforceError):
    """The access token was rejected (401 INVALID_SESSION_ID) and a refresh did not help."""


class ReconnectRequired(SalesforceError):
    """The refresh token no longer works; a manager must connect the org again."""


class OAuthError(SalesforceError):
    """The token or authorize endpoint returned an OAuth error such as invalid_client_id."""


class ApiDisabledError(SalesforceError):
    """The org's edition or the user has no API access (API_DISABLED_FOR_ORG)."""


class RequestLimitError(SalesforceError):
    """The org's API request limit is used up (REQUEST_LIMIT_EXCEEDED)."""

    transient = True


class ServerUnavailableError(SalesforceError):
    """Salesforce is down for maintenance or overloaded (503 SERVER_UNAVAILABLE)."""

    transient = True


class AccessDeniedError(SalesforceError):
    """The connected user lacks permission on an object, field or record."""


class NotFoundError(SalesforceError):
    """The record or resource does not exist or was deleted."""


class QueryError(SalesforceError):
    """A SOQL query was rejected (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE)."""


class ValidationError(SalesforceError):
    """Salesforce rejected the record's data: required field, length, validation rule, duplicate."""


_FAMILY_BY_CODE: dict[str, type[SalesforceError]] = {
    "INVALID_SESSION_ID": AuthenticationError,
    "API_DISABLED_FOR_ORG": ApiDisabledError,
    "API_CURRENTLY_DISABLED": ApiDisabledError,
    "REQUEST_LIMIT_EXCEEDED": RequestLimitError,
    "SERVER_UNAVAILABLE": ServerUnavailableError,
    "INSUFFICIENT_ACCESS_OR_READONLY": AccessDeniedError,
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": AccessDeniedError,
    "INSUFFICIENT_ACCESS": AccessDeniedError,
    "NOT_FOUND": NotFoundError,
    "ENTITY_IS_DELETED": NotFoundError,
    "MALFORMED_QUERY": QueryError,
    "INVALID_TYPE": QueryError,
}

_FAMILY_BY_STATUS: dict[int, type[SalesforceError]] = {
    401: AuthenticationError,
    403: AccessDeniedError,
    404: NotFoundError,
    503: ServerUnavailableError,
}


def error_from_response(
    status: int, body: Any, *, method: str, path: str
) -> SalesforceError:
    """Build the matching SalesforceError from a REST error response.

    REST errors are a JSON array of {"message", "errorCode", "fields"}; the first
    entry decides the family. Collections results use "statusCode" for the code.
    """
    first: dict[str, Any] = {}
    if isinstance(body, list) and body and isinstance(body[0], dict):
        first = body[0]
    elif isinstance(body, dict):
        first = body

    code = first.get("errorCode") or first.get("statusCode")
    message = first.get("message") or f"HTTP {status} without an error body"
    fields = first.get("fields") or []

    family = _FAMILY_BY_CODE.get(code or "")
    if family is None:
        if status >= 500:
            family = ServerUnavailableError
        elif status in _FAMILY_BY_STATUS:
            family = _FAMILY_BY_STATUS[status]
        elif status == 400:
            family = ValidationError
        else:
            family = SalesforceError
    return family(message, status=status, error_code=code, fields=fields, method=method, path=path)
