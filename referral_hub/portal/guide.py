"""The developer guide at /docs: server-rendered pages in Bahasa Indonesia and English.

Each page has a template per language (templates/guide/<lang>/<page>.html); the code of its
examples is kept once, in templates/guide/examples/, and shown in both. Every example is
marked `<pre data-example="python|shell">`: tests/functional/test_guide.py runs them, in the
guide's order, against a live hub, so the guide cannot drift from what the hub does.
"""

from __future__ import annotations

from pathlib import Path

from flask import abort, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l

#: The guide's pages in reading order (the examples of a page continue the previous ones').
PAGES = {
    "quick-start": _l("Mulai cepat: klien, token, panggilan pertama"),
    "referrals": _l("Mengirim dan menjawab rujukan"),
    "retries": _l("Mengulang dengan aman (Idempotency-Key)"),
    "feed": _l("Mengikuti feed peristiwa dengan kursor"),
    "webhooks": _l("Memverifikasi webhook (Standard Webhooks)"),
    "errors": _l("Galat: problem+json dan `reason`"),
    "standards": _l("FHIR R4 dan HSDS 3.0"),
}
LANGUAGES = ("id", "en")
EXAMPLES = Path(__file__).resolve().parent.parent / "templates" / "guide" / "examples"
#: File suffix -> the language named in `data-example`.
EXAMPLE_KINDS = {".py.txt": "python", ".sh.txt": "shell"}


def examples() -> dict[str, str]:
    """Name -> code of every example (the file name without its suffix)."""
    found = {}
    for path in sorted(EXAMPLES.iterdir()):
        for suffix in EXAMPLE_KINDS:
            if path.name.endswith(suffix):
                found[path.name.removesuffix(suffix)] = path.read_text()
    return found


def guide_language() -> str:
    """`?lang=` when given (a link to the other language), else the portal's language."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    chosen = str(get_locale() or "id")
    return chosen if chosen in LANGUAGES else "id"


def render_guide(page: str = "index"):
    """The guide's start page, or one of its pages; 404 for an unknown page."""
    if page != "index" and page not in PAGES:
        abort(404)
    language = guide_language()
    with force_locale(language):
        return _render(page, language)


def _render(page: str, language: str):
    return render_template(
        f"guide/{language}/{page}.html",
        page=page,
        pages=PAGES,
        language=language,
        other_language="en" if language == "id" else "id",
        ex=examples(),
        spec_url=url_for("api-docs.openapi_json"),
        problems_url=url_for("portal.problem_index"),
    )
