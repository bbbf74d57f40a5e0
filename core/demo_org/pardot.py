"""The demo org's Account Engagement (Pardot) API v5: forms, form fields and prospects, read-only.

Mounted at /pardot inside the demo org, so a client uses ``{instance_url}/pardot`` as
its API host. Requests authenticate like the real API: a demo org access token whose
scopes include pardot_api, and the Pardot-Business-Unit-Id header. The seed data is
listed in core.demo_org.seed.

NOTE: the HTTP statuses of v5 errors are not documented; this emulation returns 401 for
code 184, 404 for an unknown object and 400 for every other error. Code 5 (invalid query
parameters) is borrowed from the v3 and v4 error list for the query errors v5 leaves open.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.demo_org.oauth import valid_access_token
from core.demo_org.seed import (
    PARDOT_BUSINESS_UNIT,
    PARDOT_FORM,
    PARDOT_FORM_FIELD,
    PARDOT_PROSPECT,
    pardot_record_id,
    seed_account_engagement,
)
from core.demo_org.state import DemoOrgState, base_url

logger = logging.getLogger(__name__)

BUSINESS_UNIT_HEADER = "pardot-business-unit-id"
PARDOT_SCOPE = "pardot_api"
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
# Page tokens live about four hours in the real API.
PAGE_TOKEN_SECONDS = 4 * 60 * 60

_BUSINESS_UNIT_ID = re.compile(r"0Uv[A-Za-z0-9]{15}")
_ID_FILTERS = ("idGreaterThan", "idGreaterThanOrEqualTo", "idLessThan", "idLessThanOrEqualTo")
_PAGING_PARAMS = frozenset({"fields", "limit", "orderBy", "deleted", "nextPageToken"})


@dataclass(frozen=True)
class Collection:
    """One v5 object collection: its stored kind, readable fields and equality filters."""

    kind: str
    fields: frozenset[str]
    filters: frozenset[str]


COLLECTIONS = {
    "forms": Collection(
        PARDOT_FORM,
        frozenset({
            "id", "name", "campaignId", "thankYouContent", "thankYouCode", "redirectLocation",
            "isUseRedirectLocation", "embedCode", "isDeleted", "createdAt", "updatedAt",
        }),
        frozenset(),
    ),
    "form-fields": Collection(
        PARDOT_FORM_FIELD,
        frozenset({
            "id", "formId", "prospectApiFieldId", "label", "type", "dataFormat", "isRequired", "sortOrder",
            "isDeleted", "createdAt", "updatedAt",
        }),
        frozenset({"formId"}),
    ),
    "prospects": Collection(
        PARDOT_PROSPECT,
        frozenset({
            "id", "email", "firstName", "lastName", "company", "country", "employees", "interest", "score",
            "grade", "salesforceId", "campaignId", "isDoNotEmail", "optedOut", "isDeleted", "createdAt", "updatedAt",
        }),
        frozenset({"email"}),
    ),
}


class PardotApiError(Exception):
    """An error the emulated API returns as {"code", "message"}."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse({"code": self.code, "message": self.message}, status_code=self.status)


@dataclass(frozen=True)
class PageCursor:
    """The rest of a query: the matching ids not yet returned and how to show them."""

    collection: str
    business_unit_id: str
    remaining_ids: tuple[int, ...]
    fields: tuple[str, ...]
    limit: int
    expires_at: float


def create_pardot_app(state: DemoOrgState) -> Starlette:
    """Build the Account Engagement API of one demo org, seeding its objects when the store has none.

    A store seeded before the demo org had Account Engagement gets the objects here.
    """
    if not state.store.list_records(PARDOT_BUSINESS_UNIT):
        with state.store.transaction():
            seed_account_engagement(state.store)
    cursors: dict[str, PageCursor] = {}

    async def objects(request: Request) -> Response:
        return _handle(state, cursors, request)

    async def not_allowed(request: Request) -> Response:
        return PardotApiError(405, 108, f"The demo org's API does not allow {request.method} here.").response()

    return Starlette(routes=[
        Route("/api/v5/objects/{collection}", objects, methods=["GET"]),
        Route("/api/v5/objects/{collection}/{object_id}", objects, methods=["GET"]),
        Route("/api/v5/objects/{collection}", not_allowed, methods=["POST", "PATCH", "PUT", "DELETE"]),
        Route("/api/v5/objects/{collection}/{object_id}", not_allowed, methods=["POST", "PATCH", "PUT", "DELETE"]),
    ])


def _handle(state: DemoOrgState, cursors: dict[str, PageCursor], request: Request) -> Response:
    name = request.path_params["collection"]
    try:
        business_unit_id = _authenticate(state, request)
        collection = COLLECTIONS.get(name)
        if collection is None:
            raise PardotApiError(404, 192, f"The object collection {name!r} does not exist.")
        if "object_id" in request.path_params:
            body = _read(state, collection, business_unit_id, request)
        else:
            body = _query(state, cursors, name, collection, business_unit_id, request)
    except PardotApiError as error:
        logger.info("demo org Account Engagement GET %s -> %d code %d", name, error.status, error.code)
        return error.response()

    logger.info("demo org Account Engagement GET %s -> 200", name)
    return JSONResponse(body)


