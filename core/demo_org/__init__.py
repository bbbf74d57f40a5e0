"""A built-in demo Salesforce org: the OAuth, REST, SOQL and composite surfaces the product uses, over real HTTP.

Serve ``create_demo_org_app(path)`` with any ASGI server, standalone or mounted under a
prefix such as ``/demo-org``; the seed data and its ids are listed in ``core.demo_org.seed``.
"""

from core.demo_org.app import create_demo_org_app
from core.demo_org.browser import approve_authorization
from core.demo_org.constants import (
    DEMO_API_VERSION,
    DEMO_APP_NAME,
    DEMO_BUSINESS_UNIT_ID,
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_ORG_ID,
    DEMO_USERNAME,
)

__all__ = [
    "DEMO_API_VERSION",
    "DEMO_APP_NAME",
    "DEMO_BUSINESS_UNIT_ID",
    "DEMO_CONSUMER_KEY",
    "DEMO_CONSUMER_SECRET",
    "DEMO_ORG_ID",
    "DEMO_USERNAME",
    "approve_authorization",
    "create_demo_org_app",
]
