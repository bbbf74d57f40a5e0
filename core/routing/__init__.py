"""Form routing: rules that send an Account Engagement form visitor to the booking page that fits their answers.

Build a RuleSet, check it with validate() (or ensure_valid()) and check_version()
before saving, and call evaluate() with a submission's answers to get the
booking page and an explanation of every rule that was checked.
"""

from core.routing.errors import InvalidRuleSetError, RoutingError, RuleNotFoundError, StaleRulesError
from core.routing.evaluation import (
    Answers,
    ConditionResult,
    Reason,
    RoutingDecision,
    RuleExplanation,
    RuleStatus,
    SkipReason,
    evaluate,
    evaluate_condition,
)
from core.routing.redirect import redirect_query_template
from core.routing.rules import Condition, Join, Operator, Rule, RuleSet, check_version, new_rule_id
from core.routing.text import normalize_text, parse_number
from core.routing.validation import ProblemCode, RuleProblem, ensure_valid, validate

__all__ = [
    "Answers",
    "Condition",
    "ConditionResult",
    "InvalidRuleSetError",
    "Join",
    "Operator",
    "ProblemCode",
    "Reason",
    "RoutingDecision",
    "RoutingError",
    "Rule",
    "RuleExplanation",
    "RuleNotFoundError",
    "RuleProblem",
    "RuleSet",
    "RuleStatus",
    "SkipReason",
    "StaleRulesError",
    "check_version",
    "ensure_valid",
    "evaluate",
    "evaluate_condition",
    "new_rule_id",
    "normalize_text",
    "parse_number",
    "redirect_query_template",
    "validate",
]
