"""Account Engagement (formerly Pardot) API v5: the client, setup checks, the forms cache and prospect lookup.

Account Engagement is reached with the team's Salesforce access token, which
must carry the pardot_api scope, and the business unit's ID in the
Pardot-Business-Unit-Id header.
"""

from core.pardot.client import PardotClient
from core.pardot.errors import (
    BusinessUnitError,
    ConcurrencyLimitError,
    DailyLimitError,
    NotSetUpError,
    PardotAuthenticationError,
    PardotError,
    PardotNotFoundError,
    PardotServerError,
)
from core.pardot.forms import CachedForm, answer_name, list_cached_forms, refresh_forms
from core.pardot.prospects import find_prospect_by_email, prospect_answers
from core.pardot.setup import (
    BUSINESS_UNIT_PATTERN,
    PARDOT_SCOPE,
    SCOPES_WITH_ACCOUNT_ENGAGEMENT,
    BusinessUnitIdError,
    BusinessUnitSettings,
    Environment,
    Prerequisite,
    PrerequisiteCheck,
    PrerequisiteReport,
    base_url_for,
    check_prerequisites,
    load_business_unit,
    open_pardot_client,
    save_business_unit,
    validate_business_unit_id,
)

__all__ = [
    "BUSINESS_UNIT_PATTERN",
    "PARDOT_SCOPE",
    "SCOPES_WITH_ACCOUNT_ENGAGEMENT",
    "BusinessUnitError",
    "BusinessUnitIdError",
    "BusinessUnitSettings",
    "CachedForm",
    "ConcurrencyLimitError",
    "DailyLimitError",
    "Environment",
    "NotSetUpError",
    "PardotAuthenticationError",
    "PardotClient",
    "PardotError",
    "PardotNotFoundError",
    "PardotServerError",
    "Prerequisite",
    "PrerequisiteCheck",
    "PrerequisiteReport",
    "answer_name",
    "base_url_for",
    "check_prerequisites",
    "find_prospect_by_email",
    "list_cached_forms",
    "load_business_unit",
    "open_pardot_client",
    "prospect_answers",
    "refresh_forms",
    "save_business_unit",
    "validate_business_unit_id",
]
