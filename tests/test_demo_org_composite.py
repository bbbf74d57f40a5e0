"""Composite requests and sObject Collections on the demo org."""

from __future__ import annotations

import pytest

from tests.demo_org_fixtures import DemoOrgHandle, RestSession, demo_org, demo_org_server  # noqa: F401

PREFIX = "/services/data/v66.0"
HANAKO = "0058d0000000002AAA"


@pytest.fixture
def api(demo_org: DemoOrgHandle) -> RestSession:
    return demo_org.rest_session()


def usage(response) -> int:
    return int(response.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])


def test_composite_resolves_references(demo_org: DemoOrgHandle, api: RestSession) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": "GET", "url": f"{PREFIX}/query?q=SELECT+Id+FROM+Contact+WHERE+Email+%3D+%27john.doe%40example.com%27",
             "referenceId": "contact"},
            {"method": "POST", "url": f"{PREFIX}/sobjects/Lead", "referenceId": "lead",
             "body": {"LastName": "Ref", "Company": "Ref KK", "Email": "ref@example.co.jp"}},
            {"method": "POST", "url": f"{PREFIX}/sobjects/Event", "referenceId": "event",
             "body": {"Subject": "Booked", "StartDateTime": "2026-05-01T01:00:00Z", "DurationInMinutes": 30,
                      "WhoId": "@{contact.records[0].Id}"}},
            {"method": "GET", "url": f"{PREFIX}/sobjects/Lead/@{{lead.id}}?fields=OwnerId", "referenceId": "readLead"},
        ],
    }

    response = api.post("composite", json=body)

    assert response.status_code == 200
    items = {item["referenceId"]: item for item in response.json()["compositeResponse"]}
    statuses = [items[name]["httpStatusCode"] for name in ("contact", "lead", "event", "readLead")]
    assert statuses == [200, 201, 201, 200]
    assert items["lead"]["httpHeaders"]["Location"] == f"{PREFIX}/sobjects/Lead/{items['lead']['body']['id']}"
    assert items["readLead"]["body"]["OwnerId"] == HANAKO
    event = next(record for record in demo_org.records("Event") if record["Id"] == items["event"]["body"]["id"])
    assert event["WhoId"] == "0038d0000000001AAA"


def test_composite_counts_as_one_api_call(api: RestSession) -> None:
    before = usage(api.get("limits"))
    subrequests = [
        {"method": "GET", "url": f"{PREFIX}/sobjects/User/0058d000000000{n}AAA", "referenceId": f"user{n}"} for n in range(1, 5)
    ]

    response = api.post("composite", json={"compositeRequest": subrequests})

    assert usage(response) == before + 1


