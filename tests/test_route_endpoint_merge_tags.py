"""GET /route/{form_key} when the form's completion action left merge tags unexpanded in the query string."""

from __future__ import annotations

import logging

import pytest

from core.routing.log import RoutingOutcome
from core.routing.redirect import blank_unfilled_merge_tags, is_unfilled_merge_tag
from tests.routing_fixtures import INTRO_URL
from tests.test_route_endpoint import (  # noqa: F401 (fixtures)
    client,
    form_key,
    location_parts,
    log_rows,
    route_runtime,
    team,
)

UNFILLED_VISITOR = {
    "email": "{{Recipient.Email}}",
    "first_name": "{{{Recipient.FirstName}}}",
    "last_name": "%%last_name%%",
    "company": " {{Recipient.Company}} ",
}


@pytest.mark.parametrize(
    ("value", "unfilled"),
    [
        ("{{Recipient.Email}}", True),
        ("{{{Recipient.FirstName}}}", True),
        ("%%email%%", True),
        (" {{ Recipient.employees }} ", True),
        ("{{Recipient.FirstName}} {{Recipient.LastName}}", True),
        ("taro@example.co.jp", False),
        ("Taro {{Recipient.LastName}}", False),
        ("50%", False),
        ("100%% sure", False),
        ("{}", False),
        ("", False),
    ],
)
def test_is_unfilled_merge_tag(value, unfilled):
    assert is_unfilled_merge_tag(value) is unfilled


def test_blank_unfilled_merge_tags_names_fields():
    answers = {"email": ["{{Recipient.Email}}"], "interest": ["CRM", "%%interest%%"], "country": ["Japan"]}

    blanked, names = blank_unfilled_merge_tags(answers)

    assert blanked == {"email": [""], "interest": ["CRM", ""], "country": ["Japan"]}
    assert names == ["email", "interest"]


def test_unfilled_tags_are_not_prefilled(client, team, form_key, caplog):
    caplog.set_level(logging.INFO, logger="core.web.route")

    response = client.get(f"/route/{form_key}", params={**UNFILLED_VISITOR, "employees": "10", "country": "Japan"})

    assert response.status_code == 302
    base, query = location_parts(response)
    assert base == INTRO_URL
    assert "email" not in query
    assert "name" not in query
    assert "first_name" not in query
    assert "last_name" not in query
    assert "{{" not in response.headers["location"]
    assert "%%" not in response.headers["location"]
    assert "email, first_name, last_name, company" in caplog.text


def test_unfilled_tags_count_as_empty_for_rules(client, team, form_key):
    response = client.get(f"/route/{form_key}", params={"employees": "{{Recipient.employees}}", "country": "US"})

    assert response.status_code == 302
    [row] = log_rows(team)
    assert row.outcome == RoutingOutcome.FALLBACK
    assert row.answers["employees"] == [""]
