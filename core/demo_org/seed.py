"""Seed data of the demo org: the same records, with the same ids, after every start or reset.

Users (005):
    0058d0000000001AAA  Demo Admin, admin@demo-org.example, System Administrator; approves OAuth requests
    0058d0000000002AAA  Hanako Sato, hanako.sato@demo-org.example, active
    0058d0000000003AAA  Ken Suzuki, ken.suzuki@demo-org.example, active
    0058d0000000004AAA  Old Timer, old.timer@demo-org.example, inactive
Profiles (00e): 00e8d0000000001AAA System Administrator, 00e8d0000000002AAA Standard User
Queue (Group, Type 'Queue', 00G): 00G8d0000000001EAA Inbound Leads
Record type (012): 0128d0000000001AAA PersonAccount (Account, IsPersonType = true)
Assignment rule (01Q): 01Q8d0000000001EAA "Demo lead assignment", active; Email ending in .jp or
    .co.jp -> Hanako Sato, every other Lead -> the Inbound Leads queue
Accounts (001):
    0018d0000000001AAA  Acme Corporation, owner Ken Suzuki
    0018d0000000002AAA  Sakura Trading, owner Hanako Sato
    0018d0000000003AAA  Pat Customer, person account, PersonEmail person.customer@example.com
Contacts (003):
    0038d0000000001AAA  John Doe <john.doe@example.com>, Acme Corporation, owner Ken Suzuki
    0038d0000000002AAA  鈴木 一郎 <ichiro.suzuki@sakura-trading.example>, Sakura Trading
    0038d0000000003AAA  Pat Customer <person.customer@example.com>, the person account's contact
    0038d0000000004AAA  Shared Contact <shared@example.com>, Acme Corporation
Leads (00Q):
    00Q8d0000000001EAA  Jane Roe <jane.roe@example.net>, owner Hanako Sato
    00Q8d0000000002EAA  Quinn Queue <queue.lead@example.org>, owned by the Inbound Leads queue
    00Q8d0000000003EAA  Sam Shared <shared@example.com>, the same email as Shared Contact
    00Q8d0000000004EAA  Olga Old <old.lead@example.com>, converted into John Doe
    00Q8d0000000005EAA  Dana Dup <dup.lead@example.com>, last modified 2026-01-10
    00Q8d0000000006EAA  Dana Dup <dup.lead@example.com>, last modified 2026-03-01
Events (00U):
    00U8d0000000001EAA  "Kickoff call" with John Doe on Acme Corporation, owner Ken Suzuki

Account Engagement (served under /pardot, stored as records of the pardot.* kinds below):
Business units (0Uv):
    0Uv8d0000000001CAA  Demo Business Unit, open to Demo Admin
    0Uv8d0000000002CAA  Partner Business Unit, open to no demo user (calls get error 184)
Forms in the Demo Business Unit:
    1001  Demo request JP   email, first_name, last_name, company, employees, country, interest
    1002  Contact us EN     email, first_name, last_name, company, country
    1003  Webinar signup    email, first_name, last_name
Prospects: 3001 Taro Yamada (Japan, 1200 employees), 3002 Emily Clark (United States, 45),
    3003 Hans Müller (Germany, 300), 3004 Priya Sharma (India, 8), 3005 Lucas Silva (Brazil, 5000),
    3006 an older prospect with Taro Yamada's email, updated before 3001
"""

from __future__ import annotations

from typing import Any

from core.demo_org import assignment
from core.demo_org.constants import (
    DEMO_APP_NAME,
    DEMO_BUSINESS_UNIT_ID,
    DEMO_CONSUMER_KEY,
    DEMO_CONSUMER_SECRET,
    DEMO_USERNAME,
)
from core.demo_org.schema import OBJECTS
from core.demo_org.store import ClientApp, Store

ADMIN_ID = "0058d0000000001AAA"
HANAKO_ID = "0058d0000000002AAA"
KEN_ID = "0058d0000000003AAA"
OLD_TIMER_ID = "0058d0000000004AAA"
SYSADMIN_PROFILE_ID = "00e8d0000000001AAA"
STANDARD_PROFILE_ID = "00e8d0000000002AAA"
INBOUND_QUEUE_ID = "00G8d0000000001EAA"
PERSON_ACCOUNT_RECORD_TYPE_ID = "0128d0000000001AAA"
LEAD_RULE_ID = "01Q8d0000000001EAA"
ACME_ID = "0018d0000000001AAA"
SAKURA_ID = "0018d0000000002AAA"
PERSON_ACCOUNT_ID = "0018d0000000003AAA"
JOHN_DOE_ID = "0038d0000000001AAA"
ICHIRO_ID = "0038d0000000002AAA"
PERSON_CONTACT_ID = "0038d0000000003AAA"
SHARED_CONTACT_ID = "0038d0000000004AAA"
JANE_ROE_ID = "00Q8d0000000001EAA"
QUEUE_LEAD_ID = "00Q8d0000000002EAA"
SHARED_LEAD_ID = "00Q8d0000000003EAA"
CONVERTED_LEAD_ID = "00Q8d0000000004EAA"
DUP_LEAD_OLDER_ID = "00Q8d0000000005EAA"
DUP_LEAD_NEWER_ID = "00Q8d0000000006EAA"
KICKOFF_EVENT_ID = "00U8d0000000001EAA"
NO_ACCESS_BUSINESS_UNIT_ID = "0Uv8d0000000002CAA"

