"""The audit verification's failures in words, for the audit page: each failure a sentence,
objects by their numbers (RJ-…, PKS/…, a consent by its client's code) and fields by their
names, as the log itself shows them (`wording.py`); never a hex id.

`verification.py` keeps its English lines for the CLI and the API's codes; this module reads
the same reports and only words them.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from referral_hub.audit.wording import FIELDS, HEX_ID

#: The deciding fields `decisions.py` compares that the log's own words do not name.
_MORE_FIELDS = {
    "consent": _l("Persetujuan"),
    "withdrawn": _l("Penarikan persetujuan"),
    "content_sha256": _l("Isi dokumen perjanjian"),
}


def _field(name: str) -> str:
    if name in FIELDS:
        return str(FIELDS[name][0])
    return str(_MORE_FIELDS.get(name, name.replace("_", " ")))


def chain_failure(first_bad_seq: int | None, reason: str | None) -> str:
    """Why the chain broke, as a sentence."""
    text = reason or ""
    if m := re.fullmatch(r"entry (\d+) is missing", text):
        return _("Entri nomor %(seq)s hilang dari rantai.", seq=m[1])
    if m := re.fullmatch(r"entry (\d+) does not follow entry (\d+)", text):
        return _(
            "Entri nomor %(seq)s tidak menyambung ke entri nomor %(before)s.", seq=m[1], before=m[2]
        )
    if m := re.fullmatch(r"entry (\d+) was altered", text):
        return _("Entri nomor %(seq)s telah diubah setelah dicatat.", seq=m[1])
    return _("Entri nomor %(seq)s hilang atau telah diubah.", seq=first_bad_seq or 0)


def _checkpoint_reason(reason: str) -> str:
    patterns: tuple[tuple[str, Any], ...] = (
        (
            r"the checkpoints before it \(#1 to #(\d+)\) are missing",
            lambda m: _("titik periksa sebelumnya (no. 1 sampai %(last)s) hilang", last=m[1]),
        ),
        (
            r"the first checkpoint names one before it",
            lambda m: _("titik periksa pertama menyebut titik periksa sebelumnya"),
        ),
        (
            r"checkpoints #(\d+) to #(\d+) are missing",
            lambda m: _(
                "titik periksa no. %(first)s sampai %(last)s hilang", first=m[1], last=m[2]
            ),
        ),
        (
            r"it does not follow checkpoint #(\d+)",
            lambda m: _("tidak menyambung ke titik periksa no. %(number)s", number=m[1]),
        ),
        (
            r"it goes back from checkpoint #(\d+)",
            lambda m: _("mundur dari titik periksa no. %(number)s", number=m[1]),
        ),
        (
            r"it is signed by an unknown key .*",
            lambda m: _("ditandatangani dengan kunci yang tidak dikenal hub"),
        ),
        (r"its signature does not verify", lambda m: _("tanda tangannya tidak sah")),
        (
            r"the chain no longer reaches entry (\d+): it ends at entry (\d+)",
            lambda m: _(
                "rantai tidak lagi sampai ke entri nomor %(entries)s; rantai berakhir di entri "
                "nomor %(top)s",
                entries=m[1],
                top=m[2],
            ),
        ),
        (r"entry (\d+) is missing", lambda m: _("entri nomor %(seq)s hilang", seq=m[1])),
        (
            r"entry (\d+) differs from the signed head",
            lambda m: _("entri nomor %(seq)s berbeda dari yang ditandatangani", seq=m[1]),
        ),
        (
            r"it is not among the hub's checkpoints: .*",
            lambda m: _("tidak ada di antara titik periksa hub: dihapus, atau tidak pernah dibuat"),
        ),
    )
    for pattern, say in patterns:
        if m := re.fullmatch(pattern, reason):
            return str(say(m))
    return _("tidak cocok dengan rantai")


def checkpoint_failure(failure: dict[str, Any]) -> str:
    """A signed checkpoint the chain no longer matches, as a sentence."""
    number = re.match(r"checkpoint #(\d+)", failure["checkpoint"])
    if number:
        which = _(
            "Titik periksa no. %(number)s (%(entries)s entri)",
            number=number[1],
            entries=failure["entries"],
        )
    else:
        which = _(
            "Titik periksa yang disimpan di %(source)s (%(entries)s entri)",
            source=failure["source"],
            entries=failure["entries"],
        )
    return f"{which}: {_checkpoint_reason(failure['reason'])}."


def _numbers(failures: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(object type, id) -> its number: a referral's, an agreement's, a consent's client code."""
    from sqlalchemy import select

    from referral_hub.agreements.models import Agreement
    from referral_hub.clients.models import Client, Consent
    from referral_hub.extensions import db
    from referral_hub.referrals.models import Referral

    ids: dict[str, set[str]] = {}
    for failure in failures:
        ids.setdefault(failure["object_type"], set()).add(failure["object_id"])
    found: dict[tuple[str, str], str] = {}
    queries = {
        "referral": select(Referral.id, Referral.number).where(
            Referral.id.in_(ids.get("referral", ()))
        ),
        "agreement": select(Agreement.id, Agreement.number).where(
            Agreement.id.in_(ids.get("agreement", ()))
        ),
        "consent": select(Consent.id, Client.code)
        .join(Client, Client.id == Consent.client_id)
        .where(Consent.id.in_(ids.get("consent", ()))),
    }
    for kind, query in queries.items():
        if ids.get(kind):
            found.update({(kind, row[0]): row[1] for row in db.session.execute(query)})
    return found


def record_failures(failures: list[dict[str, Any]]) -> list[str]:
    """Rows that decide what is shared and no longer match the chain, as sentences."""
    numbers = _numbers(failures)
    said = []
    for failure in failures:
        kind, oid = failure["object_type"], failure["object_id"]
        number = numbers.get((kind, oid))
        if kind == "consent":
            what = (
                _("Persetujuan klien %(code)s", code=number) if number else _("Sebuah persetujuan")
            )
        elif kind == "agreement":
            what = _("Perjanjian %(number)s", number=number) if number else _("Sebuah perjanjian")
        else:
            what = _("Rujukan %(number)s", number=number) if number else _("Sebuah rujukan")
        if number is None and not HEX_ID.match(oid or ""):
            what = f"{what} ({oid})"
        if failure["reason"] == "unrecorded":
            said.append(_("%(what)s tidak tercatat di rantai.", what=what))
        else:
            said.append(
                _(
                    "%(what)s diubah di luar hub; berbeda dari yang dicatat rantai: %(fields)s.",
                    what=what,
                    fields=", ".join(_field(f) for f in failure["fields"]),
                )
            )
    return said


def verification_failures(verification: Any, records: dict[str, Any]) -> list[str]:
    """Every failure the page may show, one sentence each (rows of the reader's own only)."""
    said = []
    if not verification.chain.ok:
        said.append(chain_failure(verification.chain.first_bad_seq, verification.chain.reason))
    said.extend(checkpoint_failure(f) for f in verification.checkpoints.failures)
    said.extend(record_failures(records["failures"]))
    hidden = records["failed"] - len(records["failures"])
    if hidden > 0:
        said.append(
            _("%(count)d baris lain yang tidak cocok tidak ditampilkan di sini.", count=hidden)
        )
    return said
