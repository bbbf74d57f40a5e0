"""The demo org's Account Engagement API: authentication, the business unit header, queries and paging."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from core.demo_org import DEMO_BUSINESS_UNIT_ID
from core.demo_org.seed import NO_ACCESS_BUSINESS_UNIT_ID
from tests.demo_org_fixtures import DemoOrgHandle, demo_org, demo_org_server  # noqa: F401

PARDOT_SCOPES = "api refresh_token pardot_api"


class PardotSession:
    """Raw calls to the demo org's /pardot/api/v5/objects/ with a bearer token and a business unit header."""

    def __init__(self, base: str, token: str | None, business_unit_id: str | None = DEMO_BUSINESS_UNIT_ID) -> None:
        self.base = f"{base}/pardot/api/v5/objects/"
        self.headers: dict[str, str] = {}
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"
        if business_unit_id is not None:
            self.headers["Pardot-Business-Unit-Id"] = business_unit_id

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.base + path, params=params, headers=self.headers, timeout=10)


@pytest.fixture
def pardot_tokens(demo_org: DemoOrgHandle) -> dict[str, Any]:
    """A token response from the demo org for the api, refresh_token and pardot_api scopes."""
    return demo_org.issue_tokens(scope=PARDOT_SCOPES)


@pytest.fixture
def pardot(demo_org: DemoOrgHandle, pardot_tokens: dict[str, Any]) -> PardotSession:
    return PardotSession(demo_org.url, pardot_tokens["access_token"])


def assert_error(response: requests.Response, status: int, code: int) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


def test_authorize_grants_pardot_scope(pardot_tokens):
    assert pardot_tokens["scope"].split() == ["api", "refresh_token", "pardot_api"]


def test_forms_query_returns_requested_fields(pardot):
    response = pardot.get("forms", fields="id,name")

    assert response.status_code == 200
    body = response.json()
    assert body["values"] == [
        {"id": 1001, "name": "Demo request JP"},
        {"id": 1002, "name": "Contact us EN"},
        {"id": 1003, "name": "Webinar signup"},
    ]
    assert body["nextPageToken"] is None
    assert body["nextPageUrl"] is None


def test_query_without_fields_is_error_180(pardot):
    assert_error(pardot.get("forms"), 400, 180)


def test_query_with_unknown_field_is_error_180(pardot):
    response = pardot.get("forms", fields="id,colour")

    assert_error(response, 400, 180)
    assert "colour" in response.json()["message"]


def test_missing_token_is_error_184(demo_org):
    assert_error(PardotSession(demo_org.url, None).get("forms", fields="id"), 401, 184)


def test_token_without_pardot_scope_is_error_184(demo_org):
    tokens = demo_org.issue_tokens(scope="api refresh_token")

    assert_error(PardotSession(demo_org.url, tokens["access_token"]).get("forms", fields="id"), 401, 184)


def test_missing_business_unit_header_is_error_181(demo_org, pardot_tokens):
    session = PardotSession(demo_org.url, pardot_tokens["access_token"], business_unit_id=None)

    response = session.get("forms", fields="id")

    assert_error(response, 400, 181)
    assert "Pardot-Business-Unit-Id" in response.json()["message"]


def test_malformed_business_unit_is_error_182(demo_org, pardot_tokens):
    session = PardotSession(demo_org.url, pardot_tokens["access_token"], business_unit_id="0Uv123")

    assert_error(session.get("forms", fields="id"), 400, 182)


def test_unknown_business_unit_is_error_201(demo_org, pardot_tokens):
    session = PardotSession(demo_org.url, pardot_tokens["access_token"], business_unit_id="0Uv8d0000000009CAA")

    assert_error(session.get("forms", fields="id"), 400, 201)


def test_business_unit_without_user_access_is_error_184(demo_org, pardot_tokens):
    session = PardotSession(demo_org.url, pardot_tokens["access_token"], business_unit_id=NO_ACCESS_BUSINESS_UNIT_ID)

    assert_error(session.get("forms", fields="id"), 401, 184)


