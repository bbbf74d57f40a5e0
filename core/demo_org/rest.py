"""REST resources under ``/services/data/vXX.X/``, dispatched the same way for HTTP and composite calls."""

from __future__ import annotations

import re
from collections.abc import Callable

from core.demo_org import composite, dml
from core.demo_org.api import (
    AUTO_ASSIGN_HEADER, ApiRequest, ApiResponse, RestContext, create_with_faults, error_response, update_with_faults,
)
from core.demo_org.constants import API_VERSIONS, DAILY_API_MAX
from core.demo_org.errors import ApiError, not_found
from core.demo_org.query import attributes, page_of, run_query
from core.demo_org.schema import OBJECTS

Handler = Callable[..., ApiResponse]


def dispatch(ctx: RestContext, request: ApiRequest) -> ApiResponse:
    """Route one REST request to its resource; every failure becomes a Salesforce error response."""
    for pattern, handlers in _ROUTES:
        match = pattern.match(request.path)
        if match is None:
            continue
        handler = handlers.get(request.method)
        if handler is None:
            allowed = ",".join(handlers)
            return error_response(
                ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}")
            )
        try:
            return handler(ctx, request, **match.groupdict())
        except ApiError as error:
            return error_response(error)
    return error_response(not_found())


def versions_body() -> list[dict[str, str]]:
    """Return the body of GET /services/data/: one entry per API version."""
    return [{"label": label, "url": f"/services/data/v{version}", "version": version} for version, label in API_VERSIONS]


def _resources(ctx: RestContext, request: ApiRequest) -> ApiResponse:
    prefix = f"/services/data/v{request.version}"
    names = ("sobjects", "query", "composite", "limits")
    return ApiResponse(200, {name: f"{prefix}/{name}" for name in names})


def _limits(ctx: RestContext, request: ApiRequest) -> ApiResponse:
    used = ctx.state.store.api_usage()
    return ApiResponse(
        200,
        {
            "DailyApiRequests": {"Max": DAILY_API_MAX, "Remaining": max(DAILY_API_MAX - used, 0)},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "SingleEmail": {"Max": 15, "Remaining": 15},
        },
    )


def _query(ctx: RestContext, request: ApiRequest) -> ApiResponse:
    text = request.params.get("q")
    if not text:
        raise ApiError(400, "MALFORMED_QUERY", "The q parameter with a SOQL statement is missing.")
    state = ctx.state
    result = run_query(
        state.store, text, version=request.version, cursors=state.cursors, batch_size=state.faults.settings.query_batch_size
    )
    return ApiResponse(200, result)


def _query_more(ctx: RestContext, request: ApiRequest, locator: str, offset: str) -> ApiResponse:
    remaining = ctx.state.cursors.take(locator)
    if remaining is None:
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    records, total, batch_size = remaining
    result = page_of(
        records, total=total, offset=int(offset), version=request.version, cursors=ctx.state.cursors, batch_size=batch_size
    )
    return ApiResponse(200, result)


def _describe_global(ctx: RestContext, request: ApiRequest) -> ApiResponse:
    sobjects = [
        {"name": spec.name, "label": spec.label, "keyPrefix": spec.key_prefix, "createable": spec.createable,
         "queryable": True, "urls": _object_urls(spec.name, request.version)}
        for spec in OBJECTS.values()
    ]
    return ApiResponse(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})


def _object_urls(sobject: str, version: str) -> dict[str, str]:
    prefix = f"/services/data/v{version}/sobjects/{sobject}"
    return {"sobject": prefix, "describe": f"{prefix}/describe", "rowTemplate": f"{prefix}/{{ID}}"}


def _sobject_info(ctx: RestContext, request: ApiRequest, sobject: str) -> ApiResponse:
    spec = dml.require_object(sobject)
    recent = ctx.state.store.list_records(spec.name)[-5:]
    return ApiResponse(
        200,
        {
            "objectDescribe": {"name": spec.name, "label": spec.label, "keyPrefix": spec.key_prefix,
                               "urls": _object_urls(spec.name, request.version)},
            "recentItems": [{"attributes": attributes(spec.name, record["Id"], request.version), "Id": record["Id"]}
                            for record in recent],
        },
    )


def _describe(ctx: RestContext, request: ApiRequest, sobject: str) -> ApiResponse:
    spec = dml.require_object(sobject)
    return ApiResponse(200, {**spec.describe(), "urls": _object_urls(spec.name, request.version)})


def _create(ctx: RestContext, request: ApiRequest, sobject: str) -> ApiResponse:
    spec = dml.require_object(sobject)
    record_id = create_with_faults(ctx, spec.name, request.body, request.header(AUTO_ASSIGN_HEADER))
    location = f"/services/data/v{request.version}/sobjects/{spec.name}/{record_id}"
    return ApiResponse(201, {"id": record_id, "success": True, "errors": []}, {"Location": location})


def _read(ctx: RestContext, request: ApiRequest, sobject: str, record_id: str) -> ApiResponse:
    field_names = [name for name in request.params.get("fields", "").split(",") if name.strip()]
    return ApiResponse(200, dml.read_record(ctx.dml, sobject, record_id, [name.strip() for name in field_names]))


def _update(ctx: RestContext, request: ApiRequest, sobject: str, record_id: str) -> ApiResponse:
    dml.require_object(sobject)
    update_with_faults(ctx, sobject, record_id, request.body)
    return ApiResponse(204)


def _delete(ctx: RestContext, request: ApiRequest, sobject: str, record_id: str) -> ApiResponse:
    dml.delete_record(ctx.dml, sobject, record_id)
    return ApiResponse(204)


def _composite(ctx: RestContext, request: ApiRequest) -> ApiResponse:
    return composite.run_composite(ctx, request, dispatch)


def _read_collection(ctx: RestContext, request: ApiRequest, sobject: str) -> ApiResponse:
    return composite.read_collection(ctx, request, sobject)


_ROUTES: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
    (re.compile(r"^$"), {"GET": _resources}),
    (re.compile(r"^limits/?$"), {"GET": _limits}),
    (re.compile(r"^query/?$"), {"GET": _query}),
    (re.compile(r"^query/(?P<locator>01g[0-9a-f]+)-(?P<offset>\d+)$"), {"GET": _query_more}),
    (re.compile(r"^sobjects/?$"), {"GET": _describe_global}),
    (re.compile(r"^sobjects/(?P<sobject>\w+)/?$"), {"GET": _sobject_info, "POST": _create}),
    (re.compile(r"^sobjects/(?P<sobject>\w+)/describe/?$"), {"GET": _describe}),
    (re.compile(r"^sobjects/(?P<sobject>\w+)/(?P<record_id>\w+)/?$"), {"GET": _read, "PATCH": _update, "DELETE": _delete}),
    (re.compile(r"^composite/?$"), {"POST": _composite}),
    (
        re.compile(r"^composite/sobjects/?$"),
        {"POST": composite.create_collection, "PATCH": composite.update_collection, "DELETE": composite.delete_collection},
    ),
    (re.compile(r"^composite/sobjects/(?P<sobject>\w+)/?$"), {"GET": _read_collection}),
]
