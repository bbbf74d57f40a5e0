"""Fault switches, API usage, admin access and mounting the demo org under a prefix."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from starlette.applications import Starlette
from starlette.routing import Mount

from core.demo_org import DEMO_ORG_ID, create_demo_org_app
from core.demo_org.faults import is_loopback
from tests.demo_org_fixtures import TEST_CALLBACK_URL, DemoOrgHandle, RestSession, demo_org, demo_org_server  # noqa: F401
from tests.servers import serve

LEAD = {"LastName": "Fault", "Company": "C"}


@pytest.fixture
def api(demo_org: DemoOrgHandle) -> RestSession:
    return demo_org.rest_session()


def test_every_data_call_reports_usage(api: RestSession) -> None:
    first = api.get("limits")
    second = api.get("sobjects/Lead/describe")

    used = int(first.headers["Sforce-Limit-Info"].removeprefix("api-usage=").split("/")[0])
    assert first.headers["Sforce-Limit-Info"] == f"api-usage={used}/15000"
    assert second.headers["Sforce-Limit-Info"] == f"api-usage={used + 1}/15000"
    assert first.json()["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - used}


def test_versions_need_no_auth(demo_org: DemoOrgHandle) -> None:
    response = requests.get(f"{demo_org.url}/services/data/", timeout=10)

    assert response.status_code == 200
    assert {"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"} in response.json()
    assert "Sforce-Limit-Info" not in response.headers


def test_resources_need_auth(demo_org: DemoOrgHandle, api: RestSession) -> None:
    anonymous = requests.get(f"{demo_org.url}/services/data/v66.0/", timeout=10)
    resources = api.get("")

    assert anonymous.status_code == 401
    assert resources.json()["query"] == "/services/data/v66.0/query"


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
def test_missing_or_invalid_token(demo_org: DemoOrgHandle, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = requests.get(f"{demo_org.url}/services/data/v66.0/limits", headers=headers, timeout=10)

    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("INVALID_SESSION_ID", 401, "Session expired or invalid"),
        ("REQUEST_LIMIT_EXCEEDED", 403, "TotalRequests Limit exceeded."),
        ("API_DISABLED_FOR_ORG", 403, "The REST API is not enabled for this Organization."),
        ("SERVER_UNAVAILABLE", 503, None),
    ],
)
def test_forced_request_errors(demo_org: DemoOrgHandle, api: RestSession, code: str, status: int, message: str | None) -> None:
    demo_org.set_faults(error_code=code, count=1)

    failed = api.get("limits")
    recovered = api.get("limits")

    assert failed.status_code == status
    assert failed.json()[0]["errorCode"] == code
    if message:
        assert failed.json()[0]["message"] == message
    assert recovered.status_code == 200


def test_forced_duplicates_hit_the_next_create(demo_org: DemoOrgHandle, api: RestSession) -> None:
    demo_org.set_faults(error_code="DUPLICATES_DETECTED", count=1)

    query = api.query("SELECT Id FROM Lead LIMIT 1")
    duplicate = api.post("sobjects/Lead", json=LEAD)
    created = api.post("sobjects/Lead", json=LEAD)

    assert query.status_code == 200
    assert duplicate.status_code == 400
    error = duplicate.json()[0]
    assert error["errorCode"] == "DUPLICATES_DETECTED"
    assert error["duplicateResult"]["duplicateRuleEntityType"] == "Lead"
    assert created.status_code == 201


def test_forced_record_error_inside_composite(demo_org: DemoOrgHandle, api: RestSession) -> None:
    demo_org.set_faults(error_code="DUPLICATES_DETECTED", count=1)
    body = {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v66.0/sobjects/Lead", "referenceId": "lead", "body": LEAD},
    ]}

    items = api.post("composite", json=body).json()["compositeResponse"]

    assert items[0]["httpStatusCode"] == 400
    assert items[0]["body"][0]["errorCode"] == "DUPLICATES_DETECTED"


def test_other_codes_use_status_400(demo_org: DemoOrgHandle, api: RestSession) -> None:
    demo_org.set_faults(error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION", count=1)

    response = api.post("sobjects/Lead", json=LEAD)

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"


def test_error_rate_is_deterministic_for_a_seed(demo_org: DemoOrgHandle, api: RestSession) -> None:
    def run() -> list[int]:
        demo_org.set_faults(error_rate=0.5, seed=7)
        return [api.get("limits").status_code for _ in range(12)]

    first, second = run(), run()

    assert first == second
    assert set(first) == {200, 503}


def test_expire_tokens_forces_refresh(demo_org: DemoOrgHandle, api: RestSession) -> None:
    result = demo_org.set_faults(expire_tokens=True)

    assert result["expired_tokens"] >= 1
    assert api.get("limits").status_code == 401


def test_invalid_fault_setting_is_rejected(demo_org: DemoOrgHandle) -> None:
    response = requests.post(f"{demo_org.url}/_admin/faults", json={"error_rate": 2}, timeout=10)

    assert response.status_code == 400
    assert "error_rate" in response.json()["error"]


def test_reset_restores_seed_data(demo_org: DemoOrgHandle, api: RestSession) -> None:
    api.delete("sobjects/Lead/00Q8d0000000001EAA")

    demo_org.reset()

    assert "00Q8d0000000001EAA" in {record["Id"] for record in demo_org.records("Lead")}


@pytest.mark.parametrize(
    ("host", "allowed"),
    [("127.0.0.1", True), ("127.8.0.2", True), ("::1", True), ("::ffff:127.0.0.1", True), ("::ffff:10.0.0.5", False),
     ("10.0.0.5", False), ("192.168.1.1", False),
     ("testclient", False), (None, False)],
)
def test_is_loopback(host: str | None, allowed: bool) -> None:
    assert is_loopback(host) is allowed


def test_seed_users_and_queue(demo_org: DemoOrgHandle) -> None:
    users = {user["Name"]: user for user in demo_org.records("User")}
    queues = demo_org.records("Group")

    assert users["Hanako Sato"]["Email"] == "hanako.sato@demo-org.example"
    assert users["Old Timer"]["IsActive"] is False
    assert queues[0]["Name"] == "Inbound Leads"
    assert queues[0]["Type"] == "Queue"


def test_mounted_under_prefix_builds_urls_with_it(tmp_path: Path) -> None:
    org_app = create_demo_org_app(tmp_path / "org.db", callback_urls=[TEST_CALLBACK_URL])
    console = Starlette(routes=[Mount("/demo-org", app=org_app)])

    with serve(console) as root:
        org = DemoOrgHandle(f"{root}/demo-org", tmp_path / "org.db")
        tokens = org.issue_tokens()
        page = requests.get(f"{root}/demo-org/lightning/r/Contact/0038d0000000001AAA/view", timeout=10)
        query = RestSession(tokens).query("SELECT Id FROM Lead LIMIT 1")

    assert tokens["instance_url"] == f"{root}/demo-org"
    assert tokens["id"] == f"{root}/demo-org/id/{DEMO_ORG_ID}/0058d0000000001AAA"
    assert 'href="/demo-org/lightning/r/Account/0018d0000000001AAA/view"' in page.text
    assert query.status_code == 200
    assert query.json()["records"][0]["attributes"]["url"].startswith("/services/data/v66.0/sobjects/Lead/")


def test_data_survives_restart(tmp_path: Path) -> None:
    database = tmp_path / "org.db"
    with serve(create_demo_org_app(database, callback_urls=[TEST_CALLBACK_URL])) as url:
        session = DemoOrgHandle(url, database).rest_session()
        created = session.post("sobjects/Lead", json=LEAD).json()["id"]

    with serve(create_demo_org_app(database, callback_urls=[TEST_CALLBACK_URL])) as url:
        leads = DemoOrgHandle(url, database).records("Lead")

    assert created in {lead["Id"] for lead in leads}


def test_admin_rejects_non_loopback_client(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    # TestClient reports the client host "testclient", which is not a loopback address.
    client = TestClient(create_demo_org_app(tmp_path / "org.db"))

    assert client.get("/_admin/records/Lead").status_code == 403
    assert client.post("/_admin/reset").status_code == 403
    assert client.post("/_admin/faults", json={"latency_ms": 1}).status_code == 403


def test_seed_ids_are_valid_18_character_ids() -> None:
    from core.demo_org import seed
    from core.demo_org.ids import normalize_id

    ids = [value for name, value in vars(seed).items() if name.endswith("_ID") and isinstance(value, str)]

    assert len(ids) >= 20
    assert all(normalize_id(value) == value for value in [*ids, DEMO_ORG_ID])
