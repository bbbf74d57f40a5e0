"""Composite requests (``/composite``) and sObject Collections (``/composite/sobjects``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from core.demo_org import dml
from core.demo_org.api import (
    AUTO_ASSIGN_HEADER, ApiRequest, ApiResponse, RestContext, create_with_faults, error_response, update_with_faults,
)
from core.demo_org.errors import ApiError
from core.demo_org.ids import normalize_id

# Salesforce limits: 25 subrequests per composite request, 200 records per collection request.
MAX_SUBREQUESTS = 25
MAX_COLLECTION_RECORDS = 200

Dispatch = Callable[[RestContext, ApiRequest], ApiResponse]

_REFERENCE = re.compile(r"@\{([^}]*)\}")
_REFERENCE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SERVICES_PATH = re.compile(r"^/services/data/v(?P<version>\d+\.\d)/(?P<path>.*)$")

_HALTED_MESSAGE = "The transaction was rolled back since another operation in the same transaction failed."
_ROLLED_BACK_MESSAGE = (
    "Record rolled back because not all records were valid and the request was using AllOrNone header"
)


# Marks a reference path step that found no value (None is a real JSON value).
_MISSING = object()


class _RollBack(Exception):
    """Raised inside the composite transaction to undo every sub-request."""


def run_composite(ctx: RestContext, request: ApiRequest, dispatch: Dispatch) -> ApiResponse:
    """Run up to 25 sub-requests in order, resolving ``@{ref...}`` references; always HTTP 200 when well-formed.

    Raises ApiError (400) when the body is not a composite request.
    """
    subrequests, all_or_none = _read_composite_body(request.body)

    results: list[dict[str, Any]] = []
    outputs: dict[str, Any] = {}
    failed_at: int | None = None
    try:
        with ctx.state.store.transaction():
            for index, subrequest in enumerate(subrequests):
                reference_id = subrequest["referenceId"]
                response = _run_subrequest(ctx, request, subrequest, outputs, dispatch)
                results.append(_composite_item(reference_id, response))
                if response.ok:
                    outputs[reference_id] = response.body
                elif all_or_none:
                    failed_at = index
                    raise _RollBack
    except _RollBack:
        halted = {"errorCode": "PROCESSING_HALTED", "message": _HALTED_MESSAGE}
        results = [
            results[index] if index == failed_at else _composite_item(item["referenceId"], ApiResponse(400, [halted]))
            for index, item in enumerate(subrequests)
        ]
    return ApiResponse(200, {"compositeResponse": results})


def _read_composite_body(body: Any) -> tuple[list[dict[str, Any]], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The composite request body needs a compositeRequest array.")
    subrequests = body["compositeRequest"]
    if not 1 <= len(subrequests) <= MAX_SUBREQUESTS:
        raise ApiError(
            400, "INVALID_INPUT", f"A composite request needs 1 to {MAX_SUBREQUESTS} subrequests; it has {len(subrequests)}."
        )

    seen: set[str] = set()
    for subrequest in subrequests:
        if not isinstance(subrequest, dict) or not {"method", "url", "referenceId"} <= set(subrequest):
            raise ApiError(400, "JSON_PARSER_ERROR", "Every subrequest needs method, url and referenceId.")
        reference_id = subrequest["referenceId"]
        if not isinstance(reference_id, str) or not _REFERENCE_ID.match(reference_id) or reference_id in seen:
            raise ApiError(
                400, "INVALID_INPUT",
                f"referenceId {reference_id!r} is invalid: use a unique name of letters, digits and _ starting with a letter.",
            )
        seen.add(reference_id)
    return subrequests, bool(body.get("allOrNone", False))


def _composite_item(reference_id: str, response: ApiResponse) -> dict[str, Any]:
    return {
        "body": response.body,
        "httpHeaders": response.headers,
        "httpStatusCode": response.status,
        "referenceId": reference_id,
    }


def _run_subrequest(
    ctx: RestContext, outer: ApiRequest, subrequest: dict[str, Any], outputs: dict[str, Any], dispatch: Dispatch
) -> ApiResponse:
    try:
        url = _resolve_references(subrequest["url"], outputs, in_url=True)
        body = _resolve_references(subrequest.get("body"), outputs, in_url=False)
    except ApiError as error:
        return error_response(error)

    parts = urlsplit(url)
    match = _SERVICES_PATH.match(parts.path)
    if match is None:
        return error_response(ApiError(400, "INVALID_INPUT", f"Subrequest url {url!r} must start with /services/data/vXX.X/"))

    headers = {key.lower(): value for key, value in outer.headers.items()}
    headers.update({str(key).lower(): str(value) for key, value in (subrequest.get("httpHeaders") or {}).items()})
    sub = ApiRequest(
        method=str(subrequest["method"]).upper(),
        path=match["path"],
        version=match["version"],
        params=dict(parse_qsl(parts.query)),
        body=body,
        headers=headers,
    )
    if sub.path.startswith("composite"):
        return error_response(ApiError(400, "INVALID_INPUT", "A composite subrequest cannot be another composite request."))
    return dispatch(ctx, sub)


def _resolve_references(value: Any, outputs: dict[str, Any], *, in_url: bool) -> Any:
    """Replace ``@{ref.path}`` in strings, recursively. Raises ApiError (PROCESSING_HALTED) for a missing value."""
    if isinstance(value, dict):
        return {key: _resolve_references(item, outputs, in_url=in_url) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_references(item, outputs, in_url=in_url) for item in value]
    if not isinstance(value, str):
        return value

    whole = _REFERENCE.fullmatch(value)
    if whole and not in_url:
        return _lookup_reference(whole[1], outputs)
    return _REFERENCE.sub(lambda match: str(_lookup_reference(match[1], outputs)), value)


def _lookup_reference(expression: str, outputs: dict[str, Any]) -> Any:
    """Return the value at ``ref.path`` in an earlier sub-request's body, e.g. ``q.records[0].Id``."""
    reference_id, _, path = expression.partition(".")
    current: Any = outputs.get(reference_id, _MISSING)
    for step in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if current is _MISSING:
            break
        if step.startswith("["):
            position = int(step[1:-1])
            current = current[position] if isinstance(current, list) and position < len(current) else _MISSING
        else:
            current = current.get(step, _MISSING) if isinstance(current, dict) else _MISSING
    if current is _MISSING or current is None or not path:
        raise ApiError(
            400, "PROCESSING_HALTED", f"Invalid reference specified. No value for {expression} found in {reference_id}."
        )
    return current


