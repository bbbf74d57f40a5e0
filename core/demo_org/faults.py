"""Fault switches for tests and demos: latency, random and forced errors, token endpoint failures.

Forced errors whose status is 400 (record errors such as DUPLICATES_DETECTED) fire on the
next record create or update, including inside composite and collection requests, because
that is where Salesforce raises them. Every other forced error fires on the next data
request as a whole (any call under /services/data/vXX.X/).
"""

from __future__ import annotations

import ipaddress
import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

from core.demo_org.errors import ApiError
from core.demo_org.query import DEFAULT_BATCH_SIZE

# errorCode -> (HTTP status, message) as Salesforce returns them.
KNOWN_ERRORS: dict[str, tuple[int, str]] = {
    "INVALID_SESSION_ID": (401, "Session expired or invalid"),
    "REQUEST_LIMIT_EXCEEDED": (403, "TotalRequests Limit exceeded."),
    "API_DISABLED_FOR_ORG": (403, "The REST API is not enabled for this Organization."),
    "SERVER_UNAVAILABLE": (503, "Server temporarily unavailable; try again later."),
    "DUPLICATES_DETECTED": (400, "Use one of these records?"),
}

# OAuth error -> error_description, as the token endpoint returns them. The first four texts
# are the ones Salesforce is reported to send.
# NOTE: the texts for inactive_user, inactive_org and rate_limit_exceeded are placeholders;
# Salesforce's exact wording is not documented.
TOKEN_ERRORS: dict[str, str] = {
    "invalid_grant": "expired access/refresh token",
    "invalid_client_id": "client identifier invalid",
    "invalid_client": "invalid client credentials",
    "unsupported_grant_type": "grant type not supported",
    "inactive_user": "user is inactive",
    "inactive_org": "organization is locked, closed or suspended",
    "rate_limit_exceeded": "too many requests; try again later",
}


@dataclass
class FaultSettings:
    """The fault switches set through POST /_admin/faults."""

    latency_ms: int = 0
    error_rate: float = 0.0
    error_code: str | None = None
    error_status: int | None = None
    count: int | None = None
    token_error: str | None = None
    seed: int = 0
    query_batch_size: int = DEFAULT_BATCH_SIZE


class Faults:
    """The current fault settings and the seeded random source that decides random errors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._random = random.Random(0)

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return FaultSettings(**asdict(self._settings))

    def configure(self, payload: dict[str, Any]) -> FaultSettings:
        """Replace the settings with `payload` (keys of FaultSettings; ``expire_tokens`` is handled by the caller).

        Raises ValueError naming the first invalid key or value.
        """
        allowed = set(FaultSettings.__dataclass_fields__) | {"expire_tokens"}
        unknown = sorted(set(payload) - allowed)
        if unknown:
            raise ValueError(f"unknown fault setting {unknown[0]!r}; use one of {sorted(allowed)}")

        settings = FaultSettings(**{key: value for key, value in payload.items() if key != "expire_tokens"})
        _validate(settings)
        with self._lock:
            self._settings = settings
            self._random = random.Random(settings.seed)
        return settings

    def clear(self) -> None:
        with self._lock:
            self._settings = FaultSettings()
            self._random = random.Random(0)

    def take_request_error(self) -> ApiError | None:
        """Return the forced error for the current data request, or None. A returned error counts against `count`."""
        return self._take(record_level=False)

    def take_record_error(self) -> ApiError | None:
        """Return the record error (status 400) for the current create or update, or None."""
        return self._take(record_level=True)

    def _take(self, *, record_level: bool) -> ApiError | None:
        with self._lock:
            settings = self._settings
            code = settings.error_code
            if code is None and settings.error_rate <= 0:
                return None
            if settings.count is not None and settings.count <= 0:
                return None

            code = code or "SERVER_UNAVAILABLE"
            status = settings.error_status or KNOWN_ERRORS.get(code, (400, ""))[0]
            if (status == 400) != record_level:
                return None
            # Without error_rate, a forced error_code fires every time; with it, at that rate.
            rate = settings.error_rate if settings.error_rate > 0 else 1.0
            if self._random.random() >= rate:
                return None

            if settings.count is not None:
                settings.count -= 1
        return forced_error(code, status)


def forced_error(code: str, status: int) -> ApiError:
    """Build the error body Salesforce returns for `code`; DUPLICATES_DETECTED gets a duplicateResult."""
    message = KNOWN_ERRORS.get(code, (status, f"{code} forced by the demo org's fault settings"))[1]
    if code != "DUPLICATES_DETECTED":
        return ApiError(status, code, message)
    return ApiError(status, code, message, fields=[], extra={"duplicateResult": _duplicate_result(message)})


def _duplicate_result(message: str) -> dict[str, Any]:
    # NOTE: a forced duplicate names no matching record: the fault fires without running a matching rule.
    return {
        "allowSave": False,
        "duplicateRule": "Standard_Lead_Duplicate_Rule",
        "duplicateRuleEntityType": "Lead",
        "errorMessage": message,
        "matchResults": [
            {
                "entityType": "Lead",
                "errors": [],
                "matchEngine": "FuzzyMatchEngine",
                "matchRecords": [],
                "rule": "Standard_Lead_Match_Rule_v1_0",
                "size": 0,
                "success": True,
            }
        ],
    }


def _validate(settings: FaultSettings) -> None:
    if not isinstance(settings.latency_ms, int) or settings.latency_ms < 0:
        raise ValueError(f"latency_ms={settings.latency_ms!r} is invalid; give milliseconds as an integer >= 0")
    if not isinstance(settings.error_rate, int | float) or not 0 <= settings.error_rate <= 1:
        raise ValueError(f"error_rate={settings.error_rate!r} is invalid; give a fraction from 0 to 1")
    if settings.error_status is not None and not 400 <= settings.error_status <= 599:
        raise ValueError(f"error_status={settings.error_status!r} is invalid; give an HTTP error status 400-599")
    if settings.count is not None and (not isinstance(settings.count, int) or settings.count < 0):
        raise ValueError(f"count={settings.count!r} is invalid; give an integer >= 0 or null for no limit")
    if settings.token_error is not None and settings.token_error not in TOKEN_ERRORS:
        raise ValueError(f"token_error={settings.token_error!r} is invalid; use one of {sorted(TOKEN_ERRORS)}")
    if not isinstance(settings.query_batch_size, int) or settings.query_batch_size < 1:
        raise ValueError(f"query_batch_size={settings.query_batch_size!r} is invalid; give an integer >= 1")


def is_loopback(host: str | None) -> bool:
    """Return whether a client address is a loopback address (127.0.0.0/8 or ::1)."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # A dual-stack server reports IPv4 clients as ::ffff:127.0.0.1, which Python 3.11
    # does not count as loopback.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
