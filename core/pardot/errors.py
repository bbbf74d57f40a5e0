"""The exception tree for Account Engagement (Pardot) API v5 calls.

Every class is a core.salesforce.errors.SalesforceError, so pages and logs show
them like Salesforce errors: ``error_code`` is ``PARDOT_<code>`` (such as
PARDOT_184) and ``next_step_key`` names a message in catalog ``pardot.toml``.
``pardot_code`` keeps the numeric v5 code. Every error raised by PardotClient
carries the next-step parameters ``business_unit_id`` and ``host``.
"""

from __future__ import annotations

from typing import Any

from core.salesforce.errors import SalesforceError

ERROR_CODE_PREFIX = "PARDOT_"

# The v5 error codes the console reacts to.
MISSING_HEADER = 181
INVALID_HEADER = 182
INVALID_ACCESS_TOKEN = 184
BUSINESS_UNIT_NOT_FOUND = 201
CONCURRENT_REQUEST_LIMIT = 66
DAILY_REQUEST_LIMIT = 122
INVALID_FIELDS = 180
OBJECT_NOT_FOUND = 192


class PardotError(SalesforceError):
    """An Account Engagement API call failed."""

    def __init__(self, message: str, *, pardot_code: int | None = None, **kwargs: Any) -> None:
        if pardot_code is not None:
            kwargs.setdefault("error_code", f"{ERROR_CODE_PREFIX}{pardot_code}")
        super().__init__(message, **kwargs)
        self.pardot_code = pardot_code


class PardotAuthenticationError(PardotError):
    """The access token was rejected (184): expired, no pardot_api scope, or a user outside the business unit."""


class BusinessUnitError(PardotError):
    """The Pardot-Business-Unit-Id header is missing (181), malformed (182) or names no business unit here (201)."""


class ConcurrencyLimitError(PardotError):
    """Too many API requests are running at once for the account (66)."""

    transient = True


class DailyLimitError(PardotError):
    """The account's daily API request limit is used up (122)."""

    transient = True


class PardotNotFoundError(PardotError):
    """The object or collection does not exist (192 or HTTP 404)."""


class PardotServerError(PardotError):
    """Account Engagement returned a server error (HTTP 5xx)."""

    transient = True


_FAMILY_BY_CODE: dict[int, type[PardotError]] = {
    MISSING_HEADER: BusinessUnitError,
    INVALID_HEADER: BusinessUnitError,
    BUSINESS_UNIT_NOT_FOUND: BusinessUnitError,
    INVALID_ACCESS_TOKEN: PardotAuthenticationError,
    CONCURRENT_REQUEST_LIMIT: ConcurrencyLimitError,
    DAILY_REQUEST_LIMIT: DailyLimitError,
    OBJECT_NOT_FOUND: PardotNotFoundError,
}


def pardot_error_from_response(
    status: int, body: Any, *, method: str, path: str, next_step_params: dict[str, Any]
) -> PardotError:
    """Build the matching PardotError from a v5 error response {"code": <int>, "message": "..."}.

    The numeric code decides the class; without one, the HTTP status does.
    """
    code = body.get("code") if isinstance(body, dict) else None
    pardot_code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        message = f"HTTP {status} without an Account Engagement error body"

    family = _FAMILY_BY_CODE.get(pardot_code) if pardot_code is not None else None
    if family is None:
        if status >= 500:
            family = PardotServerError
        elif status == 404:
            family = PardotNotFoundError
        else:
            family = PardotError
    return family(
        message,
        pardot_code=pardot_code,
        status=status,
        method=method,
        path=path,
        next_step_params=dict(next_step_params),
    )


class NotSetUpError(PardotError):
    """The team has saved no Business Unit ID, so no Account Engagement call can be made."""
