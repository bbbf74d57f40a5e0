"""The query string an Account Engagement form appends to the routing URL to pass its answers."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from core.routing.text import normalize_text

# Standard prospect fields and their Handlebars Merge Language (HML) names.
STANDARD_MERGE_FIELDS = {
    "email": "Recipient.Email",
    "first_name": "Recipient.FirstName",
    "last_name": "Recipient.LastName",
    "company": "Recipient.Company",
}
# The booking page needs these to prefill the guest, so they are sent even when the form lacks them.
ALWAYS_SENT_FIELDS = ("email", "first_name", "last_name")

# An Account Engagement merge tag: HML ({{Recipient.Email}}, or {{{...}}} for unescaped output) or the older
# %%email%% syntax. Such a tag reaches the routing URL when the completion action did not expand it.
MERGE_TAG = re.compile(r"\{\{\{?[^{}]+\}\}\}?|%%[A-Za-z0-9_.]+%%")

# Only ASCII identifiers are accepted, the form of Salesforce field API names (custom fields end in "__c").
MERGE_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def redirect_query_template(form_fields: Sequence[str]) -> str:
    """Build the query string, without a leading "?", that carries the form's answers as HML merge tags.

    email, first_name and last_name come first and map to the standard prospect
    merge fields, as does company. Every other form field follows in form order as
    ``name={{Recipient.name}}``. Parameter names are percent-encoded, but merge
    tags are left literal so Account Engagement can replace them. A field listed twice,
    in any letter case, is sent once.

    Raises ValueError for a field name that is not an API name (letters, digits
    and underscores), because it cannot appear inside a merge tag.
    """
    # NOTE: whether Account Engagement percent-encodes merged values in a completion
    # redirect is unverified here; a value containing "&" may split a parameter.
    parameters: dict[str, str] = {name: STANDARD_MERGE_FIELDS[name] for name in ALWAYS_SENT_FIELDS}

    for field in form_fields:
        key = normalize_text(field)
        if key in STANDARD_MERGE_FIELDS:
            parameters.setdefault(key, STANDARD_MERGE_FIELDS[key])
            continue

        if not MERGE_FIELD_NAME.fullmatch(field):
            raise ValueError(
                f"form field {field!r} cannot be used in an Account Engagement merge tag; "
                "use the field's API name, made of letters, digits and underscores (such as Employee_Count__c)"
            )
        if key not in {normalize_text(name) for name in parameters}:
            parameters[field] = f"Recipient.{field}"

    pairs = [quote(name, safe="") + "=" + "{{" + merge_field + "}}" for name, merge_field in parameters.items()]
    return "&".join(pairs)


def is_unfilled_merge_tag(value: str) -> bool:
    """Return whether value is nothing but unexpanded merge tags and whitespace."""
    return MERGE_TAG.search(value) is not None and not MERGE_TAG.sub("", value).strip()


def blank_unfilled_merge_tags(answers: Mapping[str, Sequence[str]]) -> tuple[dict[str, list[str]], list[str]]:
    """Replace every answer value that is an unexpanded merge tag with "", so it counts as empty.

    Returns the new answers and the names of the fields that had such a value.
    """
    blanked: dict[str, list[str]] = {}
    names: list[str] = []
    for name, values in answers.items():
        blanked[name] = ["" if is_unfilled_merge_tag(value) else value for value in values]
        if blanked[name] != list(values):
            names.append(name)
    return blanked, names
