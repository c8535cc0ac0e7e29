"""A problem slug is registered once, and the portal says every registered problem itself.

The API's problem+json keeps its English `detail`; the portal words a refusal from the
problem's slug and fields (`referral_hub.portal.messages.problem_message`), never by
matching the English detail.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest
from flask_babel import force_locale

from referral_hub import problems
from referral_hub.portal import messages
from referral_hub.problems import Problem, register_problem

PACKAGE = Path(problems.__file__).resolve().parent


def test_a_slug_registered_again_with_another_title_is_refused():
    slug = register_problem("registry-test-once", "The first title")
    assert register_problem(slug, "The first title") == slug  # a re-import says the same
    with pytest.raises(ValueError, match="registry-test-once"):
        register_problem(slug, "Another title")


def test_a_generic_slug_cannot_be_registered_with_another_title():
    with pytest.raises(ValueError, match="not-found"):
        register_problem("not-found", "No such thing")


def test_invalid_transition_has_one_title_for_referrals_and_agreements(app):
    from referral_hub.agreements import operations as agreements
    from referral_hub.referrals import operations as referrals

    assert agreements.INVALID_TRANSITION == referrals.INVALID_TRANSITION == "invalid-transition"
    titles = {**problems.PROBLEM_TITLES, **problems.registered_problem_titles()}
    assert titles["invalid-transition"] == Problem(409, "invalid-transition").title


def _registered_slugs() -> list[str]:
    """Every slug any module registers (they register when imported)."""
    for module in pkgutil.walk_packages([str(PACKAGE)], "referral_hub."):
        importlib.import_module(module.name)
    return sorted(
        {*problems.PROBLEM_TITLES, *problems.registered_problem_titles()} - {"registry-test-once"}
    )


class _AnyFields(dict):
    """Stands for whatever fields a raise site gives: every field is present."""

    def __missing__(self, key):
        return ["x"] if key.endswith("s") else "x"


@pytest.mark.parametrize("slug", _registered_slugs())
def test_every_registered_problem_has_a_portal_message_in_both_languages(app, slug):
    assert slug in messages.slug_messages_table(), f"no portal message for {slug!r}"
    with app.test_request_context("/"):
        with force_locale("id"):
            indonesian = messages.slug_message(slug, _AnyFields())
        with force_locale("en"):
            english = messages.slug_message(slug, _AnyFields())
    assert indonesian
    assert english
    assert indonesian != english, f"{slug!r}: the English catalogue lacks its message"


def test_a_problem_message_never_falls_back_to_the_english_detail(app):
    with app.test_request_context("/"), force_locale("id"):
        unknown = Problem(409, "conflict", "Some English rule nobody translated.")
        said = messages.problem_message(unknown)
    assert "English" not in said
    assert said


def test_a_converted_problem_is_said_from_its_slug_and_fields_not_its_detail(app):
    problem = Problem(
        409,
        "oauth-client-has-no-secret",
        "Any English wording the API chooses.",
    )
    with app.test_request_context("/"), force_locale("id"):
        assert messages.problem_message(problem) == (
            "Klien publik tidak memakai rahasia, jadi tidak ada rahasia yang dapat diganti."
        )


def _calls_with_detail(tree: ast.AST) -> list[int]:
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "translate_message"
            and any(
                isinstance(sub, ast.Attribute) and sub.attr in ("detail", "title")
                for arg in node.args
                for sub in ast.walk(arg)
            )
        ):
            found.append(node.lineno)
    return found


def test_no_page_translates_a_problem_by_its_english_detail():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        lines = _calls_with_detail(ast.parse(path.read_text(encoding="utf-8")))
        offenders += [f"{path.relative_to(PACKAGE)}:{line}" for line in lines]
    assert offenders == []


#: Refusals once told apart by their English detail, now by a `reason` (and its fields).
REASONED = [
    (Problem(403, "not-a-uptd", reason="registers-clients"), "mitra hanya melihat klien"),
    (Problem(403, "not-a-uptd", reason="sends-referrals"), "yang mengirim rujukan."),
    (Problem(403, "not-a-uptd", reason="not-uptd", organization="polres-ppu"), "polres-ppu"),
    (Problem(422, "consent-giver-not-allowed", reason="alleged-perpetrator"), "Terduga pelaku"),
    (Problem(422, "consent-giver-not-allowed", reason="child-client", age=18), "di bawah 18"),
    (Problem(422, "consent-giver-not-allowed", reason="adult-client"), "Klien dewasa"),
    (Problem(422, "consent-giver-not-allowed", reason="flagged-guardian"), "wali lain"),
    (Problem(422, "consent-giver-needs-clearance", reason="name"), "Nama pemberi"),
    (Problem(422, "consent-giver-needs-clearance", reason="relationship"), "Hubungan pemberi"),
    (Problem(422, "consent-giver-needs-clearance", reason="supervisor-only"), "supervisor aktif"),
    (Problem(422, "webhook-url-not-allowed"), "URL ini tidak diizinkan"),
]


@pytest.mark.parametrize(("problem", "fragment"), REASONED, ids=lambda v: getattr(v, "slug", ""))
def test_a_refusal_is_told_apart_by_its_reason_not_its_detail(app, problem, fragment):
    problem.detail = "Whatever English the API says."
    with app.test_request_context("/"), force_locale("id"):
        assert fragment in messages.problem_message(problem)


def test_only_the_generic_slugs_and_invalid_transition_are_still_matched_by_detail(app):
    """What is left to convert (docs/design.md); the list may only shrink."""
    assert set(messages._DETAIL_MATCHED) == {"invalid-transition"}
    # The converted refusals' details are no longer keys of the detail table (words that are
    # also a field's message, in `errors`, stay: field messages are matched by their text).
    with app.test_request_context("/"), force_locale("id"):
        table = messages._exact()
    for detail in (
        "Only UPTD PPA units send referrals.",
        "A consent giver is cleared by an active supervisor of the client's unit "
        "personally, who records the consent.",
    ):
        assert detail not in table
