"""Reading submitted forms and turning an operation's refusal into errors beside fields."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import request
from flask_babel import gettext as _

from referral_hub.portal.messages import problem_message, translate_errors
from referral_hub.problems import Problem


@dataclass
class FormState:
    """What a form page renders: the values to refill and the errors to show."""

    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    #: A message for the whole form (shown in the error summary).
    message: str | None = None

    @property
    def invalid(self) -> bool:
        return bool(self.errors or self.message)

    def require(self, *names: str) -> None:
        """Parse-level check: a required field left empty (the rules stay in the operations)."""
        for name in names:
            if not str(self.values.get(name) or "").strip():
                self.errors.setdefault(name, []).append(_("Wajib diisi."))

    def refused(self, problem: Problem) -> None:
        """Show an operation's refusal: its field errors beside the fields, its detail above."""
        self.errors.update(translate_errors(problem.errors))
        self.message = problem_message(problem)


def read_form(text: Iterable[str] = (), lists: Iterable[str] = (), flags: Iterable[str] = ()):
    """The submitted form: text fields stripped, lists (checkboxes) as lists, flags as bools."""
    values: dict[str, object] = {}
    for name in text:
        values[name] = (request.form.get(name) or "").strip()
    for name in lists:
        values[name] = [v for v in request.form.getlist(name) if v]
    for name in flags:
        values[name] = request.form.get(name) in ("1", "on", "true", "yes")
    return FormState(values)
