"""Routing rule models: conditions, rules and the ordered rule set a team stores.

The models are frozen pydantic models, so they round-trip through JSON with
``model_dump_json`` and ``model_validate_json``. The editing helpers on RuleSet
return a new RuleSet and leave the original unchanged.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.routing.errors import RuleNotFoundError, StaleRulesError

RULE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,40}$"
COPY_SUFFIX = " (copy)"


class Operator(StrEnum):
    """The comparison a condition makes between a form answer and its value."""

    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    IS_ONE_OF = "is_one_of"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"
    GREATER_THAN = "greater_than"
    LESS_THAN = "less_than"


class Join(StrEnum):
    """The combination of a rule's conditions: all must be true (AND) or any (OR)."""

    ALL = "all"
    ANY = "any"


VALUELESS_OPERATORS = frozenset({Operator.IS_EMPTY, Operator.IS_NOT_EMPTY})
LIST_OPERATORS = frozenset({Operator.IS_ONE_OF})
NUMERIC_OPERATORS = frozenset({Operator.GREATER_THAN, Operator.LESS_THAN})


def new_rule_id() -> str:
    """Generate a short random rule id (8 hex characters)."""
    return secrets.token_hex(4)


class Condition(BaseModel):
    """One test on one form field.

    ``value`` is a list of strings for is_one_of, None for is_empty and
    is_not_empty, and a string otherwise. A value given to is_empty or
    is_not_empty is dropped. A missing or blank value is allowed here so an
    unfinished rule can be stored as a draft; validate() reports it.

    Raises pydantic.ValidationError when the value has the wrong shape for the
    operator (a list for equals, a string for is_one_of).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    operator: Operator
    value: str | list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_unused_value(cls, data: Any) -> Any:
        # A page that switches a condition from equals to is_empty may still send the old value.
        if isinstance(data, dict) and data.get("operator") in VALUELESS_OPERATORS:
            return {**data, "value": None}
        return data

    @model_validator(mode="after")
    def _check_value_shape(self) -> Condition:
        if self.operator in LIST_OPERATORS and isinstance(self.value, str):
            raise ValueError(f"operator {self.operator.value} takes a list of strings, got the string {self.value!r}")
        if self.operator not in LIST_OPERATORS and isinstance(self.value, list):
            raise ValueError(f"operator {self.operator.value} takes one string, got a list of {len(self.value)}")
        return self


class Rule(BaseModel):
    """A named group of conditions that sends a visitor to one booking page."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=new_rule_id, pattern=RULE_ID_PATTERN)
    name: str = ""
    conditions: list[Condition] = Field(default_factory=list)
    join: Join = Join.ALL
    # None only in drafts: validate() reports a rule without a target.
    target_page_id: int | None = None
    enabled: bool = True


class RuleSet(BaseModel):
    """The ordered routing rules of one form, checked top to bottom.

    ``version`` is the stored version this copy was loaded from. The store
    increments it on every save and compares it with check_version first.

    Raises pydantic.ValidationError when two rules share an id.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 0
    rules: list[Rule] = Field(default_factory=list)
    fallback_page_id: int | None = None

    @model_validator(mode="after")
    def _check_unique_ids(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used by more than one rule; give each rule its own id")
            seen.add(rule.id)
        return self

    def index_of(self, rule_id: str) -> int:
        """Return the position of the rule with rule_id.

        Raises RuleNotFoundError when no rule has that id.
        """
        for index, rule in enumerate(self.rules):
            if rule.id == rule_id:
                return index
        raise RuleNotFoundError(rule_id)

    def get_rule(self, rule_id: str) -> Rule:
        """Return the rule with rule_id; raises RuleNotFoundError when absent."""
        return self.rules[self.index_of(rule_id)]

    def add_rule(self, rule: Rule) -> RuleSet:
        """Append rule at the end, so it is checked last."""
        return self._with_rules([*self.rules, rule])

    def replace_rule(self, rule: Rule) -> RuleSet:
        """Put rule in place of the rule with the same id, keeping its position."""
        index = self.index_of(rule.id)
        rules = list(self.rules)
        rules[index] = rule
        return self._with_rules(rules)

    def remove_rule(self, rule_id: str) -> RuleSet:
        """Drop the rule with rule_id."""
        index = self.index_of(rule_id)
        return self._with_rules(self.rules[:index] + self.rules[index + 1 :])

    def move_rule(self, rule_id: str, to_index: int) -> RuleSet:
        """Move the rule with rule_id to position to_index (0 is checked first).

        Raises IndexError when to_index is outside 0..len(rules) - 1.
        """
        if not 0 <= to_index < len(self.rules):
            raise IndexError(
                f"cannot move rule {rule_id!r} to position {to_index}: "
                f"valid positions are 0 to {len(self.rules) - 1}"
            )

        index = self.index_of(rule_id)
        rules = list(self.rules)
        rules.insert(to_index, rules.pop(index))
        return self._with_rules(rules)

    def move_up(self, rule_id: str) -> RuleSet:
        """Move the rule one place earlier; the first rule stays where it is."""
        return self.move_rule(rule_id, max(self.index_of(rule_id) - 1, 0))

    def move_down(self, rule_id: str) -> RuleSet:
        """Move the rule one place later; the last rule stays where it is."""
        return self.move_rule(rule_id, min(self.index_of(rule_id) + 1, len(self.rules) - 1))

    def duplicate(self, rule_id: str, *, name_suffix: str = COPY_SUFFIX) -> RuleSet:
        """Insert a copy of the rule right after it, with a new id and name_suffix added to its name.

        The page passes a translated name_suffix; the default is English.
        """
        index = self.index_of(rule_id)
        original = self.rules[index]
        copy = original.model_copy(update={"id": self._unused_rule_id(), "name": original.name + name_suffix})
        return self._with_rules([*self.rules[: index + 1], copy, *self.rules[index + 1 :]])

    def set_enabled(self, rule_id: str, enabled: bool) -> RuleSet:
        """Turn the rule with rule_id on or off; a disabled rule never matches."""
        rule = self.get_rule(rule_id)
        return self.replace_rule(rule.model_copy(update={"enabled": enabled}))

    def enable(self, rule_id: str) -> RuleSet:
        """Turn the rule with rule_id on."""
        return self.set_enabled(rule_id, True)

    def disable(self, rule_id: str) -> RuleSet:
        """Turn the rule with rule_id off."""
        return self.set_enabled(rule_id, False)

    def _with_rules(self, rules: list[Rule]) -> RuleSet:
        return RuleSet(version=self.version, rules=rules, fallback_page_id=self.fallback_page_id)

    def _unused_rule_id(self) -> str:
        used_ids = {rule.id for rule in self.rules}
        while True:
            candidate = new_rule_id()
            if candidate not in used_ids:
                return candidate


def check_version(stored_version: int, submitted_version: int) -> None:
    """Check that an edit was made on the stored version of the rules.

    Call it before saving, with the version in the store and the version the
    editor loaded. Raises StaleRulesError when they differ.
    """
    if stored_version != submitted_version:
        raise StaleRulesError(stored_version, submitted_version)
