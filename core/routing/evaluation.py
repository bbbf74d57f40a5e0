"""Evaluation of a rule set against a visitor's form answers, with an explanation.

Text comparisons are caseless and ignore surrounding whitespace and the
difference between full-width and ASCII characters (see normalize_text). A
field that may carry several values, such as a checkbox group, matches when any
of its values matches, except not_equals, which holds only when no value is
equal. A field missing from the answers counts as empty.

Explanations carry the visitor's answers in their params, so they are guest
data: show them to the manager, but do not log them.
"""

from __future__ import annotations

import logging
import operator as compare
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from core.routing.rules import (
    NUMERIC_OPERATORS,
    VALUELESS_OPERATORS,
    Condition,
    Join,
    Operator,
    Rule,
    RuleSet,
)
from core.routing.text import answer_values, normalize_text, parse_number

logger = logging.getLogger(__name__)

Answers = Mapping[str, str | Sequence[str]]

REASON_KEY_PREFIX = "routing.reason."
SKIP_KEY_PREFIX = "routing.skip."


class Reason(StrEnum):
    """The reason code for a condition result, which the page translates."""

    FIELD_MISSING = "field_missing"
    ANSWER_EMPTY = "answer_empty"
    ANSWER_PRESENT = "answer_present"
    MATCHED = "matched"
    NO_MATCH = "no_match"
    NO_VALUE_EQUALS = "no_value_equals"
    VALUE_EQUALS = "value_equals"
    NOT_A_NUMBER = "not_a_number"
    RULE_VALUE_MISSING = "rule_value_missing"
    RULE_VALUE_NOT_A_NUMBER = "rule_value_not_a_number"


# "1200 fits 300" reads like equality, so these reasons have one sentence per operator ("is greater than 300").
OPERATOR_REASONS = frozenset({Reason.MATCHED, Reason.NO_MATCH, Reason.ANSWER_PRESENT})


class RuleStatus(StrEnum):
    """The status of one rule after evaluation."""

    MATCHED = "matched"
    NOT_MATCHED = "not_matched"
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    """The reason a rule was skipped instead of evaluated."""

    DISABLED = "disabled"
    NO_CONDITIONS = "no_conditions"
    MISSING_TARGET = "missing_target"


class ConditionResult(BaseModel):
    """The result of one condition and the reason for it.

    ``params`` fills the placeholders of the message at ``message_key``. It
    always contains ``field``. It contains ``expected`` (the condition value as
    text, list items joined with ", ") when the operator takes a value. It
    contains ``value`` (the answer that decided the result, or all answers joined
    with ", ") when the field had an answer.
    """

    model_config = ConfigDict(frozen=True)

    index: int
    field: str
    operator: Operator
    matched: bool
    reason: Reason
    params: dict[str, str] = Field(default_factory=dict)

    @property
    def message_key(self) -> str:
        """The i18n key of the sentence that explains this result, naming the operator where the reason needs it."""
        if self.reason in OPERATOR_REASONS:
            return f"{REASON_KEY_PREFIX}{self.reason.value}.{self.operator.value}"
        return REASON_KEY_PREFIX + self.reason.value


