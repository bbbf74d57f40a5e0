"""Record create, read, update and delete on the demo org, with Salesforce's validation errors."""

from __future__ import annotations

import pytest
import requests

from tests.demo_org_fixtures import DemoOrgHandle, RestSession, demo_org, demo_org_server  # noqa: F401

JOHN_DOE = "0038d0000000001AAA"
ACME = "0018d0000000001AAA"
JANE_ROE_LEAD = "00Q8d0000000001EAA"
CONVERTED_LEAD = "00Q8d0000000004EAA"
ADMIN = "0058d0000000001AAA"
HANAKO = "0058d0000000002AAA"
OLD_TIMER = "0058d0000000004AAA"
INBOUND_QUEUE = "00G8d0000000001EAA"

EVENT = {"Subject": "Demo", "StartDateTime": "2026-04-01T10:00:00+09:00", "EndDateTime": "2026-04-01T10:30:00+09:00"}


@pytest.fixture
def api(demo_org: DemoOrgHandle) -> RestSession:
    return demo_org.rest_session()


def error_of(response: requests.Response) -> dict:
    assert response.status_code == 400, response.text
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    return body[0]


def test_create_lead_returns_id_and_stores_system_fields(demo_org: DemoOrgHandle, api: RestSession) -> None:
    response = api.post("sobjects/Lead", json={"FirstName": "Taro", "LastName": "Yamada", "Company": "Yamada KK"},
                        headers={"Sforce-Auto-Assign": "FALSE"})

    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    assert body["errors"] == []
    assert len(body["id"]) == 18
    assert body["id"].startswith("00Q")
    stored = next(record for record in demo_org.records("Lead") if record["Id"] == body["id"])
    assert stored["Name"] == "Taro Yamada"
    assert stored["OwnerId"] == ADMIN
    assert stored["CreatedById"] == ADMIN
    assert stored["Status"] == "Open - Not Contacted"
    assert stored["CreatedDate"].endswith("+0000")
    assert len(stored["CreatedDate"]) == 28


def test_read_record_with_fields(api: RestSession) -> None:
    response = api.get(f"sobjects/Contact/{JOHN_DOE}", params={"fields": "Email,AccountId"})

    assert response.json() == {
        "attributes": {"type": "Contact", "url": f"/services/data/v66.0/sobjects/Contact/{JOHN_DOE}"},
        "Email": "john.doe@example.com",
        "AccountId": ACME,
    }


def test_update_then_delete(demo_org: DemoOrgHandle, api: RestSession) -> None:
    updated = api.patch(f"sobjects/Lead/{JANE_ROE_LEAD}", json={"Phone": "+81 3 0000 0000", "FirstName": "Janet"})
    assert updated.status_code == 204
    assert updated.content == b""
    lead = api.get(f"sobjects/Lead/{JANE_ROE_LEAD}").json()
    assert lead["Phone"] == "+81 3 0000 0000"
    assert lead["Name"] == "Janet Roe"

    deleted = api.delete(f"sobjects/Lead/{JANE_ROE_LEAD}")

    assert deleted.status_code == 204
    again = api.get(f"sobjects/Lead/{JANE_ROE_LEAD}")
    assert again.status_code == 404
    assert again.json()[0]["errorCode"] == "ENTITY_IS_DELETED"
    assert JANE_ROE_LEAD not in {record["Id"] for record in demo_org.records("Lead")}


def test_unknown_record_is_not_found(api: RestSession) -> None:
    response = api.get("sobjects/Lead/00Q8d00000000zzEAA")

    assert response.status_code == 404
    assert response.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


def test_fifteen_character_id_in_url(api: RestSession) -> None:
    assert api.get(f"sobjects/Contact/{JOHN_DOE[:15]}").json()["Id"] == JOHN_DOE


