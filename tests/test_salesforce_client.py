"""SalesforceClient against a small stub of the Salesforce REST API served on loopback."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from core.i18n import load_catalog
from core.salesforce import errors
from core.salesforce.client import SalesforceClient
from core.salesforce.errors import (
    ApiDisabledError,
    AuthenticationError,
    ReconnectRequired,
    ServerUnavailableError,
    TransportError,
    ValidationError,
)
from core.secrets import Secret
from tests.servers import free_port, serve

VALID_TOKEN = "00D000000000001!valid-access-token"
STALE_TOKEN = "00D000000000001!stale-access-token"
LEAD_ID = "00Q000000000001AAA"
DATA = "/services/data/v66.0"


@dataclass
class StubOrg:
    """What the stub accepts and what it saw."""

    valid_token: str = VALID_TOKEN
    api_used: int = 100
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, token
    bodies: list[Any] = field(default_factory=list)
    composite_response: list[dict[str, Any]] = field(default_factory=list)
    error: tuple[int, Any] | None = None  # forced (status, body) for the next data request


def _stub_app(org: StubOrg) -> Starlette:
    async def data(request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        org.seen.append((request.method, request.url.path, token))
        body = await request.body()
        org.bodies.append(await request.json() if body else None)

        if token != org.valid_token:
            return JSONResponse([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401)

        org.api_used += 1
        headers = {"Sforce-Limit-Info": f"api-usage={org.api_used}/15000"}
        if org.error is not None:
            status, error_body = org.error
            org.error = None
            if isinstance(error_body, str):
                return PlainTextResponse(error_body, status, headers=headers)
            return JSONResponse(error_body, status, headers=headers)
        return _answer(request, org, headers)

    return Starlette(routes=[Route(DATA + "/{rest:path}", data, methods=["GET", "POST", "PATCH", "DELETE"])])


def _answer(request: Request, org: StubOrg, headers: dict[str, str]) -> Response:
    path = request.url.path.removeprefix(request.scope.get("root_path", "")).removeprefix(DATA)
    if path == "/query":
        page = {"totalSize": 3, "done": False, "nextRecordsUrl": f"{DATA}/query/01g000000000001-2",
                "records": [{"Id": "00Q000000000001AAA"}, {"Id": "00Q000000000002AAA"}]}
        return JSONResponse(page, headers=headers)
    if path == "/query/01g000000000001-2":
        return JSONResponse({"totalSize": 3, "done": True, "records": [{"Id": "00Q000000000003AAA"}]}, headers=headers)
    if path == "/sobjects/Lead" and request.method == "POST":
        return JSONResponse({"id": LEAD_ID, "success": True, "errors": []}, 201, headers=headers)
    if path.startswith("/sobjects/Lead/") and request.method in {"PATCH", "DELETE"}:
        return Response(status_code=204, headers=headers)
    if path == "/composite":
        return JSONResponse({"compositeResponse": org.composite_response}, headers=headers)
    if path == "/limits":
        return JSONResponse({"DailyApiRequests": {"Max": 15000, "Remaining": 14000}}, headers=headers)
    return JSONResponse([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}], 404)


@pytest.fixture(scope="module")
def stub_server():
    org = StubOrg()
    with serve(_stub_app(org)) as url:
        yield url, org


@pytest.fixture
def stub_org(stub_server) -> tuple[str, StubOrg]:
    """The stub with a fresh record of requests and the valid token reset."""
    url, org = stub_server
    org.valid_token = VALID_TOKEN
    org.seen.clear()
    org.bodies.clear()
    org.composite_response = []
    org.error = None
    return url, org


@pytest.fixture
def client(stub_org) -> SalesforceClient:
    url, _ = stub_org
    return SalesforceClient(url, Secret(VALID_TOKEN))


def test_request_refreshes_once_on_invalid_session(stub_org):
    url, org = stub_org
    refreshed: list[str] = []

    def refresh() -> Secret:
        refreshed.append("called")
        return Secret(VALID_TOKEN)

    client = SalesforceClient(url, Secret(STALE_TOKEN), refresh=refresh)
    limits = client.limits()

    assert limits["DailyApiRequests"]["Max"] == 15000
    assert refreshed == ["called"]
    assert [token for _, _, token in org.seen] == [STALE_TOKEN, VALID_TOKEN]


def test_request_keeps_refreshed_token_for_later_calls(stub_org):
    url, org = stub_org
    refreshed: list[str] = []

    def refresh() -> Secret:
        refreshed.append("called")
        return Secret(VALID_TOKEN)

    client = SalesforceClient(url, STALE_TOKEN, refresh=refresh)
    client.limits()
    client.limits()

    assert len(refreshed) == 1
    assert [token for _, _, token in org.seen] == [STALE_TOKEN, VALID_TOKEN, VALID_TOKEN]


def test_request_raises_when_refreshed_token_is_rejected(stub_org):
    url, org = stub_org
    refreshed: list[str] = []

    def refresh() -> Secret:
        refreshed.append("called")
        return Secret("still-not-valid")

    client = SalesforceClient(url, Secret(STALE_TOKEN), refresh=refresh)
    with pytest.raises(AuthenticationError) as raised:
        client.limits()

    assert raised.value.error_code == "INVALID_SESSION_ID"
    assert raised.value.path == f"{DATA}/limits"
    assert refreshed == ["called"]
    assert len(org.seen) == 2


def test_request_without_refresh_raises_authentication_error(stub_org):
    url, org = stub_org
    client = SalesforceClient(url, Secret(STALE_TOKEN))

    with pytest.raises(AuthenticationError):
        client.limits()
    assert len(org.seen) == 1


def test_request_passes_reconnect_required_from_refresh(stub_org):
    url, org = stub_org

    def refresh() -> Secret:
        raise ReconnectRequired("refresh token revoked", error_code="invalid_grant")

    client = SalesforceClient(url, Secret(STALE_TOKEN), refresh=refresh)
    with pytest.raises(ReconnectRequired, match="refresh token revoked"):
        client.limits()
    assert len(org.seen) == 1


def test_request_reports_api_usage_and_counts_calls(stub_org):
    url, org = stub_org
    readings: list[tuple[int, int]] = []
    client = SalesforceClient(url, VALID_TOKEN, on_usage=lambda used, limit: readings.append((used, limit)))
    org.api_used = 500

    client.limits()
    client.limits()

    assert readings == [(501, 15000), (502, 15000)]
    assert client.api_calls == 2


def test_api_calls_counted_under_mounted_instance_path():
    org = StubOrg()
    mounted = Starlette(routes=[Mount("/demo-org", app=_stub_app(org))])
    with serve(mounted) as url:
        client = SalesforceClient(f"{url}/demo-org", VALID_TOKEN)

        client.limits()

    assert org.api_used == 101
    assert client.api_calls == 1


def test_request_logs_one_line_without_token_or_query(stub_org, caplog):
    url, org = stub_org
    org.api_used = 41
    client = SalesforceClient(url, VALID_TOKEN)

    with caplog.at_level(logging.DEBUG):
        client.query("SELECT Id FROM Lead WHERE Email = 'guest@example.com'")

    lines = [r.getMessage() for r in caplog.records if r.name == "core.salesforce.client"]
    assert lines[0].startswith(f"Salesforce GET {DATA}/query -> 200 in ")
    assert lines[0].endswith("ms, api usage 42/15000")
    assert len(lines) == 2
    assert VALID_TOKEN not in caplog.text
    assert "guest@example.com" not in caplog.text


def test_query_follows_next_records_url(client, stub_org):
    _, org = stub_org

    records = client.query("SELECT Id FROM Lead")

    assert [r["Id"] for r in records] == ["00Q000000000001AAA", "00Q000000000002AAA", "00Q000000000003AAA"]
    assert [path for _, path, _ in org.seen] == [f"{DATA}/query", f"{DATA}/query/01g000000000001-2"]


def test_create_update_delete(client, stub_org):
    _, org = stub_org

    new_id = client.create("Lead", {"LastName": "Yamada", "Company": "Acme"})
    client.update("Lead", new_id, {"Phone": "03-0000-0000"})
    client.delete("Lead", new_id)

    assert new_id == LEAD_ID
    assert [(method, path) for method, path, _ in org.seen] == [
        ("POST", f"{DATA}/sobjects/Lead"),
        ("PATCH", f"{DATA}/sobjects/Lead/{LEAD_ID}"),
        ("DELETE", f"{DATA}/sobjects/Lead/{LEAD_ID}"),
    ]
    assert org.bodies[0] == {"LastName": "Yamada", "Company": "Acme"}


@pytest.mark.parametrize(("sobject", "record_id"), [("Lead/../User", LEAD_ID), ("Lead", "00Q?x=1"), ("Lead", "short")])
def test_update_rejects_bad_names_before_sending(client, stub_org, sobject, record_id):
    _, org = stub_org

    with pytest.raises(ValueError):
        client.update(sobject, record_id, {"Phone": "1"})
    assert org.seen == []


def test_composite_prefixes_relative_urls_and_returns_results(client, stub_org):
    _, org = stub_org
    org.composite_response = [
        {"body": {"id": LEAD_ID, "success": True, "errors": []}, "httpHeaders": {}, "httpStatusCode": 201,
         "referenceId": "lead"},
        {"body": None, "httpHeaders": {}, "httpStatusCode": 204, "referenceId": "update"},
    ]

    results = client.composite([
        {"method": "POST", "url": "sobjects/Lead", "referenceId": "lead", "body": {"LastName": "Sato"}},
        {"method": "PATCH", "url": f"{DATA}/sobjects/Lead/{LEAD_ID}", "referenceId": "update", "body": {}},
    ])

    sent = org.bodies[0]
    assert sent["allOrNone"] is True
    assert [sub["url"] for sub in sent["compositeRequest"]] == [f"{DATA}/sobjects/Lead", f"{DATA}/sobjects/Lead/{LEAD_ID}"]
    assert results["lead"].ok and results["lead"].status == 201
    assert results["lead"].body["id"] == LEAD_ID
    assert results["update"].ok
    assert client.api_calls == 1


def _failed_composite() -> list[dict[str, Any]]:
    halted = [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back."}]
    missing = [{"errorCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Company]",
                "fields": ["Company"]}]
    return [
        {"body": halted, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "contact"},
        {"body": missing, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "lead"},
    ]


def test_composite_raises_the_error_that_caused_the_rollback(client, stub_org):
    _, org = stub_org
    org.composite_response = _failed_composite()

    with pytest.raises(ValidationError) as raised:
        client.composite([
            {"method": "GET", "url": "query?q=SELECT+Id+FROM+Contact", "referenceId": "contact"},
            {"method": "POST", "url": "sobjects/Lead", "referenceId": "lead", "body": {"LastName": "Sato"}},
        ])

    assert raised.value.error_code == "REQUIRED_FIELD_MISSING"
    assert raised.value.fields == ["Company"]
    assert raised.value.method == "POST"
    assert raised.value.path == f"{DATA}/sobjects/Lead"


def test_composite_without_all_or_none_returns_failures(client, stub_org):
    _, org = stub_org
    org.composite_response = _failed_composite()

    results = client.composite(
        [{"method": "POST", "url": "sobjects/Lead", "referenceId": "lead", "body": {}},
         {"method": "GET", "url": "query?q=x", "referenceId": "contact"}],
        all_or_none=False,
    )

    assert org.bodies[0]["allOrNone"] is False
    assert not results["lead"].ok
    assert results["lead"].body[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_api_disabled_maps_to_edition_next_step(client, stub_org):
    _, org = stub_org
    org.error = (403, [{"message": "The REST API is not enabled for this Organization.",
                        "errorCode": "API_DISABLED_FOR_ORG"}])

    with pytest.raises(ApiDisabledError) as raised:
        client.limits()

    assert raised.value.status == 403
    assert raised.value.next_step_key == "sf_next.API_DISABLED_FOR_ORG"
    assert "Professional Edition" in load_catalog()[raised.value.next_step_key]["en"]


def test_server_error_is_raised_once_without_retry(client, stub_org):
    _, org = stub_org
    org.error = (503, "<html>Service Unavailable</html>")

    with pytest.raises(ServerUnavailableError) as raised:
        client.create("Lead", {"LastName": "Sato"})

    assert raised.value.transient
    assert len(org.seen) == 1


def test_duplicates_detected_is_validation_error(client, stub_org):
    _, org = stub_org
    org.error = (400, [{"message": "Use one of these records?", "errorCode": "DUPLICATES_DETECTED", "fields": []}])

    with pytest.raises(ValidationError) as raised:
        client.create("Lead", {"LastName": "Sato"})

    assert raised.value.next_step_key == "sf_next.DUPLICATES_DETECTED"


def test_unreachable_instance_raises_transport_error():
    client = SalesforceClient(f"http://127.0.0.1:{free_port()}", VALID_TOKEN, timeout=5)

    with pytest.raises(TransportError) as raised:
        client.limits()

    assert raised.value.transient
    assert raised.value.path == f"{DATA}/limits"
    assert client.api_calls == 0


def test_client_repr_hides_token():
    client = SalesforceClient("https://acme.my.salesforce.com", VALID_TOKEN)

    assert VALID_TOKEN not in repr(client)
    assert VALID_TOKEN not in str(vars(client))


def test_record_url():
    client = SalesforceClient("https://acme.my.salesforce.com/", VALID_TOKEN)

    assert client.record_url("Lead", LEAD_ID) == f"https://acme.my.salesforce.com/lightning/r/Lead/{LEAD_ID}/view"


def test_catalog_has_next_step_for_every_error_family():
    catalog = load_catalog()
    families = [
        name for name in dir(errors)
        if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), errors.SalesforceError)
    ]

    assert "ValidationError" in families
    for name in families:
        entry = catalog[f"sf_next.family.{name}"]
        assert entry["en"] and entry["ja"], name


@pytest.mark.parametrize(
    "code",
    [
        "invalid_client_id", "invalid_client", "redirect_uri_mismatch", "invalid_grant", "access_denied",
        "state_invalid", "state_expired", "API_DISABLED_FOR_ORG", "INVALID_SESSION_ID", "REQUEST_LIMIT_EXCEEDED",
        "SERVER_UNAVAILABLE", "REQUIRED_FIELD_MISSING", "STRING_TOO_LONG", "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "DUPLICATES_DETECTED", "FIELD_INTEGRITY_EXCEPTION", "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "CANNOT_UPDATE_CONVERTED_LEAD", "ENTITY_IS_DELETED",
        "INVALID_FIELD",
    ],
)
def test_catalog_has_next_step_for_code(code):
    entry = load_catalog()[f"sf_next.{code}"]

    assert entry["en"].strip()
    assert entry["ja"].strip()
    assert entry["en"] != entry["ja"]
