"""Checks that a rule set can be saved: every rule complete and pointing at real pages and fields."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.routing.errors import InvalidRuleSetError
from core.routing.rules import LIST_OPERATORS, NUMERIC_OPERATORS, VALUELESS_OPERATORS, Condition, Rule, RuleSet
from core.routing.text import normalize_text, parse_number

PROBLEM_KEY_PREFIX = "routing.problem."

ProblemField = Literal["target", "field", "value", "fallback", "conditions"]


class ProblemCode(StrEnum):
    """The problem code for a rule, which the page translates."""

    MISSING_TARGET = "missing_target"
    UNKNOWN_PAGE = "unknown_page"
    NO_CONDITIONS = "no_conditions"
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    EMPTY_VALUE = "empty_value"
    VALUE_NOT_NUMBER = "value_not_number"


class RuleProblem(BaseModel):
    """One reason a rule set cannot be saved.

    ``rule_id`` is None for a problem with the fallback page. ``condition_index``
    is the position of the condition in its rule, or None when the problem is
    with the rule itself. ``field`` names the input the page should highlight
    (the target page, the condition's field or value, the fallback page, or the
    rule's condition list), not a form field.
    """

    model_config = ConfigDict(frozen=True)

    rule_id: str | None
    condition_index: int | None
    field: ProblemField
    code: ProblemCode
    params: dict[str, str | int] = Field(default_factory=dict)

    @property
    def message_key(self) -> str:
        """The i18n key of the sentence that describes this problem."""
        return PROBLEM_KEY_PREFIX + self.code.value


def validate(rule_set: RuleSet, form_fields: Collection[str], page_ids: Collection[int]) -> list[RuleProblem]:
    """List every problem that keeps rule_set from being saved, in rule order; empty when it is valid.

    form_fields are the form's field names, compared caselessly. page_ids are the
    booking pages a rule may target. Disabled rules are checked too, because
    enabling one must not need another round of fixes.
    """
    known_fields = {normalize_text(name) for name in form_fields}
    known_pages = set(page_ids)

    problems: list[RuleProblem] = []
    for rule in rule_set.rules:
        problems.extend(_check_rule(rule, known_fields, known_pages))

    fallback = rule_set.fallback_page_id
    if fallback is not None and fallback not in known_pages:
        problems.append(_problem(None, None, "fallback", ProblemCode.UNKNOWN_PAGE, {"page_id": fallback}))
    return problems


def ensure_valid(rule_set: RuleSet, form_fields: Collection[str], page_ids: Collection[int]) -> None:
    """Check rule_set as validate() does; raises InvalidRuleSetError listing the problems when there are any."""
    problems = validate(rule_set, form_fields, page_ids)
    if problems:
        raise InvalidRuleSetError(problems)


def _check_rule(rule: Rule, known_fields: set[str], known_pages: set[int]) -> Iterator[RuleProblem]:
    if rule.target_page_id is None:
        yield _problem(rule.id, None, "target", ProblemCode.MISSING_TARGET)
    elif rule.target_page_id not in known_pages:
        yield _problem(rule.id, None, "target", ProblemCode.UNKNOWN_PAGE, {"page_id": rule.target_page_id})

    if not rule.conditions:
        yield _problem(rule.id, None, "conditions", ProblemCode.NO_CONDITIONS)

    for index, condition in enumerate(rule.conditions):
        for field, code, params in _check_condition(condition, known_fields):
            yield _problem(rule.id, index, field, code, params)


def _problem(
    rule_id: str | None,
    condition_index: int | None,
    field: ProblemField,
    code: ProblemCode,
    params: dict[str, str | int] | None = None,
) -> RuleProblem:
    return RuleProblem(
        rule_id=rule_id, condition_index=condition_index, field=field, code=code, params=params or {}
    )


def _check_condition(
    condition: Condition, known_fields: set[str]
) -> Iterator[tuple[ProblemField, ProblemCode, dict[str, str | int]]]:
    field_key = normalize_text(condition.field)
    if not field_key:
        yield "field", ProblemCode.MISSING_FIELD, {}
    elif field_key not in known_fields:
        yield "field", ProblemCode.UNKNOWN_FIELD, {"field": condition.field}

    if condition.operator in VALUELESS_OPERATORS:
        return

    if condition.operator in LIST_OPERATORS:
        yield from _check_list_value(condition.value or [])
        return

    text = condition.value if isinstance(condition.value, str) else ""
    if not normalize_text(text):
        yield "value", ProblemCode.EMPTY_VALUE, {}
    elif condition.operator in NUMERIC_OPERATORS and parse_number(text) is None:
        yield "value", ProblemCode.VALUE_NOT_NUMBER, {"value": text}


def _check_list_value(items: list[str]) -> Iterator[tuple[ProblemField, ProblemCode, dict[str, str | int]]]:
    if not items:
        yield "value", ProblemCode.EMPTY_VALUE, {}
        return

    # A blank choice is most likely an unfinished entry, and it could never match a non-empty answer.
    for position, item in enumerate(items):
        if not normalize_text(item):
            yield "value", ProblemCode.EMPTY_VALUE, {"position": position}
