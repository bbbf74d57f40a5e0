"""Errors the demo org returns, shaped like Salesforce REST error bodies."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A REST call failed; the body is Salesforce's JSON array of ``{message, errorCode, fields}``."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        *,
        fields: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields
        self.extra = extra or {}

    def entry(self) -> dict[str, Any]:
        """Return the error as one element of a REST error body."""
        entry: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            entry["fields"] = self.fields
        entry.update(self.extra)
        return entry

    def body(self) -> list[dict[str, Any]]:
        """Return the REST error body."""
        return [self.entry()]

    def collection_entry(self) -> dict[str, Any]:
        """Return the error as sObject Collections reports it: ``statusCode`` instead of ``errorCode``."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields or []}


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")


def entity_is_deleted() -> ApiError:
    return ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", fields=[])


def invalid_session() -> ApiError:
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
