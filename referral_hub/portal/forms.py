"""Reading submitted forms and turning an operation's refusal into errors beside fields.

A page takes an operation's refusal (a `Problem`) in one way: `FormState.refused` puts it in
the form, `flash_refusal` in a message above the next page. Both go through
`take_refusal`: what the refused attempt wrote is rolled back there, at once (the page then
built may log what it shows, and commit that), and a refusal that is not the form's (the
record is another organisation's, the page is not open to the user) is raised again for the
error page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import flash, request
from flask_babel import gettext as _

from referral_hub.portal.messages import problem_message, translate_errors, translate_message
from referral_hub.problems import Problem
from referral_hub.transaction import rollback

#: Refusals no form shows: not signed in, not allowed, not there (or another organisation's).
NOT_THE_FORMS = frozenset({401, 403, 404})


def take_refusal(problem: Problem, *, shown_slugs: Iterable[str] = ()) -> Problem:
    """Roll back what the refused attempt wrote; a 401, 403 or 404 goes to the error page
    (raised again) unless its slug is one this page explains (`shown_slugs`)."""
    rollback()
    if problem.status in NOT_THE_FORMS and problem.slug not in shown_slugs:
        raise problem
    return problem


def flash_refusal(problem: Problem) -> None:
    """A refusal of a one-button action, said above the page the user is sent back to."""
    flash(problem_message(take_refusal(problem)), "error")


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
        """Show an operation's refusal: its field errors beside the fields, its detail above;
        what the attempt wrote is rolled back, a refusal no form shows raised (take_refusal)."""
        take_refusal(problem)
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


def schema_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """A marshmallow error dict as {form field: [messages]} in the reader's language.

    Nested fields become `<outer>_<inner>` (guardian.name -> guardian_name); list items
    report under the list's own field.
    """
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            # An item of a list reports under the list itself.
            name = (prefix.rstrip("_") or "_form") if isinstance(key, int) else f"{prefix}{key}"
            if isinstance(value, Mapping):
                inner_prefix = prefix if isinstance(key, int) else f"{name}_"
                for inner, texts in schema_errors(value, inner_prefix).items():
                    out.setdefault(inner, []).extend(texts)
            else:
                texts = [value] if isinstance(value, str) else list(value)
                out.setdefault(name, []).extend(translate_message(str(t)) for t in texts)
    elif messages:
        texts = [messages] if isinstance(messages, str) else list(messages)
        out.setdefault(prefix.rstrip("_") or "_form", []).extend(
            translate_message(str(t)) for t in texts
        )
    return out
