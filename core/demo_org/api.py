"""Request and response types of the REST layer, shared by plain, composite and collection calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.demo_org import dml
from core.demo_org.assignment import HEADER as AUTO_ASSIGN_HEADER
from core.demo_org.errors import ApiError
from core.demo_org.state import DemoOrgState


@dataclass(frozen=True)
class ApiRequest:
    """One REST request, from HTTP or from a composite sub-request; `path` follows ``/services/data/vXX.X/``."""

    method: str
    path: str
    version: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)  # keys in lower case

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class ApiResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class RestContext:
    """The org state and the DML context (user, clock, version) of one authenticated request."""

    state: DemoOrgState
    dml: dml.DmlContext


def error_response(error: ApiError) -> ApiResponse:
    return ApiResponse(error.status, error.body())


def create_with_faults(ctx: RestContext, sobject: str, body: Any, auto_assign: str | None) -> str:
    """Create a record unless a forced record error is due. Raises ApiError."""
    forced = ctx.state.faults.take_record_error()
    if forced is not None:
        raise forced
    return dml.create_record(ctx.dml, sobject, body, auto_assign=auto_assign)


def update_with_faults(ctx: RestContext, sobject: str, record_id: str, body: Any) -> None:
    """Update a record unless a forced record error is due. Raises ApiError."""
    forced = ctx.state.faults.take_record_error()
    if forced is not None:
        raise forced
    dml.update_record(ctx.dml, sobject, record_id, body)


__all__ = ["AUTO_ASSIGN_HEADER", "ApiRequest", "ApiResponse", "RestContext", "create_with_faults", "error_response",
           "update_with_faults"]