def _authenticate(state: DemoOrgState, request: Request) -> str:
    """Return the business unit of a request whose token and header are valid; raise PardotApiError otherwise."""
    invalid_token = PardotApiError(401, 184, "access_token is invalid, unknown, or malformed")
    token = valid_access_token(state, request)
    if token is None or PARDOT_SCOPE not in token.scope.split():
        raise invalid_token

    business_unit_id = request.headers.get(BUSINESS_UNIT_HEADER)
    if not business_unit_id:
        raise PardotApiError(400, 181, "A required header is missing: Pardot-Business-Unit-Id")
    if not _BUSINESS_UNIT_ID.fullmatch(business_unit_id):
        raise PardotApiError(400, 182, "The Pardot-Business-Unit-Id header value is invalid.")

    unit = state.store.get_record(pardot_record_id(PARDOT_BUSINESS_UNIT, business_unit_id))
    if unit is None or unit.sobject != PARDOT_BUSINESS_UNIT:
        raise PardotApiError(
            400, 201, "The business unit in the Pardot-Business-Unit-Id header was not found or is inactive."
        )
    if token.user_id not in unit.fields["userIds"]:
        raise invalid_token
    return business_unit_id


def _read(state: DemoOrgState, collection: Collection, business_unit_id: str, request: Request) -> dict[str, Any]:
    fields = _fields(request.query_params.get("fields"), collection)
    stored = state.store.get_record(pardot_record_id(collection.kind, request.path_params["object_id"]))
    if stored is None or stored.sobject != collection.kind or stored.fields["businessUnitId"] != business_unit_id:
        raise PardotApiError(404, 192, "The requested object does not exist.")
    return _project(stored.fields, fields)


def _query(
    state: DemoOrgState,
    cursors: dict[str, PageCursor],
    name: str,
    collection: Collection,
    business_unit_id: str,
    request: Request,
) -> dict[str, Any]:
    params = request.query_params
    now = state.clock().timestamp()
    for token, cursor in list(cursors.items()):
        if cursor.expires_at <= now:
            del cursors[token]

    token = params.get("nextPageToken")
    if token:
        # NOTE: stricter than the documented rule ("send only nextPageToken and fields"),
        # so a client that resends its filters is caught here.
        extra = sorted(set(params) - {"nextPageToken", "fields"})
        if extra:
            message = f"Send only nextPageToken and fields with a page token, not {', '.join(extra)}."
            raise PardotApiError(400, 5, message)
        cursor = cursors.pop(token, None)
        if cursor is None or cursor.collection != name or cursor.business_unit_id != business_unit_id:
            raise PardotApiError(400, 5, "The nextPageToken is invalid or expired.")
        fields = _fields(params["fields"], collection) if "fields" in params else cursor.fields
        ids, limit = cursor.remaining_ids, cursor.limit
    else:
        fields = _fields(params.get("fields"), collection)
        limit = _limit(params.get("limit"))
        ids = tuple(record["id"] for record in _matching(state, collection, business_unit_id, params))

    by_id = {record["id"]: record for record in state.store.list_records(collection.kind, include_deleted=True)}
    page = [_project(by_id[object_id], fields) for object_id in ids[:limit]]

    next_token = None
    if len(ids) > limit:
        next_token = secrets.token_urlsafe(24)
        cursors[next_token] = PageCursor(
            name, business_unit_id, ids[limit:], fields, limit, now + PAGE_TOKEN_SECONDS
        )
    next_url = None
    if next_token:
        next_url = f"{base_url(request)}/api/v5/objects/{name}?{urlencode({'nextPageToken': next_token})}"
    return {"values": page, "nextPageToken": next_token, "nextPageUrl": next_url}


def _matching(state: DemoOrgState, collection: Collection, business_unit_id: str, params: Any) -> list[dict[str, Any]]:
    """Return the records of the business unit that pass the query's filters, by id."""
    unknown = sorted(set(params) - _PAGING_PARAMS - set(_ID_FILTERS) - {"id"} - collection.filters)
    if unknown:
        raise PardotApiError(400, 5, f"Unknown query parameters: {', '.join(unknown)}.")

    deleted = params.get("deleted", "false").lower()
    if deleted not in ("true", "false", "all"):
        raise PardotApiError(400, 5, "deleted must be true, false or all.")

    records = [r for r in state.store.list_records(collection.kind) if r["businessUnitId"] == business_unit_id]
    if deleted != "all":
        records = [r for r in records if bool(r.get("isDeleted")) == (deleted == "true")]
    for name in sorted(collection.filters & set(params)):
        expected = params[name]
        if name == "email":
            records = [r for r in records if str(r.get("email") or "").lower() == expected.strip().lower()]
        else:
            records = [r for r in records if str(r.get(name)) == expected]
    records = _filter_ids(records, params)
    return sorted(records, key=lambda record: record["id"])


def _filter_ids(records: list[dict[str, Any]], params: Any) -> list[dict[str, Any]]:
    comparisons = {
        "id": lambda value, bound: value == bound,
        "idGreaterThan": lambda value, bound: value > bound,
        "idGreaterThanOrEqualTo": lambda value, bound: value >= bound,
        "idLessThan": lambda value, bound: value < bound,
        "idLessThanOrEqualTo": lambda value, bound: value <= bound,
    }
    for name, compare in comparisons.items():
        if name not in params:
            continue
        try:
            bound = int(params[name])
        except ValueError as error:
            raise PardotApiError(400, 5, f"{name} must be an integer id.") from error
        records = [record for record in records if compare(record["id"], bound)]
    return records


def _fields(raw: str | None, collection: Collection) -> tuple[str, ...]:
    # NOTE: the real code for a missing or unknown field name is not confirmed; 180 is the likely one.
    if not raw or not raw.strip():
        raise PardotApiError(
            400, 180, "The fields parameter is required: list the fields to return, such as fields=id,name."
        )
    names = tuple(name.strip() for name in raw.split(","))
    unknown = [name for name in names if name not in collection.fields]
    if unknown:
        raise PardotApiError(400, 180, f"Invalid fields: {', '.join(unknown)}.")
    return names


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise PardotApiError(400, 5, f"limit must be an integer from 1 to {MAX_LIMIT}.")
    return limit


def _project(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: record.get(name) for name in fields}