# Kinds of the Account Engagement objects in the records table; no sObject has a dot in its name.
PARDOT_BUSINESS_UNIT = "pardot.BusinessUnit"
PARDOT_FORM = "pardot.Form"
PARDOT_FORM_FIELD = "pardot.FormField"
PARDOT_PROSPECT = "pardot.Prospect"

APP_SCOPES = ("api", "refresh_token", "offline_access", "id", "openid", "profile", "email", "web", "pardot_api")

_SEEDED_AT = "2026-01-05T00:00:00.000+0000"


def register_app(store: Store, callback_urls: tuple[str, ...]) -> None:
    """Create or update the External Client App with the demo consumer key, secret and `callback_urls`."""
    store.save_app(ClientApp(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, DEMO_APP_NAME, callback_urls, APP_SCOPES))


def seed_records(store: Store) -> None:
    """Replace every record and counter with the seed data; OAuth tokens and the app stay as they are."""
    with store.transaction():
        store.wipe_records()
        _seed_setup(store)
        _seed_accounts_and_contacts(store)
        _seed_leads(store)
        _insert(store, "Event", KICKOFF_EVENT_ID, {
            "Subject": "Kickoff call", "StartDateTime": "2026-02-02T01:00:00.000+0000",
            "EndDateTime": "2026-02-02T01:30:00.000+0000", "ActivityDateTime": "2026-02-02T01:00:00.000+0000",
            "ActivityDate": "2026-02-02", "DurationInMinutes": 30, "IsAllDayEvent": False, "ShowAs": "Busy",
            "WhoId": JOHN_DOE_ID, "WhatId": ACME_ID, "OwnerId": KEN_ID,
        })
        seed_account_engagement(store)


def _insert(store: Store, sobject: str, record_id: str, fields: dict[str, Any], *, modified: str = _SEEDED_AT) -> None:
    spec = OBJECTS[sobject]
    record = {name: None for name in spec.fields}
    record.update(
        Id=record_id, IsDeleted=False, CreatedDate=_SEEDED_AT, CreatedById=ADMIN_ID,
        LastModifiedDate=modified, LastModifiedById=ADMIN_ID,
    )
    record.update(fields)
    if spec.name_parts:
        record["Name"] = " ".join(record[part] for part in spec.name_parts if record.get(part))
    unknown = set(record) - set(spec.fields)
    if unknown:
        raise ValueError(f"seed record {record_id} has fields {sorted(unknown)} that {sobject} does not define")
    store.insert_record(sobject, record_id, record)


def _user(store: Store, record_id: str, first: str, last: str, email: str, *, active: bool = True,
          profile: str = STANDARD_PROFILE_ID, username: str | None = None) -> None:
    _insert(store, "User", record_id, {
        "Username": username or email, "FirstName": first, "LastName": last, "Email": email, "IsActive": active,
        "Alias": (first[:1] + last[:4]).lower(), "ProfileId": profile, "TimeZoneSidKey": "Asia/Tokyo",
        "LocaleSidKey": "en_US", "LanguageLocaleKey": "en_US", "UserType": "Standard",
    })


