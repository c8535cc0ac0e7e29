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
from referral_hub.portal import messages, reasons
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
    (Problem(403, "not-a-uptd", reason="keeps-cases"), "Kasus dibuka dan disimpan oleh UPTD PPA"),
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
    # invalid-transition: a referral's
    (
        Problem(
            409, "invalid-transition", reason="status", status_now="completed", target="failed"
        ),
        'Rujukan berstatus "Selesai" tidak dapat menjadi "Gagal"',
    ),
    (Problem(409, "invalid-transition", reason="sender-only", action="cancel"), "pengirim."),
    (Problem(409, "invalid-transition", reason="recipient-only", action="accept"), "penerima."),
    (
        Problem(409, "invalid-transition", reason="recipient-only", action="schedule-appointment"),
        "menjadwalkan sesi",
    ),
    (
        Problem(409, "invalid-transition", reason="recipient-only", action="update-appointment"),
        "mencatat hasil sesi",
    ),
    (Problem(409, "invalid-transition", reason="unknown-action", action="x"), "tidak dikenal"),
    (Problem(409, "invalid-transition", reason="changed-meanwhile"), "baru saja diubah"),
    (Problem(409, "invalid-transition", reason="override-approval"), "halaman persetujuan"),
    (
        Problem(409, "invalid-transition", reason="not-schedulable", status_now="requested"),
        "tidak dapat diberi jadwal sesi",
    ),
    (Problem(409, "invalid-transition", reason="session-not-started"), "Sesi belum dimulai"),
    (
        Problem(
            409, "invalid-transition", reason="appointment-recorded", appointment_status="attended"
        ),
        "tidak dapat diubah lagi",
    ),
    # invalid-transition: an agreement's
    (
        Problem(409, "invalid-transition", reason="agreement-status", status_now="terminated"),
        "perjanjian berstatus",
    ),
    (Problem(409, "invalid-transition", reason="party-only"), "menjadi pihak"),
    (Problem(409, "invalid-transition", reason="end-date-passed"), "Tanggal berakhir"),
    # generic slugs
    (Problem(404, "not-found", reason="no-referral"), "Rujukan tidak ditemukan."),
    (Problem(404, "not-found", reason="no-oauth-client"), "Klien OAuth tidak ditemukan."),
    (Problem(403, "forbidden", reason="admin-only"), "Hanya admin organisasi ini"),
    (Problem(403, "forbidden", reason="audit-readers"), "log audit"),
    (Problem(403, "forbidden", reason="agreement-writers"), "mengubah perjanjian"),
    (Problem(422, "validation-error", reason="unstorable-text"), "UTF-8"),
    (Problem(400, "bad-request", reason="unstorable-text"), "UTF-8"),
    (Problem(413, "payload-too-large", reason="document-too-large", limit=2097152), "2.0 MB"),
    (Problem(503, "service-unavailable", reason="document-unreadable"), "Dokumen tidak dapat"),
    (Problem(429, "too-many-requests", reason="sign-in-attempts"), "percobaan masuk"),
]


@pytest.mark.parametrize(("problem", "fragment"), REASONED, ids=lambda v: getattr(v, "slug", ""))
def test_a_refusal_is_told_apart_by_its_reason_not_its_detail(app, problem, fragment):
    problem.detail = "Whatever English the API says."
    with app.test_request_context("/"), force_locale("id"):
        assert fragment in messages.problem_message(problem)


def test_every_reason_has_its_own_message_in_both_languages(app):
    untranslated, unsaid = [], []
    with app.test_request_context("/"):
        with force_locale("id"):
            table = reasons.reasons_table()
        for slug, said in table.items():
            for reason in said:
                fields = _AnyFields(
                    reason=reason,
                    status_now="accepted",
                    target="completed",
                    appointment_status="attended",
                    limit="1048576",
                    number="KS-PPU-2026-000001",
                )
                with force_locale("id"):
                    indonesian = messages.problem_message(Problem(400, slug, **fields))
                with force_locale("en"):
                    english = messages.problem_message(Problem(400, slug, **fields))
                if indonesian == messages.slug_message(slug, {}):
                    unsaid.append((slug, reason))
                if indonesian == english:
                    untranslated.append((slug, reason))
    assert unsaid == []
    assert untranslated == []


def test_messages_never_read_a_problems_detail():
    """The portal's words come from slug, reason and fields: messages.py and reasons.py
    never look at `detail` (the API's English)."""
    for module in (messages, reasons):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        reads = [n.lineno for n in ast.walk(tree) if getattr(n, "attr", None) == "detail"]
        assert reads == [], module.__name__


def _sample(node: ast.AST | None) -> str | None:
    """A string literal as written, an f-string with 'x' for each placeholder."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
    return None


def _problem_details() -> tuple[list[tuple[str, str]], set[str]]:
    """(where, detail) of every `Problem(...)` raise site with a written detail, and every
    other text the package writes (field messages among them)."""
    details, elsewhere = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "portal" and path.name in ("messages.py", "reasons.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        detail_nodes = set()
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "Problem"
                and len(node.args) > 2
                and (detail := _sample(node.args[2])) is not None
            ):
                details.append((f"{path.relative_to(PACKAGE)}:{node.lineno}", detail))
                detail_nodes.add(id(node.args[2]))
        for node in ast.walk(tree):
            if id(node) not in detail_nodes and (text := _sample(node)) is not None:
                elsewhere.add(text)
    return details, elsewhere


def test_no_message_is_keyed_by_a_refusals_english_detail(app):
    """The detail table holds field messages only: no refusal's detail is a key of it,
    unless the same words are also written elsewhere, as a field's message (`errors`)."""
    details, elsewhere = _problem_details()
    assert len(details) > 100  # every raise site is seen
    with app.test_request_context("/"), force_locale("id"):
        keyed = [
            (where, detail)
            for where, detail in details
            if detail not in elsewhere and messages.translate_message(detail) != detail
        ]
    assert keyed == []


def test_a_referral_transition_names_why_it_is_refused():
    from referral_hub.referrals.lifecycle import TransitionRefused, plan_transition

    cases = [
        (("accept", "sender", "requested"), "recipient-only", {"action": "accept"}),
        (("cancel", "recipient", "requested"), "sender-only", {"action": "cancel"}),
        (
            ("accept", "recipient", "completed"),
            "status",
            {"action": "accept", "target": "accepted"},
        ),
        (("dance", "recipient", "requested"), "unknown-action", {"action": "dance"}),
    ]
    for args, reason, fields in cases:
        with pytest.raises(TransitionRefused) as refused:
            plan_transition(*args)
        assert (refused.value.reason, refused.value.fields) == (reason, fields)
