"""Looking up Account Engagement prospects by email."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import requests
from sqlalchemy import Engine

from core.pardot.forms import answer_name
from core.pardot.setup import open_pardot_client
from core.secrets import SecretBox

logger = logging.getLogger(__name__)

PROSPECT_FIELDS = (
    "id", "email", "firstName", "lastName", "company", "country", "employees", "salesforceId", "updatedAt",
)
_OLDEST = datetime.min.replace(tzinfo=UTC)


def find_prospect_by_email(
    engine: Engine,
    box: SecretBox,
    team_id: int,
    email: str,
    *,
    fields: Sequence[str] = PROSPECT_FIELDS,
    http: requests.Session | None = None,
) -> dict[str, Any] | None:
    """Return the team's prospect with this email, or None when there is none.

    Several prospects can share an email; the most recently updated one is
    returned, the highest id among equals. fields are v5 prospect field names;
    id and updatedAt are always requested. Raises ValueError for an empty email
    and what open_pardot_client and PardotClient raise.
    """
    # NOTE: the email filter on the prospects query comes from secondary sources,
    # not the official v5 reference.
    address = email.strip()
    if not address:
        raise ValueError("the email to look up is empty")
    requested = list(dict.fromkeys(["id", "updatedAt", *fields]))

    client = open_pardot_client(engine, box, team_id, http)
    prospects = client.query("prospects", requested, filters={"email": address})

    logger.info("found %d Account Engagement prospects for one email in team %s", len(prospects), team_id)
    if not prospects:
        return None
    return max(prospects, key=_recency)


def prospect_answers(prospect: dict[str, Any]) -> dict[str, Any]:
    """Return a prospect's fields under answer names (first_name for firstName), without id and dates."""
    skipped = {"id", "createdAt", "updatedAt"}
    return {answer_name(name): value for name, value in prospect.items() if name not in skipped}


def _recency(prospect: dict[str, Any]) -> tuple[datetime, int]:
    updated = prospect.get("updatedAt")
    try:
        when = datetime.fromisoformat(updated) if isinstance(updated, str) else _OLDEST
    except ValueError:
        when = _OLDEST
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when, int(prospect.get("id") or 0)
