"""Lead assignment rules and the ``Sforce-Auto-Assign`` request header.

A rule is an AssignmentRule record plus its entries, which live in the meta table as
JSON (``assignment_rule:<id>``): an ordered list of ``{"email_suffixes": [...] | null,
"owner_id": "..."}``. The first entry whose suffixes match the Lead's Email (null
matches every Lead) gives the owner, like the first matching rule entry in Setup.
"""

from __future__ import annotations

import json
from typing import Any

from core.demo_org.errors import ApiError
from core.demo_org.ids import normalize_id
from core.demo_org.store import Store

HEADER = "Sforce-Auto-Assign"


def save_rule_entries(store: Store, rule_id: str, entries: list[dict[str, Any]]) -> None:
    """Store the ordered entries of an assignment rule."""
    store.set_meta(f"assignment_rule:{rule_id}", json.dumps(entries))


def choose_rule(store: Store, header_value: str | None) -> str | None:
    """Return the id of the assignment rule to run for a new Lead, or None to run none.

    The header is absent or ``TRUE`` for the org's active Lead rule, ``FALSE`` for none, or a rule id.
    Raises ApiError (400) when the header names no assignment rule of this org.
    """
    value = (header_value or "").strip()
    if value == "" or value.upper() == "TRUE":
        return _active_lead_rule(store)
    if value.upper() == "FALSE":
        return None

    # NOTE: the error code for an unknown rule id is an assumption; Salesforce documents no body for it.
    rule_id = normalize_id(value)
    stored = store.get_record(rule_id) if rule_id else None
    if stored is None or stored.sobject != "AssignmentRule" or stored.is_deleted:
        raise ApiError(400, "INVALID_ID_FIELD", f"{HEADER} header value {value!r} is not an assignment rule id of this org.")
    return stored.id


def _active_lead_rule(store: Store) -> str | None:
    for rule in store.list_records("AssignmentRule"):
        if rule.get("SobjectType") == "Lead" and rule.get("Active"):
            return rule["Id"]
    return None


def assign_owner(store: Store, rule_id: str, lead: dict[str, Any]) -> str | None:
    """Return the owner id the rule's first matching entry gives `lead`, or None when no entry matches."""
    entries = json.loads(store.get_meta(f"assignment_rule:{rule_id}", "[]"))
    email = (lead.get("Email") or "").lower()
    for entry in entries:
        suffixes = entry.get("email_suffixes")
        if suffixes is None or any(email.endswith(suffix.lower()) for suffix in suffixes):
            return entry["owner_id"]
    return None
