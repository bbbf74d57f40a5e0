"""The demo org's SOQL subset: the parser on its own, then queries over HTTP against the seed data."""

from __future__ import annotations

import pytest

from core.demo_org import soql
from core.demo_org.errors import ApiError
from tests.demo_org_fixtures import DemoOrgHandle, RestSession, demo_org, demo_org_server  # noqa: F401


@pytest.fixture
def api(demo_org: DemoOrgHandle) -> RestSession:
    return demo_org.rest_session()


def records_of(api: RestSession, query: str) -> list[dict]:
    response = api.query(query)
    assert response.status_code == 200, response.text
    return response.json()["records"]


# Parser


def test_parse_full_statement() -> None:
    query = soql.parse(
        "SELECT Id, Account.Owner.Name FROM Contact WHERE (Email = 'a@b.c' OR Email LIKE '%x%') AND IsDeleted = false "
        "ORDER BY LastModifiedDate DESC NULLS LAST, Name LIMIT 5 OFFSET 2"
    )

    assert [field.parts for field in query.fields] == [("Id",), ("Account", "Owner", "Name")]
    assert query.sobject == "Contact"
    assert isinstance(query.where, soql.Junction) and query.where.operator == "AND"
    assert query.order_by[0].descending and not query.order_by[0].nulls_first
    assert query.order_by[1].nulls_first and not query.order_by[1].descending
    assert (query.limit, query.offset) == (5, 2)


def test_parse_count() -> None:
    query = soql.parse("SELECT COUNT() FROM Lead")

    assert query.count_only
    assert query.fields == ()


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (r"'O\'Brien'", "O'Brien"),
        (r"'back\\slash'", "back\\slash"),
        (r"'line\nbreak\ttab'", "line\nbreak\ttab"),
        (r"'quote\"d'", 'quote"d'),
        (r"'\u3042'", "あ"),
        ("'鈴木 一郎'", "鈴木 一郎"),
    ],
)
def test_decode_string_escapes(raw: str, decoded: str) -> None:
    assert soql.decode_string(raw, 1) == decoded


@pytest.mark.parametrize("raw", [r"'\x41'", r"'100\%'", r"'a\_b'", r"'\u12'"])
def test_decode_string_rejects_unknown_escapes(raw: str) -> None:
    with pytest.raises(ApiError) as caught:
        soql.decode_string(raw, 1)

    assert caught.value.error_code == "MALFORMED_QUERY"


def test_like_pattern_wildcards_and_escapes() -> None:
    pattern = soql.like_to_regex(r"'100\% s_re%'", 1)

    assert pattern.fullmatch("100% SURE thing")
    assert not pattern.fullmatch("1000 sure")


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT FROM Lead",
        "SELECT Id Lead",
        "SELECT Id FROM Lead WHERE",
        "SELECT Id FROM Lead WHERE Email = 'a' AND Name = 'b' OR Id = null",
        "SELECT Id FROM Lead WHERE Email = 'unterminated",
        "SELECT Id FROM Lead LIMIT many",
        "SELECT Id FROM Lead WHERE Email IN ()",
        "SELECT Id, FROM Lead",
    ],
)
def test_syntax_errors_are_malformed_query(statement: str) -> None:
    with pytest.raises(ApiError) as caught:
        soql.parse(statement)

    assert caught.value.error_code == "MALFORMED_QUERY"
    assert caught.value.status == 400
    assert "ERROR at Row:1:Column:" in caught.value.message


# Queries over HTTP


def test_query_response_shape(api: RestSession) -> None:
    response = api.query("SELECT Id, Email FROM Lead WHERE Email = 'jane.roe@example.net'")

    body = response.json()
    assert body["totalSize"] == 1
    assert body["done"] is True
    assert body["records"] == [
        {
            "attributes": {"type": "Lead", "url": "/services/data/v66.0/sobjects/Lead/00Q8d0000000001EAA"},
            "Id": "00Q8d0000000001EAA",
            "Email": "jane.roe@example.net",
        }
    ]


def test_string_equality_ignores_case(api: RestSession) -> None:
    records = records_of(api, "SELECT Id FROM Contact WHERE Email = 'John.Doe@EXAMPLE.com'")

    assert [record["Id"] for record in records] == ["0038d0000000001AAA"]


def test_escaped_quote_in_literal(api: RestSession) -> None:
    created = api.post("sobjects/Lead", json={"LastName": "O'Brien", "Company": "Pub", "Email": "o@x.example"})
    assert created.status_code == 201

    records = records_of(api, r"SELECT Id, LastName FROM Lead WHERE LastName = 'o\'brien'")

    assert [record["LastName"] for record in records] == ["O'Brien"]


def test_in_and_not_in(api: RestSession) -> None:
    emails = "('jane.roe@example.net', 'queue.lead@example.org')"

    inside = records_of(api, f"SELECT Id FROM Lead WHERE Email IN {emails}")
    outside = records_of(api, f"SELECT Id FROM Lead WHERE Email NOT IN {emails}")

    assert {record["Id"] for record in inside} == {"00Q8d0000000001EAA", "00Q8d0000000002EAA"}
    assert len(outside) == 4


def test_boolean_null_and_parentheses(api: RestSession) -> None:
    records = records_of(
        api,
        "SELECT Id FROM Lead WHERE IsConverted = false AND (Email = 'dup.lead@example.com' OR Phone != null)",
    )

    assert {record["Id"] for record in records} == {"00Q8d0000000005EAA", "00Q8d0000000006EAA"}


def test_like_is_case_insensitive(api: RestSession) -> None:
    records = records_of(api, "SELECT Email FROM Contact WHERE Email LIKE '%@EXAMPLE.com' ORDER BY Email")

    assert [record["Email"] for record in records] == ["john.doe@example.com", "person.customer@example.com", "shared@example.com"]


