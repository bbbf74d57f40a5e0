"""Form routing rules: matching, explanations, validation, editing helpers and the redirect template."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from core.i18n import load_catalog, translate
from core.routing import (
    Condition,
    InvalidRuleSetError,
    Join,
    Operator,
    ProblemCode,
    Reason,
    Rule,
    RuleNotFoundError,
    RuleSet,
    RuleStatus,
    SkipReason,
    StaleRulesError,
    check_version,
    ensure_valid,
    evaluate,
    evaluate_condition,
    parse_number,
    redirect_query_template,
    validate,
)

FORM_FIELDS = ["email", "first_name", "last_name", "company", "City", "Department", "Employee_Count__c", "Interests"]
PAGE_IDS = [10, 20, 30, 99]


def rule(rule_id: str, *conditions: Condition, join: Join = Join.ALL, target: int | None = 10, enabled: bool = True) -> Rule:
    return Rule(
        id=rule_id,
        name=f"Rule {rule_id}",
        conditions=list(conditions),
        join=join,
        target_page_id=target,
        enabled=enabled,
    )


def cond(field: str, operator: str, value: str | list[str] | None = None) -> Condition:
    return Condition(field=field, operator=operator, value=value)


@pytest.fixture
def three_rule_set() -> RuleSet:
    return RuleSet(
        version=4,
        rules=[
            rule("tokyo", cond("City", "equals", "Tokyo"), target=10),
            rule("large", cond("Employee_Count__c", "greater_than", "1000"), target=20),
            rule("sales", cond("Department", "contains", "sales"), target=30),
        ],
        fallback_page_id=99,
    )


# --- operators -------------------------------------------------------------------------------------------------------

OPERATOR_CASES = [
    # equals: caseless, trimmed, NFKC (full-width, half-width katakana), casefold
    ("equals", "Tokyo", "Tokyo", True, Reason.MATCHED),
    ("equals", "Tokyo", "ｔｏｋｙｏ", True, Reason.MATCHED),
    ("equals", "Tokyo", "  TOKYO\t", True, Reason.MATCHED),
    ("equals", "営業部", "　営業部　", True, Reason.MATCHED),
    ("equals", "abc", "ＡＢＣ", True, Reason.MATCHED),
    ("equals", "123", "１２３", True, Reason.MATCHED),
    ("equals", "エイギョウ", "ｴｲｷﾞｮｳ", True, Reason.MATCHED),
    ("equals", "STRASSE", "Straße", True, Reason.MATCHED),
    ("equals", "Tokyo", "Kyoto", False, Reason.NO_MATCH),
    ("equals", "Tokyo", "Tokyo Bay", False, Reason.NO_MATCH),
    # not_equals
    ("not_equals", "Tokyo", "Osaka", True, Reason.NO_VALUE_EQUALS),
    ("not_equals", "Tokyo", "ｔｏｋｙｏ", False, Reason.VALUE_EQUALS),
    ("not_equals", "Tokyo", "", True, Reason.ANSWER_EMPTY),
    # contains
    ("contains", "enterprise", "Acme ＥＮＴＥＲＰＲＩＳＥ Ltd", True, Reason.MATCHED),
    ("contains", "営業", "第一営業部", True, Reason.MATCHED),
    ("contains", "startup", "Acme Enterprise", False, Reason.NO_MATCH),
    ("contains", "sales", "", False, Reason.ANSWER_EMPTY),
    # starts_with
    ("starts_with", "sales", "Sales team", True, Reason.MATCHED),
    ("starts_with", "ｓａｌｅｓ", " sales team", True, Reason.MATCHED),
    ("starts_with", "team", "Sales team", False, Reason.NO_MATCH),
    # is_one_of
    ("is_one_of", ["Tokyo", "Osaka"], "ＯＳＡＫＡ", True, Reason.MATCHED),
    ("is_one_of", ["Tokyo", "Osaka"], "Nagoya", False, Reason.NO_MATCH),
    ("is_one_of", ["Tokyo", "Osaka"], "   ", False, Reason.ANSWER_EMPTY),
    # is_empty / is_not_empty
    ("is_empty", None, "", True, Reason.ANSWER_EMPTY),
    ("is_empty", None, "\u3000", True, Reason.ANSWER_EMPTY),
    ("is_empty", None, "x", False, Reason.ANSWER_PRESENT),
    ("is_not_empty", None, "x", True, Reason.ANSWER_PRESENT),
    ("is_not_empty", None, "\u3000 ", False, Reason.ANSWER_EMPTY),
    # greater_than: full-width digits and separators, signs, decimals
    ("greater_than", "500", "１，０００", True, Reason.MATCHED),
    ("greater_than", "500", "1,000", True, Reason.MATCHED),
    ("greater_than", "500", " +600 ", True, Reason.MATCHED),
    ("greater_than", "-10", "-5", True, Reason.MATCHED),
    ("greater_than", "12", "12.5", True, Reason.MATCHED),
    ("greater_than", "1,000", "1000", False, Reason.NO_MATCH),
    ("greater_than", "500", "500", False, Reason.NO_MATCH),
    ("greater_than", "500", "abc", False, Reason.NOT_A_NUMBER),
    ("greater_than", "500", "1000人", False, Reason.NOT_A_NUMBER),
    ("greater_than", "500", "1,00", False, Reason.NOT_A_NUMBER),
    ("greater_than", "500", "1.2.3", False, Reason.NOT_A_NUMBER),
    ("greater_than", "500", "", False, Reason.ANSWER_EMPTY),
    # less_than
    ("less_than", "500", "499", True, Reason.MATCHED),
    ("less_than", "1", "０．５", True, Reason.MATCHED),
    ("less_than", "0", "－３", True, Reason.MATCHED),
    ("less_than", "500", "500", False, Reason.NO_MATCH),
    ("less_than", "500", "10-50", False, Reason.NOT_A_NUMBER),
]


@pytest.mark.parametrize(("operator", "value", "answer", "matched", "reason"), OPERATOR_CASES)
def test_operator_single_answer(
    operator: str, value: str | list[str] | None, answer: str, matched: bool, reason: Reason
) -> None:
    result = evaluate_condition(cond("field", operator, value), {"field": answer})

    assert result.matched is matched
    assert result.reason is reason


MULTI_VALUE_CASES = [
    ("equals", "blue", ["Red", "Blue"], True, Reason.MATCHED, "Blue"),
    ("equals", "green", ["Red", "Blue"], False, Reason.NO_MATCH, "Red, Blue"),
    ("contains", "lu", ["Red", "Blue"], True, Reason.MATCHED, "Blue"),
    ("starts_with", "re", ["Blue", "Red"], True, Reason.MATCHED, "Red"),
    ("is_one_of", ["green", "red"], ["Blue", "Red"], True, Reason.MATCHED, "Red"),
    ("not_equals", "blue", ["Red", "Blue"], False, Reason.VALUE_EQUALS, "Blue"),
    ("not_equals", "green", ["Red", "Blue"], True, Reason.NO_VALUE_EQUALS, "Red, Blue"),
    ("greater_than", "500", ["abc", "７００"], True, Reason.MATCHED, "７００"),
    ("greater_than", "500", ["100", "200"], False, Reason.NO_MATCH, "100, 200"),
    ("greater_than", "500", ["abc", "many"], False, Reason.NOT_A_NUMBER, "abc"),
    ("less_than", "500", ["900", "abc", "100"], True, Reason.MATCHED, "100"),
    ("is_not_empty", None, ["", "Red"], True, Reason.ANSWER_PRESENT, "Red"),
]


@pytest.mark.parametrize(("operator", "value", "answers", "matched", "reason", "shown"), MULTI_VALUE_CASES)
def test_operator_multi_value_answer(
    operator: str, value: str | list[str] | None, answers: list[str], matched: bool, reason: Reason, shown: str
) -> None:
    result = evaluate_condition(cond("Interests", operator, value), {"Interests": answers})

    assert result.matched is matched
    assert result.reason is reason
    assert result.params["value"] == shown


@pytest.mark.parametrize("answers", [[], ["", "\u3000"], ("",)])
def test_multi_value_of_blanks_is_empty(answers: list[str]) -> None:
    assert evaluate_condition(cond("Interests", "is_empty"), {"Interests": answers}).matched is True
    assert evaluate_condition(cond("Interests", "is_not_empty"), {"Interests": answers}).matched is False
    assert evaluate_condition(cond("Interests", "equals", "x"), {"Interests": answers}).matched is False


MISSING_FIELD_CASES = [
    ("is_empty", None, True),
    ("is_not_empty", None, False),
    ("equals", "x", False),
    ("not_equals", "x", True),
    ("contains", "x", False),
    ("starts_with", "x", False),
    ("is_one_of", ["x"], False),
    ("greater_than", "1", False),
    ("less_than", "1", False),
]


@pytest.mark.parametrize(("operator", "value", "matched"), MISSING_FIELD_CASES)
def test_missing_field_counts_as_empty(operator: str, value: str | list[str] | None, matched: bool) -> None:
    result = evaluate_condition(cond("City", operator, value), {"Department": "Sales"})

    assert result.matched is matched
    assert result.reason is Reason.FIELD_MISSING


def test_not_a_number_explains_value() -> None:
    result = evaluate_condition(cond("Employee_Count__c", "greater_than", "500"), {"Employee_Count__c": " abc "})

    assert result.matched is False
    assert result.reason is Reason.NOT_A_NUMBER
    assert result.params == {"field": "Employee_Count__c", "expected": "500", "value": "abc"}
    assert result.message_key == "routing.reason.not_a_number"


def test_rule_value_not_a_number_is_false() -> None:
    result = evaluate_condition(cond("Employee_Count__c", "greater_than", "many"), {"Employee_Count__c": "1000"})

    assert result.matched is False
    assert result.reason is Reason.RULE_VALUE_NOT_A_NUMBER
    assert result.params == {"field": "Employee_Count__c", "expected": "many"}


@pytest.mark.parametrize(("operator", "value"), [("equals", None), ("equals", "  "), ("is_one_of", []), ("less_than", "")])
def test_rule_value_missing_is_false(operator: str, value: str | list[str] | None) -> None:
    result = evaluate_condition(cond("City", operator, value), {"City": "Tokyo"})

    assert result.matched is False
    assert result.reason is Reason.RULE_VALUE_MISSING


def test_answer_field_names_match_caselessly() -> None:
    result = evaluate_condition(cond("city", "equals", "Tokyo"), {"ＣＩＴＹ": "Tokyo"})

    assert result.matched is True


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1000", Decimal("1000")),
        ("１，０００", Decimal("1000")),
        ("1,234,567.89", Decimal("1234567.89")),
        ("  -42 ", Decimal("-42")),
        ("+0.5", Decimal("0.5")),
        ("１２３．５", Decimal("123.5")),
        ("abc", None),
        ("", None),
        ("1,00", None),
        ("1,0000", None),
        (",100", None),
        ("1.", None),
        (".5", None),
        ("1.2.3", None),
        ("100人", None),
        ("1e3", None),
        ("NaN", None),
        ("Infinity", None),
        ("--1", None),
        ("١٢٣", None),
    ],
)
def test_parse_number(text: str, number: Decimal | None) -> None:
    assert parse_number(text) == number


# --- rules and rule sets ---------------------------------------------------------------------------------------------


def test_join_all_needs_every_condition() -> None:
    answers = {"City": "Tokyo", "Department": "Marketing"}
    rules = RuleSet(rules=[rule("a", cond("City", "equals", "Tokyo"), cond("Department", "equals", "Sales"))])

    decision = evaluate(rules, answers)

    assert decision.matched_rule_id is None
    assert [c.matched for c in decision.explanations[0].conditions] == [True, False]
    assert decision.explanations[0].status is RuleStatus.NOT_MATCHED


def test_join_any_needs_one_condition() -> None:
    answers = {"City": "Tokyo", "Department": "Marketing"}
    conditions = (cond("City", "equals", "Osaka"), cond("Department", "equals", "Marketing"))
    rules = RuleSet(rules=[rule("a", *conditions, join=Join.ANY)])

    decision = evaluate(rules, answers)

    assert decision.matched_rule_id == "a"
    assert decision.target_page_id == 10
    assert [c.matched for c in decision.explanations[0].conditions] == [False, True]


def test_join_any_with_no_true_condition_fails() -> None:
    conditions = (cond("City", "equals", "Osaka"), cond("Department", "equals", "Sales"))
    rules = RuleSet(rules=[rule("a", *conditions, join=Join.ANY)])

    decision = evaluate(rules, {"City": "Tokyo"})

    assert decision.matched_rule_id is None


def test_first_matching_rule_wins(three_rule_set: RuleSet) -> None:
    answers = {"City": "Tokyo", "Employee_Count__c": "5,000", "Department": "Sales"}

    decision = evaluate(three_rule_set, answers)

    assert decision.matched_rule_id == "tokyo"
    assert decision.target_page_id == 10
    assert decision.used_fallback is False
    assert [e.rule_id for e in decision.explanations] == ["tokyo"]


def test_rules_before_match_are_explained(three_rule_set: RuleSet) -> None:
    answers = {"City": "Osaka", "Employee_Count__c": "5,000", "Department": "Sales"}

    decision = evaluate(three_rule_set, answers)

    assert decision.matched_rule_id == "large"
    assert decision.target_page_id == 20
    assert [(e.rule_id, e.status) for e in decision.explanations] == [
        ("tokyo", RuleStatus.NOT_MATCHED),
        ("large", RuleStatus.MATCHED),
    ]
    first = decision.explanations[0].conditions[0]
    assert first.params == {"field": "City", "expected": "Tokyo", "value": "Osaka"}


def test_disabled_rule_is_skipped(three_rule_set: RuleSet) -> None:
    rules = three_rule_set.disable("tokyo")

    decision = evaluate(rules, {"City": "Tokyo", "Department": "Sales"})

    assert decision.matched_rule_id == "sales"
    assert decision.target_page_id == 30
    skipped = decision.explanations[0]
    assert skipped.rule_id == "tokyo"
    assert skipped.status is RuleStatus.SKIPPED
    assert skipped.skip_reason is SkipReason.DISABLED
    assert skipped.skip_message_key == "routing.skip.disabled"
    assert skipped.conditions == []
    assert decision.explanations[1].status is RuleStatus.NOT_MATCHED


def test_unfinished_rules_never_route() -> None:
    rules = RuleSet(
        rules=[rule("empty", target=10), rule("untargeted", cond("City", "is_not_empty"), target=None)],
        fallback_page_id=99,
    )

    decision = evaluate(rules, {"City": "Tokyo"})

    assert decision.target_page_id == 99
    assert [e.skip_reason for e in decision.explanations] == [SkipReason.NO_CONDITIONS, SkipReason.MISSING_TARGET]


def test_no_match_uses_fallback(three_rule_set: RuleSet) -> None:
    decision = evaluate(three_rule_set, {"City": "Osaka", "Employee_Count__c": "10", "Department": "HR"})

    assert decision.matched_rule_id is None
    assert decision.target_page_id == 99
    assert decision.used_fallback is True
    assert [e.status for e in decision.explanations] == [RuleStatus.NOT_MATCHED] * 3


def test_no_match_without_fallback_routes_nowhere(three_rule_set: RuleSet) -> None:
    rules = three_rule_set.model_copy(update={"fallback_page_id": None})

    decision = evaluate(rules, {})

    assert decision.matched_rule_id is None
    assert decision.target_page_id is None
    assert decision.used_fallback is False
    assert len(decision.explanations) == 3


def test_empty_rule_set_uses_fallback() -> None:
    decision = evaluate(RuleSet(fallback_page_id=99), {"City": "Tokyo"})

    assert decision.target_page_id == 99
    assert decision.used_fallback is True
    assert decision.explanations == []


def test_rule_set_json_round_trip(three_rule_set: RuleSet) -> None:
    rules = three_rule_set.add_rule(rule("pick", cond("City", "is_one_of", ["Tokyo", "大阪"]), cond("City", "is_empty")))

    restored = RuleSet.model_validate_json(rules.model_dump_json())

    assert restored == rules
    assert restored.rules[3].conditions[0].value == ["Tokyo", "大阪"]
    assert restored.rules[3].conditions[1].operator is Operator.IS_EMPTY


def test_condition_value_shape_checked() -> None:
    with pytest.raises(ValidationError, match="takes one string"):
        cond("City", "equals", ["Tokyo"])
    with pytest.raises(ValidationError, match="takes a list of strings"):
        cond("City", "is_one_of", "Tokyo")
    with pytest.raises(ValidationError):
        cond("City", "matches_regex", "T.*")


def test_valueless_operator_drops_value() -> None:
    assert cond("City", "is_empty", "Tokyo").value is None


def test_duplicate_rule_ids_rejected() -> None:
    with pytest.raises(ValidationError, match="'a' is used by more than one rule"):
        RuleSet(rules=[rule("a"), rule("a")])


def test_rule_id_generated_when_absent() -> None:
    first, second = Rule(name="x"), Rule(name="y")

    assert len(first.id) == 8
    assert first.id != second.id


# --- editing helpers -------------------------------------------------------------------------------------------------


def ids(rules: RuleSet) -> list[str]:
    return [r.id for r in rules.rules]


def test_move_rule_to_index(three_rule_set: RuleSet) -> None:
    moved = three_rule_set.move_rule("sales", 0)

    assert ids(moved) == ["sales", "tokyo", "large"]
    assert ids(three_rule_set) == ["tokyo", "large", "sales"]
    assert moved.version == 4
    assert moved.fallback_page_id == 99


def test_move_up_and_down(three_rule_set: RuleSet) -> None:
    assert ids(three_rule_set.move_up("large")) == ["large", "tokyo", "sales"]
    assert ids(three_rule_set.move_down("large")) == ["tokyo", "sales", "large"]
    assert ids(three_rule_set.move_up("tokyo")) == ["tokyo", "large", "sales"]
    assert ids(three_rule_set.move_down("sales")) == ["tokyo", "large", "sales"]


def test_move_rule_rejects_bad_index(three_rule_set: RuleSet) -> None:
    with pytest.raises(IndexError, match="valid positions are 0 to 2"):
        three_rule_set.move_rule("tokyo", 3)
    with pytest.raises(IndexError):
        three_rule_set.move_rule("tokyo", -1)


def test_unknown_rule_id_raises(three_rule_set: RuleSet) -> None:
    with pytest.raises(RuleNotFoundError, match="'nope' not found") as caught:
        three_rule_set.move_up("nope")

    assert caught.value.rule_id == "nope"
    with pytest.raises(RuleNotFoundError):
        three_rule_set.duplicate("nope")
    with pytest.raises(RuleNotFoundError):
        three_rule_set.disable("nope")


def test_duplicate_inserts_copy_after(three_rule_set: RuleSet) -> None:
    copied = three_rule_set.duplicate("large")

    copy = copied.rules[2]
    assert len(copied.rules) == 4
    assert ids(copied)[:2] == ["tokyo", "large"]
    assert ids(copied)[3] == "sales"
    assert copy.id not in ids(three_rule_set)
    assert copy.name == "Rule large (copy)"
    assert copy.conditions == three_rule_set.rules[1].conditions
    assert copy.target_page_id == 20
    assert len(three_rule_set.rules) == 3


def test_duplicate_uses_given_suffix(three_rule_set: RuleSet) -> None:
    copied = three_rule_set.duplicate("tokyo", name_suffix="（コピー）")

    assert copied.rules[1].name == "Rule tokyo（コピー）"


def test_disable_and_enable(three_rule_set: RuleSet) -> None:
    disabled = three_rule_set.disable("large")
    enabled = disabled.enable("large")

    assert [r.enabled for r in disabled.rules] == [True, False, True]
    assert [r.enabled for r in enabled.rules] == [True, True, True]
    assert three_rule_set.rules[1].enabled is True


def test_replace_and_remove_rule(three_rule_set: RuleSet) -> None:
    renamed = three_rule_set.replace_rule(three_rule_set.rules[1].model_copy(update={"name": "Enterprise"}))
    removed = renamed.remove_rule("tokyo")

    assert renamed.rules[1].name == "Enterprise"
    assert ids(removed) == ["large", "sales"]


def test_add_rule_with_taken_id_rejected(three_rule_set: RuleSet) -> None:
    with pytest.raises(ValidationError):
        three_rule_set.add_rule(rule("tokyo"))


# --- version check ---------------------------------------------------------------------------------------------------


def test_same_version_passes() -> None:
    assert check_version(4, 4) is None


def test_stale_version_raises() -> None:
    with pytest.raises(StaleRulesError, match="stored version 5, submitted version 4") as caught:
        check_version(5, 4)

    assert caught.value.stored_version == 5
    assert caught.value.submitted_version == 4
    assert "reload the rules" in str(caught.value)


# --- validation ------------------------------------------------------------------------------------------------------


def test_valid_rule_set_has_no_problems(three_rule_set: RuleSet) -> None:
    assert validate(three_rule_set, FORM_FIELDS, PAGE_IDS) == []
    assert ensure_valid(three_rule_set, FORM_FIELDS, PAGE_IDS) is None


def test_form_fields_match_caselessly() -> None:
    rules = RuleSet(rules=[rule("a", cond("CITY", "equals", "Tokyo"), cond("ｅｍａｉｌ", "is_not_empty"))])

    assert validate(rules, FORM_FIELDS, PAGE_IDS) == []


PROBLEM_CASES = [
    (rule("r", cond("City", "equals", "Tokyo"), target=None), None, "target", ProblemCode.MISSING_TARGET, {}),
    (rule("r", cond("City", "equals", "Tokyo"), target=404), None, "target", ProblemCode.UNKNOWN_PAGE, {"page_id": 404}),
    (rule("r"), None, "conditions", ProblemCode.NO_CONDITIONS, {}),
    (rule("r", cond("Town", "equals", "Tokyo")), 0, "field", ProblemCode.UNKNOWN_FIELD, {"field": "Town"}),
    (rule("r", cond(" ", "equals", "Tokyo")), 0, "field", ProblemCode.MISSING_FIELD, {}),
    (rule("r", cond("City", "equals", None)), 0, "value", ProblemCode.EMPTY_VALUE, {}),
    (rule("r", cond("City", "contains", "\u3000")), 0, "value", ProblemCode.EMPTY_VALUE, {}),
    (rule("r", cond("City", "is_one_of", [])), 0, "value", ProblemCode.EMPTY_VALUE, {}),
    (rule("r", cond("City", "is_one_of", ["Tokyo", " "])), 0, "value", ProblemCode.EMPTY_VALUE, {"position": 1}),
    (rule("r", cond("Employee_Count__c", "greater_than", "lots")), 0, "value", ProblemCode.VALUE_NOT_NUMBER,
     {"value": "lots"}),
    (rule("r", cond("Employee_Count__c", "less_than", "100人")), 0, "value", ProblemCode.VALUE_NOT_NUMBER,
     {"value": "100人"}),
]


@pytest.mark.parametrize(("bad_rule", "index", "field", "code", "params"), PROBLEM_CASES)
def test_validation_problem_codes(
    bad_rule: Rule, index: int | None, field: str, code: ProblemCode, params: dict[str, object]
) -> None:
    problems = validate(RuleSet(rules=[bad_rule]), FORM_FIELDS, PAGE_IDS)

    assert len(problems) == 1
    problem = problems[0]
    assert problem.rule_id == "r"
    assert problem.condition_index == index
    assert problem.field == field
    assert problem.code is code
    assert problem.params == params
    assert problem.message_key == f"routing.problem.{code.value}"


def test_numeric_value_in_full_width_is_valid() -> None:
    rules = RuleSet(rules=[rule("a", cond("Employee_Count__c", "greater_than", "１，０００"))])

    assert validate(rules, FORM_FIELDS, PAGE_IDS) == []


def test_unknown_fallback_reported(three_rule_set: RuleSet) -> None:
    rules = three_rule_set.model_copy(update={"fallback_page_id": 77})

    problems = validate(rules, FORM_FIELDS, PAGE_IDS)

    assert [(p.rule_id, p.field, p.code, p.params) for p in problems] == [
        (None, "fallback", ProblemCode.UNKNOWN_PAGE, {"page_id": 77})
    ]


def test_disabled_rules_are_validated() -> None:
    rules = RuleSet(rules=[rule("off", cond("Town", "equals", "x"), enabled=False)])

    problems = validate(rules, FORM_FIELDS, PAGE_IDS)

    assert [p.code for p in problems] == [ProblemCode.UNKNOWN_FIELD]


def test_problems_listed_in_rule_order() -> None:
    rules = RuleSet(
        rules=[
            rule("first", cond("Town", "equals", ""), target=None),
            rule("second", cond("City", "equals", "Tokyo"), cond("Employee_Count__c", "less_than", "x")),
        ],
        fallback_page_id=1,
    )

    problems = validate(rules, FORM_FIELDS, PAGE_IDS)

    assert [(p.rule_id, p.condition_index, p.code) for p in problems] == [
        ("first", None, ProblemCode.MISSING_TARGET),
        ("first", 0, ProblemCode.UNKNOWN_FIELD),
        ("first", 0, ProblemCode.EMPTY_VALUE),
        ("second", 1, ProblemCode.VALUE_NOT_NUMBER),
        (None, None, ProblemCode.UNKNOWN_PAGE),
    ]


def test_ensure_valid_raises_with_problems() -> None:
    rules = RuleSet(rules=[rule("a", target=None)])

    with pytest.raises(InvalidRuleSetError, match="2 problems: missing_target, no_conditions") as caught:
        ensure_valid(rules, FORM_FIELDS, PAGE_IDS)

    assert [p.code for p in caught.value.problems] == [ProblemCode.MISSING_TARGET, ProblemCode.NO_CONDITIONS]


# --- redirect template -----------------------------------------------------------------------------------------------


def test_redirect_template_standard_fields_first() -> None:
    template = redirect_query_template(["company", "Employee_Count__c", "email"])

    assert template == (
        "email={{Recipient.Email}}&first_name={{Recipient.FirstName}}&last_name={{Recipient.LastName}}"
        "&company={{Recipient.Company}}&Employee_Count__c={{Recipient.Employee_Count__c}}"
    )


def test_redirect_template_without_form_fields() -> None:
    template = redirect_query_template([])

    assert template == "email={{Recipient.Email}}&first_name={{Recipient.FirstName}}&last_name={{Recipient.LastName}}"


def test_redirect_template_keeps_merge_tags_literal() -> None:
    template = redirect_query_template(["Industry"])

    assert "%7B" not in template
    assert "%7D" not in template
    assert template.endswith("&Industry={{Recipient.Industry}}")


def test_redirect_template_sends_each_field_once() -> None:
    template = redirect_query_template(["EMAIL", "Industry", "industry", "First_Name"])

    assert template.count("Industry=") == 1
    assert template.count("industry=") == 0
    assert template.count("email=") == 1
    assert template.count("first_name=") == 1
    assert "EMAIL=" not in template


@pytest.mark.parametrize("name", ["Job Title", "部署", "a&b", "{{x}}", "", "1st_choice"])
def test_redirect_template_rejects_non_api_names(name: str) -> None:
    with pytest.raises(ValueError, match="cannot be used in an Account Engagement merge tag"):
        redirect_query_template([name])


# --- explanations name the operator ---------------------------------------------------------------------------------

EXPLANATION_CASES = [
    ("greater_than", "300", "1200", "en", "employees is 1200, which is greater than 300."),
    ("greater_than", "300", "120", "en", "employees is 120, which is not greater than 300."),
    ("greater_than", "300", "1200", "ja", "employees は 1200 で、300 より大きいです。"),
    ("greater_than", "300", "120", "ja", "employees は 120 で、300 より大きくありません。"),
    ("less_than", "50", "10", "en", "employees is 10, which is less than 50."),
    ("less_than", "50", "60", "ja", "employees は 60 で、50 より小さくありません。"),
    ("equals", "Tokyo", "Osaka", "en", "employees is “Osaka”, which does not equal “Tokyo”."),
    ("contains", "sales", "Sales team", "en", "employees is “Sales team”, which contains “sales”."),
    ("starts_with", "team", "Sales team", "ja", "employees は「Sales team」で、「team」で始まりません。"),
    ("is_one_of", ["JP", "Japan"], "JP", "en", "employees is “JP”, which is one of “JP, Japan”."),
    ("is_one_of", ["JP", "Japan"], "US", "ja", "employees は「US」で、「JP, Japan」のいずれにも一致しません。"),
    ("is_empty", None, "12", "en", "employees is “12”, so it is not empty."),
]


@pytest.mark.parametrize(("operator", "value", "answer", "language", "expected"), EXPLANATION_CASES)
def test_explanation_names_operator(
    operator: str, value: str | list[str] | None, answer: str, language: str, expected: str
) -> None:
    result = evaluate_condition(cond("employees", operator, value), {"employees": answer})

    assert translate(result.message_key, language, **result.params) == expected


@pytest.mark.parametrize("operator", list(Operator))
def test_explanation_keys_exist_for_every_operator(operator: Operator) -> None:
    catalog = load_catalog()
    values = {Operator.IS_EMPTY: None, Operator.IS_NOT_EMPTY: None, Operator.IS_ONE_OF: ["5"]}
    value = values.get(operator, "5")
    answers = ["5", "7", "3", "", "x5x"]

    keys = {evaluate_condition(cond("f", operator, value), {"f": answer}).message_key for answer in answers}

    assert sorted(key for key in keys if key not in catalog) == []
