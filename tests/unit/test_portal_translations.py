"""The English catalogue covers every portal message, and the compiled .mo matches the .po.

When this fails: run `make translations`, translate the new empty entries in
referral_hub/translations/en/LC_MESSAGES/messages.po, and run it again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
TRANSLATIONS = REPO / "referral_hub" / "translations"
PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"


def _read_po(path: Path):
    with path.open("rb") as fh:
        return read_po(fh, locale="en")


def _extract(tmp_path: Path):
    pybabel = Path(sys.executable).with_name("pybabel")
    out = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(pybabel),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "_lp:1c,2",
            "-k",
            "lazy_pgettext:1c,2",
            "-o",
            str(out),
            ".",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    with out.open("rb") as fh:
        return read_po(fh)


def _ids(catalog) -> set:
    """Each message by its context and id: "Klien" the page (Clients) and "Klien" the
    person (Client) are two messages, and a plural is one message of two forms."""
    return {(message.context, message.id) for message in catalog if message.id}


def _forms(string) -> tuple:
    return tuple(string) if isinstance(string, (list, tuple)) else (string,)


def _key(message) -> tuple:
    return (message.context, _forms(message.id))


def _untranslated(message) -> bool:
    forms = message.string if isinstance(message.string, tuple) else (message.string,)
    return message.fuzzy or not all(forms)


def test_every_extracted_message_has_an_english_translation(tmp_path):
    extracted = _ids(_extract(tmp_path))
    catalog = _read_po(PO)
    missing = sorted(str(i) for i in extracted - _ids(catalog))
    assert not missing, f"not in messages.po (run `make translations`): {missing}"
    untranslated = sorted(
        str(m.id) for m in catalog if (m.context, m.id) in extracted and _untranslated(m)
    )
    assert not untranslated, f"no English translation in messages.po: {untranslated}"
    stale = sorted(str(i) for i in _ids(catalog) - extracted)
    assert not stale, f"messages.po has messages no longer in the code: {stale}"


def test_translations_keep_their_placeholders():
    problems = [
        f"{message.id!r}: {'; '.join(map(str, errors))}" for message, errors in _read_po(PO).check()
    ]
    assert not problems, problems


def test_compiled_catalogue_matches_the_po():
    catalog = _read_po(PO)
    with MO.open("rb") as fh:
        compiled = read_mo(fh)
    expected = {_key(m): _forms(m.string) for m in catalog if m.id and not _untranslated(m)}
    actual = {_key(m): _forms(m.string) for m in compiled if m.id}
    assert actual == expected, "messages.mo is out of date: run `make translations`"
