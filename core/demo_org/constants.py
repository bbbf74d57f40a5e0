"""Fixed names and credentials of the demo org, shared by its modules and by tests."""

from __future__ import annotations

# The demo org is public by design: these credentials only open the demo org
# that runs inside this process, never a real Salesforce org.
DEMO_CONSUMER_KEY = "3MVG9DemoBookingConsoleConsumerKey0000000000000000000000000000000000000000000000"
DEMO_CONSUMER_SECRET = "DEMO0000000000000000000000000000000000000000000000000000000000000001"
DEMO_APP_NAME = "Demo Booking Console"

DEMO_ORG_ID = "00D8d0000000001EAA"
DEMO_ORG_NAME = "Demo Org"
DEMO_API_VERSION = "66.0"
DEMO_USERNAME = "admin@demo-org.example"

# The Account Engagement business unit of the demo org; DEMO_USERNAME may use it.
DEMO_BUSINESS_UNIT_ID = "0Uv8d0000000001CAA"

# Daily API request allocation of a Developer Edition org.
DAILY_API_MAX = 15000

# API versions listed by GET /services/data/, oldest first, with their release labels.
API_VERSIONS: tuple[tuple[str, str], ...] = (
    ("62.0", "Winter '25"),
    ("63.0", "Spring '25"),
    ("64.0", "Summer '25"),
    ("65.0", "Winter '26"),
    ("66.0", "Spring '26"),
)