def test_all_or_none_rolls_back_and_halts_others(demo_org: DemoOrgHandle, api: RestSession) -> None:
    leads_before = len(demo_org.records("Lead"))
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": f"{PREFIX}/sobjects/Lead", "referenceId": "good", "body": {"LastName": "A", "Company": "B"}},
            {"method": "POST", "url": f"{PREFIX}/sobjects/Lead", "referenceId": "bad", "body": {"LastName": "A"}},
            {"method": "POST", "url": f"{PREFIX}/sobjects/Lead", "referenceId": "later", "body": {"LastName": "C", "Company": "D"}},
        ],
    }

    items = api.post("composite", json=body).json()["compositeResponse"]

    assert [item["httpStatusCode"] for item in items] == [400, 400, 400]
    assert items[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert items[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert items[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert len(demo_org.records("Lead")) == leads_before


def test_without_all_or_none_successes_stay(demo_org: DemoOrgHandle, api: RestSession) -> None:
    leads_before = len(demo_org.records("Lead"))
    body = {
        "allOrNone": False,
        "compositeRequest": [
            {"method": "POST", "url": f"{PREFIX}/sobjects/Lead", "referenceId": "good", "body": {"LastName": "A", "Company": "B"}},
            {"method": "POST", "url": f"{PREFIX}/sobjects/Lead", "referenceId": "bad", "body": {"LastName": "A"}},
        ],
    }

    items = api.post("composite", json=body).json()["compositeResponse"]

    assert [item["httpStatusCode"] for item in items] == [201, 400]
    assert len(demo_org.records("Lead")) == leads_before + 1


def test_bad_reference(api: RestSession) -> None:
    body = {
        "compositeRequest": [
            {"method": "GET", "url": f"{PREFIX}/query?q=SELECT+Id+FROM+Contact+WHERE+Email+%3D+%27nobody%40example.com%27",
             "referenceId": "contact"},
            {"method": "POST", "url": f"{PREFIX}/sobjects/Event", "referenceId": "event",
             "body": {"StartDateTime": "2026-05-01T01:00:00Z", "DurationInMinutes": 30, "WhoId": "@{contact.records[0].Id}"}},
        ],
    }

    items = api.post("composite", json=body).json()["compositeResponse"]

    assert items[1]["httpStatusCode"] == 400
    assert items[1]["body"][0]["message"].startswith("Invalid reference specified.")


def test_subrequest_auto_assign_header(api: RestSession) -> None:
    body = {
        "compositeRequest": [
            {"method": "POST", "url": f"{PREFIX}/sobjects/Lead", "referenceId": "lead",
             "httpHeaders": {"Sforce-Auto-Assign": "FALSE"}, "body": {"LastName": "A", "Company": "B", "Email": "x@y.jp"}},
            {"method": "GET", "url": f"{PREFIX}/sobjects/Lead/@{{lead.id}}", "referenceId": "read"},
        ],
    }

    items = api.post("composite", json=body).json()["compositeResponse"]

    assert items[1]["body"]["OwnerId"] == "0058d0000000001AAA"


def test_more_than_25_subrequests_rejected(api: RestSession) -> None:
    subrequests = [{"method": "GET", "url": f"{PREFIX}/limits", "referenceId": f"r{n}"} for n in range(26)]

    response = api.post("composite", json={"compositeRequest": subrequests})

    assert response.status_code == 400


def test_collection_create_reports_per_record(demo_org: DemoOrgHandle, api: RestSession) -> None:
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Lead"}, "LastName": "One", "Company": "C"},
            {"attributes": {"type": "Lead"}, "LastName": "Two"},
        ],
    }

    results = api.post("composite/sobjects", json=body).json()

    assert results[0]["success"] is True
    assert results[0]["id"].startswith("00Q")
    assert results[1] == {
        "success": False,
        "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Company]",
                    "fields": ["Company"]}],
    }


def test_collection_all_or_none_rolls_back(demo_org: DemoOrgHandle, api: RestSession) -> None:
    leads_before = len(demo_org.records("Lead"))
    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Lead"}, "LastName": "One", "Company": "C"},
            {"attributes": {"type": "Lead"}, "LastName": "Two"},
        ],
    }

    results = api.post("composite/sobjects", json=body).json()

    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert len(demo_org.records("Lead")) == leads_before


def test_collection_update_and_delete(demo_org: DemoOrgHandle, api: RestSession) -> None:
    updated = api.patch("composite/sobjects", json={"records": [
        {"attributes": {"type": "Lead"}, "Id": "00Q8d0000000001EAA", "Phone": "123"},
        {"attributes": {"type": "Lead"}, "Id": "00Q8d0000000004EAA", "Phone": "123"},
    ]}).json()
    deleted = api.delete("composite/sobjects", params={"ids": "00Q8d0000000005EAA,00Q8d00000000zzEAA"}).json()

    assert updated[0] == {"id": "00Q8d0000000001EAA", "success": True, "errors": []}
    assert updated[1]["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert deleted[0]["success"] is True
    assert deleted[1]["success"] is False
    assert "00Q8d0000000005EAA" not in {record["Id"] for record in demo_org.records("Lead")}


def test_collection_over_200_records_rejected(api: RestSession) -> None:
    records = [{"attributes": {"type": "Lead"}, "LastName": f"L{n}", "Company": "C"} for n in range(201)]

    response = api.post("composite/sobjects", json={"records": records})

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