def _seed_setup(store: Store) -> None:
    _insert(store, "Profile", SYSADMIN_PROFILE_ID, {"Name": "System Administrator"})
    _insert(store, "Profile", STANDARD_PROFILE_ID, {"Name": "Standard User"})
    _user(store, ADMIN_ID, "Demo", "Admin", "admin@demo-org.example", profile=SYSADMIN_PROFILE_ID, username=DEMO_USERNAME)
    _user(store, HANAKO_ID, "Hanako", "Sato", "hanako.sato@demo-org.example")
    _user(store, KEN_ID, "Ken", "Suzuki", "ken.suzuki@demo-org.example")
    _user(store, OLD_TIMER_ID, "Old", "Timer", "old.timer@demo-org.example", active=False)
    _insert(store, "Group", INBOUND_QUEUE_ID, {"Name": "Inbound Leads", "DeveloperName": "Inbound_Leads", "Type": "Queue"})
    _insert(store, "RecordType", PERSON_ACCOUNT_RECORD_TYPE_ID, {
        "Name": "Person Account", "DeveloperName": "PersonAccount", "SobjectType": "Account",
        "IsPersonType": True, "IsActive": True,
    })
    _insert(store, "AssignmentRule", LEAD_RULE_ID, {"Name": "Demo lead assignment", "SobjectType": "Lead", "Active": True})
    assignment.save_rule_entries(store, LEAD_RULE_ID, [
        {"email_suffixes": [".jp", ".co.jp"], "owner_id": HANAKO_ID},
        {"email_suffixes": None, "owner_id": INBOUND_QUEUE_ID},
    ])


def _seed_accounts_and_contacts(store: Store) -> None:
    _insert(store, "Account", ACME_ID, {"Name": "Acme Corporation", "OwnerId": KEN_ID, "IsPersonAccount": False})
    _insert(store, "Account", SAKURA_ID, {"Name": "Sakura Trading", "OwnerId": HANAKO_ID, "IsPersonAccount": False})
    _insert(store, "Account", PERSON_ACCOUNT_ID, {
        "Name": "Pat Customer", "FirstName": "Pat", "LastName": "Customer", "OwnerId": ADMIN_ID,
        "RecordTypeId": PERSON_ACCOUNT_RECORD_TYPE_ID, "IsPersonAccount": True, "PersonContactId": PERSON_CONTACT_ID,
        "PersonEmail": "person.customer@example.com",
    })

    _insert(store, "Contact", JOHN_DOE_ID, {
        "FirstName": "John", "LastName": "Doe", "Email": "john.doe@example.com", "AccountId": ACME_ID,
        "OwnerId": KEN_ID, "IsPersonAccount": False,
    })
    _insert(store, "Contact", ICHIRO_ID, {
        "FirstName": "一郎", "LastName": "鈴木", "Email": "ichiro.suzuki@sakura-trading.example", "AccountId": SAKURA_ID,
        "OwnerId": HANAKO_ID, "IsPersonAccount": False,
    })
    _insert(store, "Contact", PERSON_CONTACT_ID, {
        "FirstName": "Pat", "LastName": "Customer", "Email": "person.customer@example.com",
        "AccountId": PERSON_ACCOUNT_ID, "OwnerId": ADMIN_ID, "IsPersonAccount": True,
    })
    _insert(store, "Contact", SHARED_CONTACT_ID, {
        "FirstName": "Shared", "LastName": "Contact", "Email": "shared@example.com", "AccountId": ACME_ID,
        "OwnerId": KEN_ID, "IsPersonAccount": False,
    })


def _seed_leads(store: Store) -> None:
    def lead(record_id: str, first: str, last: str, company: str, email: str, owner: str, **extra: Any) -> None:
        modified = extra.pop("modified", _SEEDED_AT)
        fields = {
            "FirstName": first, "LastName": last, "Company": company, "Email": email, "OwnerId": owner,
            "Status": "Open - Not Contacted", "IsConverted": False, **extra,
        }
        _insert(store, "Lead", record_id, fields, modified=modified)

    lead(JANE_ROE_ID, "Jane", "Roe", "Roe Consulting", "jane.roe@example.net", HANAKO_ID)
    lead(QUEUE_LEAD_ID, "Quinn", "Queue", "Queue Works", "queue.lead@example.org", INBOUND_QUEUE_ID)
    lead(SHARED_LEAD_ID, "Sam", "Shared", "Shared Ltd", "shared@example.com", ADMIN_ID)
    lead(
        CONVERTED_LEAD_ID, "Olga", "Old", "Acme Corporation", "old.lead@example.com", KEN_ID,
        Status="Closed - Converted", IsConverted=True, ConvertedDate="2026-01-20",
        ConvertedContactId=JOHN_DOE_ID, ConvertedAccountId=ACME_ID,
    )
    lead(DUP_LEAD_OLDER_ID, "Dana", "Dup", "Dup Industries", "dup.lead@example.com", ADMIN_ID,
         modified="2026-01-10T00:00:00.000+0000")
    lead(DUP_LEAD_NEWER_ID, "Dana", "Dup", "Dup Industries", "dup.lead@example.com", ADMIN_ID,
         modified="2026-03-01T00:00:00.000+0000")


# Account Engagement

_PARDOT_SEEDED_AT = "2026-01-05T09:00:00+09:00"