class RuleExplanation(BaseModel):
    """The outcome of one rule (matched, not matched or skipped) with its condition results."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    rule_name: str
    join: Join
    status: RuleStatus
    skip_reason: SkipReason | None = None
    conditions: list[ConditionResult] = Field(default_factory=list)

    @property
    def skip_message_key(self) -> str | None:
        """The i18n key of the sentence that explains the skip, or None when the rule was evaluated."""
        return None if self.skip_reason is None else SKIP_KEY_PREFIX + self.skip_reason.value


class RoutingDecision(BaseModel):
    """The booking page chosen for one form submission, and why.

    ``explanations`` lists the rules in order up to and including the matched
    rule, or every rule when none matched.
    """

    model_config = ConfigDict(frozen=True)

    matched_rule_id: str | None
    target_page_id: int | None
    used_fallback: bool
    explanations: list[RuleExplanation]


def evaluate(rule_set: RuleSet, answers: Answers) -> RoutingDecision:
    """Choose the booking page for answers: the first matching enabled rule, else the fallback.

    Field names in answers match the condition fields caselessly. Rules that are
    disabled, have no conditions or have no target page are skipped, so an
    unfinished draft never routes anyone.
    """
    answers_by_field = _index_answers(answers)
    explanations: list[RuleExplanation] = []

    for rule in rule_set.rules:
        explanation = _explain_rule(rule, answers_by_field)
        explanations.append(explanation)
        if explanation.status is RuleStatus.MATCHED:
            logger.debug("routing matched rule %s, booking page %s", rule.id, rule.target_page_id)
            return RoutingDecision(
                matched_rule_id=rule.id,
                target_page_id=rule.target_page_id,
                used_fallback=False,
                explanations=explanations,
            )

    used_fallback = rule_set.fallback_page_id is not None
    logger.debug(
        "routing matched no rule of %d, fallback booking page %s", len(rule_set.rules), rule_set.fallback_page_id
    )
    return RoutingDecision(
        matched_rule_id=None,
        target_page_id=rule_set.fallback_page_id,
        used_fallback=used_fallback,
        explanations=explanations,
    )


def evaluate_condition(condition: Condition, answers: Answers, *, index: int = 0) -> ConditionResult:
    """Evaluate one condition against answers, for previews of a single condition."""
    return _evaluate_condition(index, condition, _index_answers(answers))


def _index_answers(answers: Answers) -> dict[str, list[str]]:
    # Keys that differ only in case or width ("Email", "email") pool their values.
    indexed: dict[str, list[str]] = {}
    for name, raw in answers.items():
        indexed.setdefault(normalize_text(name), []).extend(answer_values(raw))
    return indexed


def _explain_rule(rule: Rule, answers_by_field: Mapping[str, list[str]]) -> RuleExplanation:
    skip_reason = _skip_reason(rule)
    if skip_reason is not None:
        return RuleExplanation(
            rule_id=rule.id, rule_name=rule.name, join=rule.join, status=RuleStatus.SKIPPED, skip_reason=skip_reason
        )

    # Every condition is evaluated, without short-circuiting, so the explanation is complete.
    results = [
        _evaluate_condition(index, condition, answers_by_field) for index, condition in enumerate(rule.conditions)
    ]

    combine = all if rule.join is Join.ALL else any
    matched = combine(result.matched for result in results)
    status = RuleStatus.MATCHED if matched else RuleStatus.NOT_MATCHED
    return RuleExplanation(rule_id=rule.id, rule_name=rule.name, join=rule.join, status=status, conditions=results)


def _skip_reason(rule: Rule) -> SkipReason | None:
    if not rule.enabled:
        return SkipReason.DISABLED
    if not rule.conditions:
        return SkipReason.NO_CONDITIONS
    if rule.target_page_id is None:
        return SkipReason.MISSING_TARGET
    return None


def _evaluate_condition(index: int, condition: Condition, answers_by_field: Mapping[str, list[str]]) -> ConditionResult:
    key = normalize_text(condition.field)
    outcome = _decide(condition, answers_by_field.get(key), field_present=key in answers_by_field)

    params = {"field": condition.field}
    if condition.operator not in VALUELESS_OPERATORS:
        params["expected"] = _display(condition.value)
    if outcome.value is not None:
        params["value"] = outcome.value

    return ConditionResult(
        index=index,
        field=condition.field,
        operator=condition.operator,
        matched=outcome.matched,
        reason=outcome.reason,
        params=params,
    )


@dataclass(frozen=True)
class _Outcome:
    matched: bool
    reason: Reason
    value: str | None = None


def _decide(condition: Condition, values: list[str] | None, *, field_present: bool) -> _Outcome:
    if condition.operator not in VALUELESS_OPERATORS and not _expected_values(condition):
        return _Outcome(False, Reason.RULE_VALUE_MISSING)

    if not values:
        # An empty answer is empty and equal to nothing, so every other test on it fails.
        holds = condition.operator in (Operator.IS_EMPTY, Operator.NOT_EQUALS)
        return _Outcome(holds, Reason.ANSWER_EMPTY if field_present else Reason.FIELD_MISSING)

    if condition.operator in VALUELESS_OPERATORS:
        return _Outcome(condition.operator is Operator.IS_NOT_EMPTY, Reason.ANSWER_PRESENT, _display(values))

    if condition.operator in NUMERIC_OPERATORS:
        return _compare_numbers(condition, values)

    return _compare_text(condition, values)


def _compare_text(condition: Condition, values: list[str]) -> _Outcome:
    expected = [normalize_text(value) for value in _expected_values(condition)]
    test = TEXT_TESTS[condition.operator]
    hit = next((value for value in values if any(test(normalize_text(value), item) for item in expected)), None)

    if condition.operator is Operator.NOT_EQUALS:
        if hit is None:
            return _Outcome(True, Reason.NO_VALUE_EQUALS, _display(values))
        return _Outcome(False, Reason.VALUE_EQUALS, hit)

    if hit is None:
        return _Outcome(False, Reason.NO_MATCH, _display(values))
    return _Outcome(True, Reason.MATCHED, hit)


def _compare_numbers(condition: Condition, values: list[str]) -> _Outcome:
    threshold = parse_number(_expected_values(condition)[0])
    if threshold is None:
        return _Outcome(False, Reason.RULE_VALUE_NOT_A_NUMBER)

    numbers = [(value, parse_number(value)) for value in values]
    parsed = [(value, number) for value, number in numbers if number is not None]
    if not parsed:
        return _Outcome(False, Reason.NOT_A_NUMBER, values[0])

    test = NUMBER_TESTS[condition.operator]
    hit = next((value for value, number in parsed if test(number, threshold)), None)
    if hit is None:
        return _Outcome(False, Reason.NO_MATCH, _display(values))
    return _Outcome(True, Reason.MATCHED, hit)


def _expected_values(condition: Condition) -> list[str]:
    """Return the condition's non-blank values: one for most operators, several for is_one_of."""
    return answer_values(condition.value)


def _display(value: str | Sequence[str] | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return ", ".join(item.strip() for item in value)


def _equals(answer: str, expected: str) -> bool:
    return answer == expected


def _contains(answer: str, expected: str) -> bool:
    return expected in answer


def _starts_with(answer: str, expected: str) -> bool:
    return answer.startswith(expected)


# is_one_of tests equality with each listed value. not_equals negates the equality test in _compare_text.
TEXT_TESTS: dict[Operator, Callable[[str, str], bool]] = {
    Operator.EQUALS: _equals,
    Operator.NOT_EQUALS: _equals,
    Operator.IS_ONE_OF: _equals,
    Operator.CONTAINS: _contains,
    Operator.STARTS_WITH: _starts_with,
}

NUMBER_TESTS: dict[Operator, Callable[[Decimal, Decimal], bool]] = {
    Operator.GREATER_THAN: compare.gt,
    Operator.LESS_THAN: compare.lt,
}
