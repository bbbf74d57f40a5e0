"""The team's cache of Account Engagement forms and their field names."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import Engine, delete
from sqlmodel import select

from core.pardot.setup import open_pardot_client
from core.secrets import SecretBox
from core.store.db import session_scope
from core.store.models import AccountEngagementConnection, AccountEngagementForm

logger = logging.getLogger(__name__)

FORM_FIELDS = ("id", "name")
# NOTE: the v5 form-fields collection exists (query GET /api/v5/objects/form-fields), but
# its field names formId and prospectApiFieldId are taken from the form-handler-fields
# object and not confirmed for form fields. A wrong name makes the real API reject the query.
FORM_FIELD_FIELDS = ("id", "formId", "prospectApiFieldId")
FORM_NAME_MAX_LENGTH = 255

# Standard prospect fields: v5 API name -> the name a form answer and a merge field use.
# Custom fields keep their own API names.
STANDARD_PROSPECT_FIELDS = {
    name: re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    for name in (
        "salutation", "firstName", "lastName", "email", "company", "jobTitle", "department", "phone", "fax",
        "website", "addressOne", "addressTwo", "city", "state", "zip", "country", "territory", "industry",
        "annualRevenue", "employees", "yearsInBusiness", "source", "comments",
    )
}


@dataclass(frozen=True)
class CachedForm:
    """A form as the console last fetched it: id, name and field names in form order."""

    form_id: int
    name: str
    fields: tuple[str, ...]
    fetched_at: datetime


def answer_name(v5_field: str) -> str:
    """Return the answer name of a v5 prospect field: first_name for firstName, custom names unchanged."""
    return STANDARD_PROSPECT_FIELDS.get(v5_field, v5_field)


def refresh_forms(
    engine: Engine, box: SecretBox, team_id: int, now: datetime, http: requests.Session | None = None
) -> list[CachedForm]:
    """Fetch every form of the team's business unit with its fields and replace the team's cache.

    Both collections are read to the last page before the cache changes, and
    the cache is replaced in one transaction, so a failed call keeps the old
    cache. Raises what open_pardot_client and PardotClient raise.
    """
    client = open_pardot_client(engine, box, team_id, http)
    forms = client.query("forms", FORM_FIELDS)
    fields_by_form = _field_names_by_form(client.query("form-fields", FORM_FIELD_FIELDS))

    with session_scope(engine) as session:
        session.exec(delete(AccountEngagementForm).where(AccountEngagementForm.team_id == team_id))
        for form in forms:
            session.add(
                AccountEngagementForm(
                    team_id=team_id,
                    form_id=int(form["id"]),
                    name=str(form.get("name") or "")[:FORM_NAME_MAX_LENGTH],
                    fields=fields_by_form.get(int(form["id"]), []),
                    fetched_at=now,
                )
            )
        settings = session.exec(
            select(AccountEngagementConnection).where(AccountEngagementConnection.team_id == team_id)
        ).one()
        settings.forms_fetched_at = now
        session.add(settings)

    logger.info(
        "cached %d Account Engagement forms of team %s in %d API calls", len(forms), team_id, client.api_calls
    )
    return list_cached_forms(engine, team_id)


def list_cached_forms(engine: Engine, team_id: int) -> list[CachedForm]:
    """Return the team's cached forms, ordered by name and then id."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(AccountEngagementForm)
            .where(AccountEngagementForm.team_id == team_id)
            .order_by(AccountEngagementForm.name, AccountEngagementForm.form_id)
        ).all()
    return [CachedForm(row.form_id, row.name, tuple(row.fields), row.fetched_at) for row in rows]


def _field_names_by_form(form_fields: Iterable[dict[str, Any]]) -> dict[int, list[str]]:
    """Group form fields by form, in id order, as answer names without repeats."""
    grouped: dict[int, list[str]] = defaultdict(list)
    for item in sorted(form_fields, key=lambda item: int(item["id"])):
        api_name = item.get("prospectApiFieldId")
        if item.get("formId") is None or not api_name:
            continue
        names = grouped[int(item["formId"])]
        name = answer_name(str(api_name))
        if name not in names:
            names.append(name)
    return dict(grouped)
