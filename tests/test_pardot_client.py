"""PardotClient against the demo org: headers, paging, error mapping, one refresh on code 184."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import pytest

from core.demo_org import DEMO_BUSINESS_UNIT_ID
from core.demo_org.seed import NO_ACCESS_BUSINESS_UNIT_ID
from core.i18n import translate
from core.pardot import (
    BusinessUnitError,
    ConcurrencyLimitError,
    DailyLimitError,
    PardotAuthenticationError,
    PardotClient,
    PardotError,
    PardotServerError,
)
from core.pardot.errors import pardot_error_from_response
from core.salesforce.errors import SalesforceError, TransportError
from core.secrets import Secret
from tests.demo_org_fixtures import DemoOrgHandle, demo_org, demo_org_server  # noqa: F401
from tests.servers import free_port

PARDOT_SCOPES = "api refresh_token pardot_api"


@pytest.fixture
def pardot_tokens(demo_org: DemoOrgHandle) -> dict[str, Any]:
    return demo_org.issue_tokens(scope=PARDOT_SCOPES)


@pytest.fixture
def pardot_url(demo_org: DemoOrgHandle) -> str:
    return f"{demo_org.url}/pardot"


@pytest.fixture
def client(pardot_url: str, pardot_tokens: dict[str, Any]) -> PardotClient:
    return PardotClient(pardot_url, DEMO_BUSINESS_UNIT_ID, pardot_tokens["access_token"])


class CountingRefresh:
    """A refresh callback that gets a new token from the demo org for scope and counts its calls."""

    def __init__(self, demo_org: DemoOrgHandle, scope: str) -> None:
        self.demo_org = demo_org
        self.scope = scope
        self.calls = 0

    def __call__(self) -> Secret:
        self.calls += 1
        return Secret(self.demo_org.issue_tokens(scope=self.scope)["access_token"])


def test_query_returns_all_forms(client):
    forms = client.query("forms", ["id", "name"])

    assert [form["name"] for form in forms] == ["Demo request JP", "Contact us EN", "Webinar signup"]
    assert client.api_calls == 1


def test_query_follows_pages(client):
    forms = client.query("forms", ["id"], limit=1)

    assert [form["id"] for form in forms] == [1001, 1002, 1003]
    assert client.api_calls == 3


def test_query_pages_keep_filters_of_first_request(client):
    fields = client.query("form-fields", ["id", "prospectApiFieldId"], filters={"formId": 1001}, limit=2)

    assert [field["prospectApiFieldId"] for field in fields] == [
        "email", "firstName", "lastName", "company", "employees", "country", "interest",
    ]
    assert client.api_calls == 4


def test_request_reads_one_object(client):
    form = client.request("GET", "objects/forms/1003", params={"fields": "id,name"})

    assert form == {"id": 1003, "name": "Webinar signup"}


def test_unknown_business_unit_is_business_unit_error(pardot_url, pardot_tokens):
    client = PardotClient(pardot_url, "0Uv8d0000000009CAA", pardot_tokens["access_token"])

    with pytest.raises(BusinessUnitError) as raised:
        client.query("forms", ["id"])

    error = raised.value
    assert error.error_code == "PARDOT_201"
    assert error.pardot_code == 201
    assert error.status == 400
    assert error.method == "GET"
    assert error.path == "/pardot/api/v5/objects/forms"
    assert error.next_step_key == "sf_next.PARDOT_201"
    assert error.next_step_params == {"business_unit_id": "0Uv8d0000000009CAA", "host": urlsplit(pardot_url).netloc}
    assert "pi.demo.pardot.com" in translate(error.next_step_key, "en", **error.next_step_params)


def test_missing_business_unit_header_is_181(pardot_url, pardot_tokens):
    client = PardotClient(pardot_url, "", pardot_tokens["access_token"])

    with pytest.raises(BusinessUnitError) as raised:
        client.query("forms", ["id"])

    assert raised.value.error_code == "PARDOT_181"
    assert raised.value.next_step_key == "sf_next.PARDOT_181"


def test_malformed_business_unit_is_182(pardot_url, pardot_tokens):
    client = PardotClient(pardot_url, "0Uv-not-an-id", pardot_tokens["access_token"])

    with pytest.raises(BusinessUnitError) as raised:
        client.query("forms", ["id"])

    assert raised.value.error_code == "PARDOT_182"


def test_user_outside_business_unit_is_authentication_error(pardot_url, pardot_tokens):
    client = PardotClient(pardot_url, NO_ACCESS_BUSINESS_UNIT_ID, pardot_tokens["access_token"])

    with pytest.raises(PardotAuthenticationError) as raised:
        client.query("forms", ["id"])

    assert raised.value.error_code == "PARDOT_184"
    assert raised.value.status == 401
    assert isinstance(raised.value, SalesforceError)


def test_expired_token_is_refreshed_once(demo_org, pardot_url, pardot_tokens):
    refresh = CountingRefresh(demo_org, PARDOT_SCOPES)
    demo_org.set_faults(expire_tokens=True)
    client = PardotClient(pardot_url, DEMO_BUSINESS_UNIT_ID, pardot_tokens["access_token"], refresh=refresh)

    forms = client.query("forms", ["id"])

    assert len(forms) == 3
    assert refresh.calls == 1
    assert client.api_calls == 2


def test_useless_refresh_raises_after_one_retry(demo_org, pardot_url):
    tokens_without_scope = demo_org.issue_tokens(scope="api refresh_token")
    refresh = CountingRefresh(demo_org, "api refresh_token")
    client = PardotClient(pardot_url, DEMO_BUSINESS_UNIT_ID, tokens_without_scope["access_token"], refresh=refresh)

    with pytest.raises(PardotAuthenticationError):
        client.query("forms", ["id"])

    assert refresh.calls == 1
    assert client.api_calls == 2


def test_token_stays_out_of_repr_errors_and_logs(pardot_url, pardot_tokens, caplog):
    token = pardot_tokens["access_token"]
    client = PardotClient(pardot_url, "0Uv8d0000000009CAA", token)
    caplog.set_level(logging.DEBUG, logger="core")

    with pytest.raises(PardotError) as raised:
        client.query("prospects", ["id"], filters={"email": "taro.yamada@example.jp"})

    assert token not in repr(client)
    assert token not in str(raised.value)
    assert token not in caplog.text
    assert "taro.yamada" not in caplog.text


def test_unreachable_host_is_transport_error(pardot_tokens):
    client = PardotClient(f"http://127.0.0.1:{free_port()}", DEMO_BUSINESS_UNIT_ID, pardot_tokens["access_token"])

    with pytest.raises(TransportError) as raised:
        client.query("forms", ["id"])

    assert raised.value.transient
    assert raised.value.path == "/api/v5/objects/forms"


@pytest.mark.parametrize(
    ("collection", "fields", "limit"),
    [("Forms", ["id"], None), ("forms", [], None), ("forms", "id,name", None), ("forms", ["id;drop"], None),
     ("forms", ["id"], 0), ("forms", ["id"], 1001)],
)
def test_query_rejects_invalid_arguments(client, collection, fields, limit):
    with pytest.raises(ValueError):
        client.query(collection, fields, limit=limit)

    assert client.api_calls == 0


@pytest.mark.parametrize(
    ("status", "body", "family", "error_code", "transient"),
    [
        (400, {"code": 66, "message": "You have exceeded your concurrent request limit."}, ConcurrencyLimitError,
         "PARDOT_66", True),
        (400, {"code": 122, "message": "Daily API rate limit met."}, DailyLimitError, "PARDOT_122", True),
        (401, {"code": 184, "message": "access_token is invalid, unknown, or malformed"}, PardotAuthenticationError,
         "PARDOT_184", False),
        (502, None, PardotServerError, None, True),
        (400, {"code": 180, "message": "Invalid fields"}, PardotError, "PARDOT_180", False),
    ],
)
def test_error_bodies_map_to_families(status, body, family, error_code, transient):
    error = pardot_error_from_response(
        status, body, method="GET", path="/api/v5/objects/forms", next_step_params={"business_unit_id": "x", "host": "h"}
    )

    assert type(error) is family
    assert error.error_code == error_code
    assert error.transient is transient
    assert error.message


@pytest.mark.parametrize("code", [181, 182, 184, 201, 66, 122])
def test_known_codes_have_next_steps_in_both_languages(code):
    error = pardot_error_from_response(
        400, {"code": code, "message": "m"}, method="GET", path="/p",
        next_step_params={"business_unit_id": "0Uv8d0000000001CAA", "host": "pi.pardot.com"},
    )

    assert error.next_step_key == f"sf_next.PARDOT_{code}"
    for language in ("en", "ja"):
        text = translate(error.next_step_key, language, **error.next_step_params)
        assert text != error.next_step_key
        assert "{" not in text