# sObject Collections


def create_collection(ctx: RestContext, request: ApiRequest) -> ApiResponse:
    """Create up to 200 records (POST /composite/sobjects); one result per record, in order."""
    records, all_or_none = _read_collection_body(request.body, need_ids=False)

    def create(record: dict[str, Any]) -> str:
        sobject = _record_type(record)
        fields = {key: value for key, value in record.items() if key != "attributes"}
        return create_with_faults(ctx, sobject, fields, request.header(AUTO_ASSIGN_HEADER))

    return _run_collection(ctx, records, all_or_none, create)


def update_collection(ctx: RestContext, request: ApiRequest) -> ApiResponse:
    """Update up to 200 records (PATCH /composite/sobjects); each record carries its Id."""
    records, all_or_none = _read_collection_body(request.body, need_ids=True)

    def update(record: dict[str, Any]) -> str:
        sobject = _record_type(record)
        fields = {key: value for key, value in record.items() if key not in ("attributes", "Id")}
        update_with_faults(ctx, sobject, record["Id"], fields)
        return normalize_id(record["Id"]) or record["Id"]

    return _run_collection(ctx, records, all_or_none, update)


def delete_collection(ctx: RestContext, request: ApiRequest) -> ApiResponse:
    """Delete up to 200 records (DELETE /composite/sobjects?ids=...&allOrNone=...)."""
    ids = [item for item in request.params.get("ids", "").split(",") if item]
    if not ids:
        raise ApiError(400, "INVALID_INPUT", "Give the record ids to delete in the ids parameter, separated by commas.")
    if len(ids) > MAX_COLLECTION_RECORDS:
        raise _too_many(len(ids))
    all_or_none = request.params.get("allOrNone", "false").lower() == "true"

    def delete(record_id: str) -> str:
        stored = ctx.state.store.get_record(normalize_id(record_id) or "")
        if stored is None:
            raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {record_id}", fields=[])
        dml.delete_record(ctx.dml, stored.sobject, record_id)
        return stored.id

    return _run_collection(ctx, ids, all_or_none, delete)


def read_collection(ctx: RestContext, request: ApiRequest, sobject: str) -> ApiResponse:
    """Read records by id (GET /composite/sobjects/{type}?ids=...&fields=...); null for ids not found."""
    ids = [item for item in request.params.get("ids", "").split(",") if item]
    field_names = [item for item in request.params.get("fields", "").split(",") if item]
    if not ids or not field_names:
        raise ApiError(400, "INVALID_INPUT", "Give both the ids and the fields parameters, separated by commas.")
    if len(ids) > MAX_COLLECTION_RECORDS:
        raise _too_many(len(ids))

    records = []
    for record_id in ids:
        try:
            records.append(dml.read_record(ctx.dml, sobject, record_id, field_names))
        except ApiError as error:
            if error.status != 404:
                raise
            records.append(None)
    return ApiResponse(200, records)


def _read_collection_body(body: Any, *, need_ids: bool) -> tuple[list[dict[str, Any]], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list) or not body["records"]:
        raise ApiError(400, "JSON_PARSER_ERROR", "The collection request body needs a non-empty records array.")
    records = body["records"]
    if len(records) > MAX_COLLECTION_RECORDS:
        raise _too_many(len(records))
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("attributes"), dict) or "type" not in record["attributes"]:
            raise ApiError(400, "INVALID_INPUT", "Every record needs attributes with its type, e.g. {\"type\": \"Lead\"}.")
        if need_ids and not record.get("Id"):
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", fields=["Id"])
    return records, bool(body.get("allOrNone", False))


def _too_many(count: int) -> ApiError:
    return ApiError(
        400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {MAX_COLLECTION_RECORDS} records into this call ({count} given)"
    )


def _record_type(record: dict[str, Any]) -> str:
    return str(record["attributes"]["type"])


def _run_collection(ctx: RestContext, items: list[Any], all_or_none: bool, operation: Callable[[Any], str]) -> ApiResponse:
    """Apply `operation` to every item, each in its own savepoint; with allOrNone, any failure undoes all."""
    results: list[dict[str, Any]] = []
    try:
        with ctx.state.store.transaction():
            for item in items:
                try:
                    with ctx.state.store.transaction():
                        record_id = operation(item)
                    results.append({"id": record_id, "success": True, "errors": []})
                except ApiError as error:
                    results.append({"success": False, "errors": [error.collection_entry()]})
            if all_or_none and not all(result["success"] for result in results):
                raise _RollBack
    except _RollBack:
        rolled_back = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": _ROLLED_BACK_MESSAGE, "fields": []}
        results = [
            {"success": False, "errors": [rolled_back]} if result["success"] else result for result in results
        ]
    return ApiResponse(200, results)
