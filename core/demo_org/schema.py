"""The sObjects and fields the demo org knows, and their describe output.

Field lengths follow the Salesforce Object Reference for Lead and Event; Contact
lengths are taken to match Lead's, which Salesforce does not state in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STRING_TYPES = frozenset({"string", "email", "phone", "textarea", "picklist", "combobox", "url"})


@dataclass(frozen=True)
class FieldSpec:
    """One field of an sObject as describe reports it."""

    name: str
    type: str
    label: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    reference_to: tuple[str, ...] = ()
    required: bool = False

    @property
    def relationship_name(self) -> str | None:
        """Return the relationship name of a reference field (``OwnerId`` -> ``Owner``)."""
        if self.type != "reference" or not self.name.endswith("Id"):
            return None
        return self.name[:-2]

    def describe(self) -> dict[str, Any]:
        """Return the field as GET /sobjects/{type}/describe lists it."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "length": self.length,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "polymorphicForeignKey": len(self.reference_to) > 1,
        }


@dataclass(frozen=True)
class ObjectSpec:
    """One sObject: its key prefix, its fields, and whether the REST API may create records of it."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: dict[str, FieldSpec]
    createable: bool = True
    # Fields from which the read-only compound Name is built (first name first, as the en_US locale shows it).
    name_parts: tuple[str, ...] = ()
    _lower: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._lower.update({name.lower(): name for name in self.fields})

    def get_field(self, name: str) -> FieldSpec | None:
        """Return the field named `name`, matched case-insensitively like SOQL and DML do."""
        canonical = self._lower.get(name.lower())
        return self.fields[canonical] if canonical else None

    def relationship(self, name: str) -> FieldSpec | None:
        """Return the reference field whose relationship name is `name` (case-insensitive)."""
        for spec in self.fields.values():
            if spec.relationship_name and spec.relationship_name.lower() == name.lower():
                return spec
        return None

    def describe(self) -> dict[str, Any]:
        """Return the object as GET /sobjects/{type}/describe does, without the URLs."""
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix,
            "createable": self.createable,
            "updateable": self.createable,
            "deletable": self.createable,
            "queryable": True,
            "custom": False,
            "fields": [spec.describe() for spec in self.fields.values()],
        }


def _system_fields() -> list[FieldSpec]:
    return [
        FieldSpec("Id", "id", "Record ID", 18, nillable=False, createable=False, updateable=False),
        FieldSpec("IsDeleted", "boolean", "Deleted", nillable=False, createable=False, updateable=False),
        FieldSpec("CreatedDate", "datetime", "Created Date", nillable=False, createable=False, updateable=False),
        FieldSpec("CreatedById", "reference", "Created By ID", 18, False, False, False, ("User",)),
        FieldSpec("LastModifiedDate", "datetime", "Last Modified Date", nillable=False, createable=False, updateable=False),
        FieldSpec("LastModifiedById", "reference", "Last Modified By ID", 18, False, False, False, ("User",)),
    ]


def _string(name: str, label: str, length: int, *, kind: str = "string", required: bool = False) -> FieldSpec:
    return FieldSpec(name, kind, label, length, nillable=not required, required=required)


def _read_only(name: str, kind: str, label: str, length: int = 0, reference_to: tuple[str, ...] = ()) -> FieldSpec:
    return FieldSpec(name, kind, label, length, createable=False, updateable=False, reference_to=reference_to)


def _reference(name: str, label: str, *targets: str) -> FieldSpec:
    return FieldSpec(name, "reference", label, 18, reference_to=targets)


def _object(name: str, label: str, plural: str, prefix: str, fields: list[FieldSpec], **options: Any) -> ObjectSpec:
    all_fields = {spec.name: spec for spec in [*_system_fields(), *fields]}
    return ObjectSpec(name, label, plural, prefix, all_fields, **options)


OBJECTS: dict[str, ObjectSpec] = {
    spec.name: spec
    for spec in [
        _object(
            "User", "User", "Users", "005",
            [
                _string("Username", "Username", 80, required=True),
                _string("LastName", "Last Name", 80, required=True),
                _string("FirstName", "First Name", 40),
                _read_only("Name", "string", "Full Name", 121),
                _string("Alias", "Alias", 8),
                _string("Email", "Email", 128, kind="email", required=True),
                FieldSpec("IsActive", "boolean", "Active", nillable=False),
                _reference("ProfileId", "Profile ID", "Profile"),
                _string("Title", "Title", 80),
                _string("TimeZoneSidKey", "Time Zone", 40, kind="picklist"),
                _string("LocaleSidKey", "Locale", 40, kind="picklist"),
                _string("LanguageLocaleKey", "Language", 40, kind="picklist"),
                _read_only("UserType", "picklist", "User Type", 40),
            ],
            createable=False, name_parts=("FirstName", "LastName"),
        ),
        _object("Profile", "Profile", "Profiles", "00e", [_string("Name", "Name", 255, required=True)], createable=False),
        _object(
            "Group", "Group", "Groups", "00G",
            [
                _string("Name", "Name", 40, required=True),
                _string("DeveloperName", "Developer Name", 80),
                _string("Type", "Type", 40, kind="picklist"),
                _string("Email", "Email", 255, kind="email"),
            ],
            createable=False,
        ),
        _object(
            "RecordType", "Record Type", "Record Types", "012",
            [
                _string("Name", "Name", 80, required=True),
                _string("DeveloperName", "Record Type Name", 80),
                _string("SobjectType", "SObject Type Name", 40, kind="picklist"),
                _read_only("IsPersonType", "boolean", "Is Person Type"),
                FieldSpec("IsActive", "boolean", "Active", nillable=False),
            ],
            createable=False,
        ),
        _object(
            "AssignmentRule", "Assignment Rule", "Assignment Rules", "01Q",
            [
                _string("Name", "Name", 120, required=True),
                _string("SobjectType", "SObject Type", 40, kind="picklist"),
                FieldSpec("Active", "boolean", "Active", nillable=False),
            ],
            createable=False,
        ),
        _object(
            "Account", "Account", "Accounts", "001",
            [
                _string("Name", "Account Name", 255, required=True),
                _reference("OwnerId", "Owner ID", "User"),
                _string("Phone", "Account Phone", 40, kind="phone"),
                _string("Website", "Website", 255, kind="url"),
                _string("Industry", "Industry", 255, kind="picklist"),
                _string("Description", "Account Description", 32000, kind="textarea"),
                _reference("RecordTypeId", "Record Type ID", "RecordType"),
                _read_only("IsPersonAccount", "boolean", "Is Person Account"),
                _read_only("PersonContactId", "reference", "Person Contact ID", 18, ("Contact",)),
                _string("FirstName", "First Name", 40),
                _string("LastName", "Last Name", 80),
                _string("PersonEmail", "Email", 80, kind="email"),
                _string("PersonMobilePhone", "Mobile", 40, kind="phone"),
            ],
        ),
        _object(
            "Contact", "Contact", "Contacts", "003",
            [
                _string("LastName", "Last Name", 80, required=True),
                _string("FirstName", "First Name", 40),
                _read_only("Name", "string", "Full Name", 121),
                _string("Email", "Email", 80, kind="email"),
                _string("Phone", "Business Phone", 40, kind="phone"),
                _string("MobilePhone", "Mobile Phone", 40, kind="phone"),
                _string("Title", "Title", 128),
                _reference("AccountId", "Account ID", "Account"),
                _reference("OwnerId", "Owner ID", "User"),
                _string("LeadSource", "Lead Source", 255, kind="picklist"),
                _string("Description", "Contact Description", 32000, kind="textarea"),
                _read_only("IsPersonAccount", "boolean", "Is Person Account"),
            ],
            name_parts=("FirstName", "LastName"),
        ),
        _object(
            "Lead", "Lead", "Leads", "00Q",
            [
                _string("LastName", "Last Name", 80, required=True),
                _string("FirstName", "First Name", 40),
                _read_only("Name", "string", "Full Name", 121),
                _string("Company", "Company", 255, required=True),
                _string("Email", "Email", 80, kind="email"),
                _string("Phone", "Phone", 40, kind="phone"),
                _string("MobilePhone", "Mobile Phone", 40, kind="phone"),
                _string("Title", "Title", 128),
                _string("Website", "Website", 255, kind="url"),
                _string("LeadSource", "Lead Source", 255, kind="picklist"),
                _string("Status", "Status", 255, kind="picklist"),
                _string("Description", "Description", 32000, kind="textarea"),
                _reference("OwnerId", "Owner ID", "Group", "User"),
                _read_only("IsConverted", "boolean", "Converted"),
                _read_only("ConvertedDate", "date", "Converted Date"),
                _read_only("ConvertedAccountId", "reference", "Converted Account ID", 18, ("Account",)),
                _read_only("ConvertedContactId", "reference", "Converted Contact ID", 18, ("Contact",)),
            ],
            name_parts=("FirstName", "LastName"),
        ),
        _object(
            "Event", "Event", "Events", "00U",
            [
                _string("Subject", "Subject", 255, kind="combobox"),
                FieldSpec("StartDateTime", "datetime", "Start"),
                FieldSpec("EndDateTime", "datetime", "End"),
                FieldSpec("ActivityDateTime", "datetime", "Due Date Time"),
                FieldSpec("ActivityDate", "date", "Due Date Only"),
                FieldSpec("DurationInMinutes", "int", "Duration"),
                FieldSpec("IsAllDayEvent", "boolean", "All-Day Event", nillable=False),
                _reference("WhoId", "Name ID", "Contact", "Lead"),
                _reference("WhatId", "Related To ID", "Account"),
                _reference("OwnerId", "Assigned To ID", "User"),
                _string("Location", "Location", 255),
                _string("Description", "Description", 32000, kind="textarea"),
                _string("ShowAs", "Show Time As", 40, kind="picklist"),
                _string("Type", "Type", 40, kind="picklist"),
            ],
        ),
    ]
}

# Fields reachable through a polymorphic relationship such as Owner or Who live on
# the "Name" entity, not on the target object. For a queue owner, the user fields are null.
NAME_ENTITY = ObjectSpec(
    "Name", "Name", "Names", "",
    {
        spec.name: spec
        for spec in [
            _read_only("Id", "id", "Record ID", 18),
            _read_only("Name", "string", "Name", 255),
            _read_only("Type", "picklist", "Object Type", 40),
            _read_only("FirstName", "string", "First Name", 40),
            _read_only("LastName", "string", "Last Name", 80),
            _read_only("Alias", "string", "Alias", 8),
            _read_only("Email", "email", "Email", 128),
            _read_only("IsActive", "boolean", "Active"),
            _read_only("Title", "string", "Title", 80),
            _read_only("Username", "string", "Username", 80),
        ]
    },
    createable=False,
)

_OBJECTS_LOWER = {name.lower(): spec for name, spec in OBJECTS.items()}
_OBJECTS_BY_PREFIX = {spec.key_prefix: spec for spec in OBJECTS.values()}


def find_object(name: str) -> ObjectSpec | None:
    """Return the sObject named `name` (case-insensitive), or None when the demo org has no such object."""
    return _OBJECTS_LOWER.get(name.lower())


def object_for_id(record_id: str) -> ObjectSpec | None:
    """Return the sObject whose key prefix starts `record_id`."""
    return _OBJECTS_BY_PREFIX.get(record_id[:3])
