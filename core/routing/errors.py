"""Exceptions raised by the routing rule engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.i18n import LocalizedError

if TYPE_CHECKING:
    from core.routing.validation import RuleProblem


class RoutingError(LocalizedError):
    """Base class for every routing rule error."""


class RuleNotFoundError(RoutingError, LookupError):
    """A rule id is not in the rule set."""

    def __init__(self, rule_id: str) -> None:
        super().__init__(f"routing rule {rule_id!r} not found in the rule set; reload the rules and try again")
        self.rule_id = rule_id


class StaleRulesError(RoutingError):
    """The rules were saved by someone else after this editor loaded them.

    Raised by check_version. The editor should reload the stored rules and apply
    its change again, so one manager never silently overwrites another's edit.
    """

    message_key = "routing.error.stale_rules"

    def __init__(self, stored_version: int, submitted_version: int) -> None:
        super().__init__(
            f"routing rules changed since they were loaded (stored version {stored_version}, "
            f"submitted version {submitted_version}); reload the rules and apply the change again"
        )
        self.stored_version = stored_version
        self.submitted_version = submitted_version


class InvalidRuleSetError(RoutingError, ValueError):
    """The rule set cannot be saved; ``problems`` lists every problem found."""

    message_key = "routing.error.invalid_rules"

    def __init__(self, problems: list[RuleProblem]) -> None:
        codes = ", ".join(sorted({problem.code for problem in problems}))
        super().__init__(f"routing rules are invalid ({len(problems)} problems: {codes}); fix them and save again")
        self.problems = problems