def test_relationship_fields_nest_like_salesforce(api: RestSession) -> None:
    records = records_of(
        api, "SELECT Id, Account.OwnerId, Account.Name, Owner.Name, Owner.IsActive FROM Contact WHERE Email = 'john.doe@example.com'"
    )

    record = records[0]
    assert record["Account"]["attributes"]["type"] == "Account"
    assert record["Account"]["OwnerId"] == "0058d0000000003AAA"
    assert record["Account"]["Name"] == "Acme Corporation"
    assert record["Owner"] == {
        "attributes": {"type": "User", "url": "/services/data/v66.0/sobjects/User/0058d0000000003AAA"},
        "Name": "Ken Suzuki",
        "IsActive": True,
    }


def test_polymorphic_owner_of_queue_lead(api: RestSession) -> None:
    records = records_of(api, "SELECT Owner.Type, Owner.Name, OwnerId FROM Lead WHERE Email = 'queue.lead@example.org'")

    owner = records[0]["Owner"]
    assert owner["attributes"]["type"] == "Name"
    assert owner["Type"] == "Queue"
    assert owner["Name"] == "Inbound Leads"
    assert records[0]["OwnerId"].startswith("00G")


def test_null_relationship_is_null(api: RestSession) -> None:
    records = records_of(api, "SELECT Id, ConvertedContactId, ConvertedContact.Email FROM Lead WHERE Email = 'jane.roe@example.net'")

    assert records[0]["ConvertedContactId"] is None
    assert records[0]["ConvertedContact"] is None


def test_converted_lead_points_to_contact(api: RestSession) -> None:
    records = records_of(api, "SELECT IsConverted, ConvertedContactId FROM Lead WHERE Email = 'old.lead@example.com'")

    assert records[0]["IsConverted"] is True
    assert records[0]["ConvertedContactId"] == "0038d0000000001AAA"


def test_person_account_contact(api: RestSession) -> None:
    records = records_of(
        api, "SELECT Id, Account.IsPersonAccount FROM Contact WHERE Email = 'person.customer@example.com'"
    )
    accounts = records_of(api, "SELECT Id FROM Account WHERE IsPersonAccount = true AND PersonEmail = 'person.customer@example.com'")

    assert records[0]["Account"]["IsPersonAccount"] is True
    assert [account["Id"] for account in accounts] == ["0018d0000000003AAA"]


def test_order_by_several_fields_and_limit(api: RestSession) -> None:
    records = records_of(api, "SELECT Id FROM Lead WHERE Email = 'dup.lead@example.com' ORDER BY LastModifiedDate DESC LIMIT 1")
    both = records_of(api, "SELECT Id FROM Lead ORDER BY LastName ASC, LastModifiedDate DESC")

    assert [record["Id"] for record in records] == ["00Q8d0000000006EAA"]
    assert [record["Id"] for record in both][:2] == ["00Q8d0000000006EAA", "00Q8d0000000005EAA"]


def test_order_by_nulls_last(api: RestSession) -> None:
    ascending = records_of(api, "SELECT Id, ConvertedDate FROM Lead ORDER BY ConvertedDate NULLS LAST")
    descending = records_of(api, "SELECT Id, ConvertedDate FROM Lead ORDER BY ConvertedDate DESC NULLS FIRST")

    assert ascending[0]["ConvertedDate"] == "2026-01-20"
    assert descending[-1]["ConvertedDate"] == "2026-01-20"


def test_datetime_and_number_literals(api: RestSession) -> None:
    newer = records_of(api, "SELECT Id FROM Lead WHERE LastModifiedDate > 2026-02-01T00:00:00Z")
    long_events = records_of(api, "SELECT Id FROM Event WHERE DurationInMinutes >= 30")

    assert [record["Id"] for record in newer] == ["00Q8d0000000006EAA"]
    assert [record["Id"] for record in long_events] == ["00U8d0000000001EAA"]


def test_id_comparison_accepts_15_character_ids(api: RestSession) -> None:
    records = records_of(api, "SELECT Name FROM User WHERE Id = '0058d0000000002'")

    assert records[0]["Name"] == "Hanako Sato"


def test_count_query(api: RestSession) -> None:
    body = api.query("SELECT COUNT() FROM Lead WHERE IsConverted = false").json()

    assert body["totalSize"] == 5
    assert body["records"] == []


def test_large_result_pages_through_next_records_url(demo_org: DemoOrgHandle, api: RestSession) -> None:
    demo_org.set_faults(query_batch_size=2)

    first = api.query("SELECT Id FROM Lead ORDER BY Id").json()
    second = api.http.get(api.tokens["instance_url"] + first["nextRecordsUrl"], timeout=10).json()
    third = api.http.get(api.tokens["instance_url"] + second["nextRecordsUrl"], timeout=10).json()

    assert first["totalSize"] == 6
    assert first["done"] is False
    assert second["done"] is False
    assert third["done"] is True
    assert "nextRecordsUrl" not in third
    ids = [record["Id"] for page in (first, second, third) for record in page["records"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 6


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ("SELECT Id, Foo FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE Bar = 'x'", "INVALID_FIELD"),
        ("SELECT Nope.Name FROM Lead", "INVALID_FIELD"),
        ("SELECT Owner.Phone FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Opportunity__c", "INVALID_TYPE"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
        (r"SELECT Id FROM Lead WHERE Email = 'a\qb'", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE Email = 5", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Lead WHERE IsConverted = 'false'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Lead WHERE OwnerId = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
    ],
)
def test_query_errors(api: RestSession, statement: str, code: str) -> None:
    response = api.query(statement)

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code