# Form field: (v5 prospect field, label, data format, required).
_FORM_FIELDS = {
    "email": ("email", "Email", "email", True),
    "first_name": ("firstName", "First Name", "text", True),
    "last_name": ("lastName", "Last Name", "text", True),
    "company": ("company", "Company", "text", False),
    "employees": ("employees", "Employees", "number", False),
    "country": ("country", "Country", "text", False),
    "interest": ("interest", "Interest", "text", False),
}


def pardot_record_id(kind: str, object_id: int | str) -> str:
    """Return the records-table id of an Account Engagement object, such as pardot.Form:1001."""
    return f"{kind}:{object_id}"


def seed_account_engagement(store: Store) -> None:
    """Insert the Account Engagement business units, forms, form fields and prospects."""
    for unit_id, name, user_ids in (
        (DEMO_BUSINESS_UNIT_ID, "Demo Business Unit", [ADMIN_ID]),
        (NO_ACCESS_BUSINESS_UNIT_ID, "Partner Business Unit", []),
    ):
        store.insert_record(PARDOT_BUSINESS_UNIT, pardot_record_id(PARDOT_BUSINESS_UNIT, unit_id),
                            {"id": unit_id, "name": name, "userIds": user_ids})

    field_id = 5001
    forms = (
        (1001, "Demo request JP", ["email", "first_name", "last_name", "company", "employees", "country", "interest"]),
        (1002, "Contact us EN", ["email", "first_name", "last_name", "company", "country"]),
        (1003, "Webinar signup", ["email", "first_name", "last_name"]),
    )
    for form_id, name, field_names in forms:
        store.insert_record(PARDOT_FORM, pardot_record_id(PARDOT_FORM, form_id), {
            "id": form_id, "businessUnitId": DEMO_BUSINESS_UNIT_ID, "name": name, "campaignId": 2001,
            "thankYouContent": "<p>Thank you.</p>", "thankYouCode": "",
            "redirectLocation": "", "isUseRedirectLocation": False,
            "embedCode": f'<iframe src="https://go.demo-org.example/l/1/{form_id}" width="100%" height="500"></iframe>',
            "isDeleted": False, "createdAt": _PARDOT_SEEDED_AT, "updatedAt": _PARDOT_SEEDED_AT,
        })
        for order, field_name in enumerate(field_names):
            api_name, label, data_format, required = _FORM_FIELDS[field_name]
            store.insert_record(PARDOT_FORM_FIELD, pardot_record_id(PARDOT_FORM_FIELD, field_id), {
                "id": field_id, "businessUnitId": DEMO_BUSINESS_UNIT_ID, "formId": form_id,
                "prospectApiFieldId": api_name, "label": label, "type": "Text", "dataFormat": data_format,
                "isRequired": required, "sortOrder": order, "isDeleted": False,
                "createdAt": _PARDOT_SEEDED_AT, "updatedAt": _PARDOT_SEEDED_AT,
            })
            field_id += 1

    prospects = (
        (3001, "Taro", "Yamada", "taro.yamada@example.jp", "Yamada Manufacturing", "Japan", "1200", "demo",
         "2026-03-01T10:00:00+09:00"),
        (3002, "Emily", "Clark", "emily.clark@example.com", "Clark Analytics", "United States", "45", "pricing",
         "2026-02-10T09:30:00+09:00"),
        (3003, "Hans", "Müller", "hans.mueller@example.de", "Müller Logistik GmbH", "Germany", "300", "demo",
         "2026-02-12T17:00:00+09:00"),
        (3004, "Priya", "Sharma", "priya.sharma@example.in", "Sharma Studio", "India", "8", "webinar",
         "2026-02-20T12:00:00+09:00"),
        (3005, "Lucas", "Silva", "lucas.silva@example.com.br", "Silva Varejo", "Brazil", "5000", "partnership",
         "2026-02-25T08:00:00+09:00"),
        (3006, "Taro", "Yamada", "taro.yamada@example.jp", "Yamada Trading", "Japan", "20", "support",
         "2026-01-15T10:00:00+09:00"),
    )
    for prospect_id, first, last, email, company, country, employees, interest, updated in prospects:
        store.insert_record(PARDOT_PROSPECT, pardot_record_id(PARDOT_PROSPECT, prospect_id), {
            "id": prospect_id, "businessUnitId": DEMO_BUSINESS_UNIT_ID, "email": email, "firstName": first,
            "lastName": last, "company": company, "country": country, "employees": employees, "interest": interest,
            "score": 0, "grade": None, "salesforceId": None, "campaignId": 2001, "isDoNotEmail": False,
            "optedOut": False, "isDeleted": False, "createdAt": _PARDOT_SEEDED_AT, "updatedAt": updated,
        })
