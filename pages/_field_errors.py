"""Validation problems of a failed save, shown under the fields they belong to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from core.booking_pages import FieldProblem
from pages._ui import escape_markdown, t

PROBLEMS_KEY = "field_problems"
# The current value of a field the form does not show, such as the Event owner picker under another rule.
HIDDEN = object()


@dataclass
class FieldErrors:
    """The problems of one form's last failed save and the values that were submitted.

    A field's problem shows under the field until its value differs from the
    submitted one, so a fixed field loses its message on the next rerun.
    """

    form: str
    problems: list[FieldProblem] = field(default_factory=list)
    submitted: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, form: str) -> FieldErrors:
        """Return the stored problems of form; problems stored for another form are dropped."""
        stored = st.session_state.get(PROBLEMS_KEY)
        if not isinstance(stored, dict) or stored.get("form") != form:
            st.session_state.pop(PROBLEMS_KEY, None)
            return cls(form)
        return cls(form, list(stored["problems"]), dict(stored["submitted"]))

    def store(self, problems: list[FieldProblem], submitted: dict[str, Any]) -> None:
        """Keep problems and the values they were found in for the next script run."""
        st.session_state[PROBLEMS_KEY] = {"form": self.form, "problems": list(problems), "submitted": dict(submitted)}

    @staticmethod
    def clear() -> None:
        st.session_state.pop(PROBLEMS_KEY, None)

    def show(self, name: str, value: Any) -> None:
        """Record the field's current value and show its open problems right under it."""
        self.current[name] = value
        for problem in self.open_problems():
            if problem.field == name:
                st.error(problem_text(problem), icon=":material/error:")

    def hide(self, name: str) -> None:
        """Record that the field is not on the form in this run, so its problems no longer apply."""
        self.current[name] = HIDDEN

    def show_unplaced(self) -> None:
        """Show the open problems of fields that show() was not called for in this run."""
        for problem in self.open_problems():
            if problem.field not in self.current:
                st.error(problem_text(problem), icon=":material/error:")

    def open_problems(self) -> list[FieldProblem]:
        """Return the problems whose field still has the submitted value."""
        return [
            problem
            for problem in self.problems
            if self.current.get(problem.field, self.submitted.get(problem.field)) == self.submitted.get(problem.field)
        ]


def problem_text(problem: FieldProblem) -> str:
    """Return the problem's message in the chosen language, with submitted text escaped for Markdown."""
    params = {
        name: escape_markdown(value) if isinstance(value, str) else value for name, value in problem.params.items()
    }
    return t(problem.message_key, **params)