def test_expired_token_is_error_184(demo_org, pardot):
    demo_org.set_faults(expire_tokens=True)

    assert_error(pardot.get("forms", fields="id"), 401, 184)


def test_paging_follows_next_page_token(pardot):
    first = pardot.get("forms", fields="id", limit=2).json()
    token = first["nextPageToken"]
    second = pardot.get("forms", fields="id,name", nextPageToken=token).json()

    assert [form["id"] for form in first["values"]] == [1001, 1002]
    assert token
    assert first["nextPageUrl"].endswith(f"/pardot/api/v5/objects/forms?nextPageToken={token}")
    assert second["values"] == [{"id": 1003, "name": "Webinar signup"}]
    assert second["nextPageToken"] is None


def test_page_token_works_once(pardot):
    token = pardot.get("forms", fields="id", limit=1).json()["nextPageToken"]
    pardot.get("forms", nextPageToken=token)

    assert_error(pardot.get("forms", nextPageToken=token), 400, 5)


def test_page_token_with_other_parameters_is_rejected(pardot):
    token = pardot.get("forms", fields="id", limit=1).json()["nextPageToken"]

    response = pardot.get("forms", fields="id", limit=1, nextPageToken=token)

    assert_error(response, 400, 5)
    assert "limit" in response.json()["message"]


@pytest.mark.parametrize("limit", ["0", "1001", "many"])
def test_limit_out_of_range_is_rejected(pardot, limit):
    assert_error(pardot.get("forms", fields="id", limit=limit), 400, 5)


def test_form_fields_filter_by_form(pardot):
    response = pardot.get("form-fields", fields="formId,prospectApiFieldId,sortOrder", formId="1003")

    assert response.status_code == 200
    assert response.json()["values"] == [
        {"formId": 1003, "prospectApiFieldId": "email", "sortOrder": 0},
        {"formId": 1003, "prospectApiFieldId": "firstName", "sortOrder": 1},
        {"formId": 1003, "prospectApiFieldId": "lastName", "sortOrder": 2},
    ]


def test_prospects_filter_by_email_ignores_case(pardot):
    response = pardot.get("prospects", fields="id,firstName,updatedAt", email="Taro.Yamada@Example.JP")

    assert response.status_code == 200
    assert [prospect["id"] for prospect in response.json()["values"]] == [3001, 3006]


def test_prospects_filter_with_unknown_email_is_empty(pardot):
    response = pardot.get("prospects", fields="id", email="nobody@example.com")

    assert response.json()["values"] == []


def test_unknown_filter_is_rejected(pardot):
    assert_error(pardot.get("forms", fields="id", email="taro.yamada@example.jp"), 400, 5)


def test_id_filters_narrow_query(pardot):
    response = pardot.get("forms", fields="id", idGreaterThan="1001", idLessThanOrEqualTo="1002")

    assert response.json()["values"] == [{"id": 1002}]


def test_read_one_form(pardot):
    response = pardot.get("forms/1002", fields="id,name,isDeleted")

    assert response.status_code == 200
    assert response.json() == {"id": 1002, "name": "Contact us EN", "isDeleted": False}


def test_read_unknown_form_is_not_found(pardot):
    assert_error(pardot.get("forms/4242", fields="id"), 404, 192)


def test_unknown_collection_is_not_found(pardot):
    assert_error(pardot.get("opportunities", fields="id"), 404, 192)


def test_write_methods_are_not_allowed(demo_org, pardot_tokens):
    response = requests.post(
        f"{demo_org.url}/pardot/api/v5/objects/forms",
        json={"name": "New form"},
        headers={"Authorization": f"Bearer {pardot_tokens['access_token']}"},
        timeout=10,
    )

    assert_error(response, 405, 108)