@pytest.mark.parametrize(
    ("body", "missing"),
    [({"FirstName": "Only"}, ["LastName", "Company"]), ({"LastName": "Sato"}, ["Company"])],
)
def test_lead_required_fields(api: RestSession, body: dict, missing: list[str]) -> None:
    error = error_of(api.post("sobjects/Lead", json=body))

    assert error["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert error["fields"] == missing
    assert error["message"] == f"Required fields are missing: [{', '.join(missing)}]"


def test_contact_requires_last_name(api: RestSession) -> None:
    assert error_of(api.post("sobjects/Contact", json={"Email": "x@example.com"}))["fields"] == ["LastName"]


@pytest.mark.parametrize(
    ("field", "length"),
    [("LastName", 80), ("FirstName", 40), ("Company", 255), ("Email", 80), ("Phone", 40)],
)
def test_lead_string_too_long(api: RestSession, field: str, length: int) -> None:
    body = {"LastName": "L", "Company": "C", field: "あ" * (length + 1)}

    error = error_of(api.post("sobjects/Lead", json=body))

    assert error["errorCode"] == "STRING_TOO_LONG"
    assert error["fields"] == [field]
    assert f"(max length={length})" in error["message"]


def test_lengths_count_characters_not_bytes(api: RestSession) -> None:
    response = api.post("sobjects/Lead", json={"LastName": "鈴" * 80, "Company": "C"})

    assert response.status_code == 201


def test_event_text_lengths(api: RestSession) -> None:
    assert error_of(api.post("sobjects/Event", json={**EVENT, "Subject": "s" * 256}))["fields"] == ["Subject"]
    assert error_of(api.post("sobjects/Event", json={**EVENT, "Description": "d" * 32001}))["fields"] == ["Description"]


def test_unknown_field_and_id_in_create(api: RestSession) -> None:
    unknown = error_of(api.post("sobjects/Lead", json={"LastName": "A", "Company": "B", "Foo__c": 1}))
    with_id = error_of(api.post("sobjects/Lead", json={"Id": JANE_ROE_LEAD, "LastName": "A", "Company": "B"}))

    assert unknown["errorCode"] == "INVALID_FIELD"
    assert "Foo__c" in unknown["message"]
    assert with_id == {"message": "The Id field should not be specified in the sobject data.", "errorCode": "INVALID_FIELD"}


def test_read_only_field_cannot_be_set(api: RestSession) -> None:
    error = error_of(api.post("sobjects/Lead", json={"LastName": "A", "Company": "B", "IsConverted": True}))

    assert error["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert error["fields"] == ["IsConverted"]


def test_malformed_reference_id(api: RestSession) -> None:
    error = error_of(api.post("sobjects/Event", json={**EVENT, "WhoId": "00Qbad"}))

    assert error["errorCode"] == "MALFORMED_ID"
    assert error["fields"] == ["WhoId"]


def test_event_with_duration_derives_end(demo_org: DemoOrgHandle, api: RestSession) -> None:
    body = {"Subject": "Call", "StartDateTime": "2026-04-01T01:00:00Z", "DurationInMinutes": 45, "WhoId": JOHN_DOE, "WhatId": ACME}

    created = api.post("sobjects/Event", json=body)

    assert created.status_code == 201
    event = api.get(f"sobjects/Event/{created.json()['id']}").json()
    assert event["EndDateTime"] == "2026-04-01T01:45:00.000+0000"
    assert event["ActivityDateTime"] == "2026-04-01T01:00:00.000+0000"
    assert event["OwnerId"] == ADMIN


def test_event_times_are_stored_in_utc(api: RestSession) -> None:
    created = api.post("sobjects/Event", json=EVENT)

    event = api.get(f"sobjects/Event/{created.json()['id']}").json()
    assert event["StartDateTime"] == "2026-04-01T01:00:00.000+0000"
    assert event["DurationInMinutes"] == 30


def test_event_needs_start_and_end_or_duration(api: RestSession) -> None:
    error = error_of(api.post("sobjects/Event", json={"Subject": "No times"}))

    assert error["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert error["fields"] == ["StartDateTime", "DurationInMinutes"]


def test_event_longer_than_a_day_is_rejected(api: RestSession) -> None:
    error = error_of(api.post("sobjects/Event", json={**EVENT, "EndDateTime": "2026-04-02T10:01:00+09:00"}))

    assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert error["fields"] == ["DurationInMinutes"]


def test_event_on_lead_cannot_have_what_id(api: RestSession) -> None:
    error = error_of(api.post("sobjects/Event", json={**EVENT, "WhoId": JANE_ROE_LEAD, "WhatId": ACME}))

    assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert error["fields"] == ["WhatId"]


@pytest.mark.parametrize("owner", [INBOUND_QUEUE, OLD_TIMER])
def test_event_owner_must_be_active_user(api: RestSession, owner: str) -> None:
    error = error_of(api.post("sobjects/Event", json={**EVENT, "OwnerId": owner}))

    assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert error["fields"] == ["OwnerId"]


def test_event_cannot_reference_converted_lead(api: RestSession) -> None:
    error = error_of(api.post("sobjects/Event", json={**EVENT, "WhoId": CONVERTED_LEAD}))

    assert error["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_converted_lead_cannot_be_updated(api: RestSession) -> None:
    error = error_of(api.patch(f"sobjects/Lead/{CONVERTED_LEAD}", json={"Phone": "1"}))

    assert error["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_reference_to_missing_record(api: RestSession) -> None:
    error = error_of(api.post("sobjects/Contact", json={"LastName": "X", "AccountId": "0018d00000000zzAAA"}))

    assert error["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert error["fields"] == ["AccountId"]


@pytest.mark.parametrize(
    ("header", "email", "owner"),
    [
        (None, "taro@example.co.jp", HANAKO),
        ("TRUE", "taro@example.jp", HANAKO),
        (None, "someone@example.com", INBOUND_QUEUE),
        ("FALSE", "taro@example.co.jp", ADMIN),
        ("01Q8d0000000001EAA", "someone@example.com", INBOUND_QUEUE),
    ],
)
def test_lead_auto_assignment(demo_org: DemoOrgHandle, api: RestSession, header: str | None, email: str, owner: str) -> None:
    headers = {"Sforce-Auto-Assign": header} if header else {}

    created = api.post("sobjects/Lead", json={"LastName": "Auto", "Company": "C", "Email": email}, headers=headers)

    assert created.status_code == 201
    assert api.get(f"sobjects/Lead/{created.json()['id']}").json()["OwnerId"] == owner


def test_explicit_owner_skips_assignment_rule(api: RestSession) -> None:
    created = api.post("sobjects/Lead", json={"LastName": "Auto", "Company": "C", "Email": "a@b.jp", "OwnerId": ADMIN})

    assert api.get(f"sobjects/Lead/{created.json()['id']}").json()["OwnerId"] == ADMIN


def test_unknown_assignment_rule_id(api: RestSession) -> None:
    response = api.post("sobjects/Lead", json={"LastName": "A", "Company": "C"}, headers={"Sforce-Auto-Assign": "01Q8d00000000zzEAA"})

    assert error_of(response)["errorCode"] == "INVALID_ID_FIELD"


def test_describe_account_lists_person_account_field(api: RestSession) -> None:
    body = api.get("sobjects/Account/describe").json()

    fields = {field["name"]: field for field in body["fields"]}
    assert body["name"] == "Account"
    assert fields["IsPersonAccount"]["type"] == "boolean"
    assert fields["IsPersonAccount"]["createable"] is False
    assert fields["Name"]["length"] == 255


def test_describe_lead_lengths(api: RestSession) -> None:
    fields = {field["name"]: field for field in api.get("sobjects/Lead/describe").json()["fields"]}

    assert fields["LastName"]["length"] == 80
    assert fields["LastName"]["nillable"] is False
    assert fields["OwnerId"]["referenceTo"] == ["Group", "User"]


def test_record_page_links_related_records(demo_org: DemoOrgHandle) -> None:
    page = requests.get(f"{demo_org.url}/lightning/r/Event/00U8d0000000001EAA/view", timeout=10)

    assert page.status_code == 200
    assert "Kickoff call" in page.text
    assert f'href="/lightning/r/Contact/{JOHN_DOE}/view"' in page.text
    assert f'href="/lightning/r/Account/{ACME}/view"' in page.text


def test_record_page_for_unknown_id(demo_org: DemoOrgHandle) -> None:
    assert requests.get(f"{demo_org.url}/lightning/r/Lead/00Q8d00000000zzEAA/view", timeout=10).status_code == 404


def test_index_and_list_pages(demo_org: DemoOrgHandle) -> None:
    index = requests.get(f"{demo_org.url}/", timeout=10)
    leads = requests.get(f"{demo_org.url}/lightning/o/Lead/list", timeout=10)

    assert 'href="/lightning/o/Lead/list"' in index.text
    assert "Jane Roe" in leads.text
    assert f'href="/lightning/r/Lead/{JANE_ROE_LEAD}/view"' in leads.text
