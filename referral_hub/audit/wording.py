"""An audit entry in words, for the people who read the log: an Indonesian auditor first.

`describe_entry(entry)` gives three texts: the action ("Perjanjian ditandatangani", not
`agreement.signed`), the object by its number ("Rujukan RJ-2026-000123", "Perjanjian
PKS/001/2026", "Klien KS-2026-0007", "Kasus KL-2026-0003"; a person by name and e-mail),
and the details as short sentences ("Kategori data: Identitas, Kontak."), each value in
words: statuses, categories and services by name, organisations by name, people by name,
moments as every page writes them (portal/moments.py). Ids are looked up in one query per
kind for a whole page (`describe_entries`); an id that names nothing the hub still knows is
shortened, never shown as 32 hex characters.

The entry itself is not changed: the chain hashes what was recorded; this is only reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from referral_hub.audit.models import AuditEntry
from referral_hub.extensions import db
from referral_hub.portal.code_names import label, role_label, service_label
from referral_hub.portal.moments import day, moment

HEX_ID = re.compile(r"^[0-9a-f]{32}$")

#: Keys that name an object of some kind, by id, in an entry's detail.
PERSON_KEYS = ("user", "user_id", "approved_by", "requested_by", "caseworker", "supervisor")
AGREEMENT_KEYS = ("agreement", "supersedes", "by", "renewal")
#: Keys left out of the sentences: the object's own number (already in the object's
#: words), or ids of parts that have no number (a note, a document, a session ...).
SILENT = frozenset(
    {
        "number",
        "code",
        "copy_for",
        "appointment",
        "document",
        "disclosure",
        "item",
        "note",
        "intake",
        "rectification",
        "grant_id",
        "event_id",
        "webhook_id",
        "window_days",
        "consent",
    }
)

#: How each detail is said: its label and how its value is written.
FIELDS: dict[str, tuple[Any, str]] = {
    "from": (_l("Status sebelumnya"), "status"),
    "was": (_l("Status sebelumnya"), "status"),
    "to": (_l("Status baru"), "status"),
    "status": (_l("Status"), "status"),
    "previous_status": (_l("Status pengiriman sebelumnya"), "delivery_status"),
    "reason": (_l("Alasan"), "reason"),
    "recipient": (_l("Penerima"), "org"),
    "recipients": (_l("Penerima"), "orgs"),
    "parties": (_l("Para pihak"), "orgs"),
    "organization": (_l("Organisasi"), "org"),
    "provider": (_l("Penyedia layanan"), "org"),
    "client": (_l("Klien"), "client"),
    "referral": (_l("Rujukan"), "referral"),
    "agreement": (_l("Perjanjian"), "agreement"),
    "supersedes": (_l("Menggantikan perjanjian"), "agreement"),
    "by": (_l("Digantikan oleh perjanjian"), "agreement"),
    "renewal": (_l("Perjanjian perpanjangan"), "agreement"),
    "service": (_l("Layanan"), "service"),
    "services": (_l("Layanan"), "services"),
    "legal_basis": (_l("Dasar pemrosesan"), "legal_basis"),
    "basis": (_l("Dasar pemrosesan"), "basis"),
    "data_categories": (_l("Kategori data"), "categories"),
    "categories": (_l("Kategori data"), "categories"),
    "outcome": (_l("Hasil"), "outcome"),
    "approved_by": (_l("Disetujui oleh"), "person"),
    "requested_by": (_l("Diajukan oleh"), "person"),
    "caseworker": (_l("Pendamping"), "person"),
    "supervisor": (_l("Supervisor"), "person"),
    "user": (_l("Pengguna"), "person"),
    "user_id": (_l("Pengguna"), "person"),
    "email": (_l("Surel"), "text"),
    "role": (_l("Peran"), "role"),
    "name": (_l("Nama"), "text"),
    "type": (_l("Jenis organisasi"), "org_type"),
    "region_code": (_l("Wilayah"), "region"),
    "contacts": (_l("Jumlah kontak"), "text"),
    "starts_at": (_l("Waktu sesi"), "moment"),
    "respond_by": (_l("Batas jawaban"), "moment"),
    "expires_at": (_l("Berlaku sampai"), "moment"),
    "held_until": (_l("Ditahan sampai"), "moment"),
    "locked_until": (_l("Terkunci sampai"), "moment"),
    "in_force_since": (_l("Berlaku sejak"), "moment"),
    "previous_valid_until": (_l("Rahasia lama berlaku sampai"), "moment"),
    "valid_until": (_l("Berlaku sampai"), "day"),
    "due_on": (_l("Tenggat"), "day"),
    "follow_up_on": (_l("Tindak lanjut pada"), "day"),
    "expired_on": (_l("Berakhir pada"), "day"),
    "expires_on": (_l("Berakhir pada"), "day"),
    "signed_on": (_l("Tanggal di kertas"), "day"),
    "days_left": (_l("Sisa hari"), "text"),
    "given_by": (_l("Diberikan oleh"), "giver"),
    "method": (_l("Cara"), "method"),
    "step": (_l("Tahap"), "method"),
    "resembles": (_l("Mirip dengan"), "text"),
    "context": (_l("Keperluan"), "context"),
    "kind": (_l("Jenis perjanjian"), "agreement_kind"),
    "version": (_l("Versi"), "text"),
    "changed": (_l("Yang diubah"), "list"),
    "risk_level": (_l("Tingkat risiko"), "risk"),
    "violence_types": (_l("Jenis kekerasan"), "violence"),
    "filename": (_l("Berkas"), "text"),
    "size": (_l("Ukuran"), "size"),
    "sha256": (_l("Sidik berkas"), "digest"),
    "content_sha256": (_l("Sidik isi"), "digest"),
    "evidence_sha256": (_l("Sidik bukti persetujuan"), "digest"),
    "filters": (_l("Saringan"), "mapping"),
    "rows": (_l("Jumlah baris"), "text"),
    "url": (_l("Alamat"), "text"),
    "events": (_l("Peristiwa"), "list"),
    "path": (_l("Berkas"), "text"),
    "organizations": (_l("Organisasi"), "list"),
    "kept": (_l("Tidak berubah"), "list"),
    "tables": (_l("Tabel"), "keys"),
    "scope": (_l("Izin akses"), "list"),
    "grant_types": (_l("Cara memperoleh token"), "list"),
    "grant_type": (_l("Cara memperoleh token"), "text"),
    "redirect_uris": (_l("Alamat kembali"), "list"),
    "change": (_l("Perubahan"), "change"),
    "revoked_tokens": (_l("Token dicabut"), "text"),
    "endpoint": (_l("Titik akhir"), "text"),
    "address": (_l("Alamat IP"), "text"),
    "unrecorded_before": (_l("Percobaan sebelumnya yang tidak dicatat"), "text"),
    "token_type": (_l("Jenis token"), "text"),
    "token_client_id": (_l("Token milik aplikasi"), "text"),
    "refused_for_role": (_l("Tidak diberikan untuk peran ini"), "list"),
    "source": (_l("Melalui"), "text"),
    "failed_logins": (_l("Percobaan gagal"), "text"),
    "attempt": (_l("Percobaan ke"), "text"),
    "unused_recovery_codes": (_l("Kode pemulihan yang belum terpakai"), "text"),
    "released_counts": (_l("Penahanan dicabut"), "text"),
    "work_phone": (_l("Telepon kantor"), "text"),
    "locale": (_l("Bahasa"), "text"),
    "replaces": (_l("Undangan sebelumnya yang diganti"), "count"),
    "report": (_l("Laporan"), "text"),
    "format": (_l("Format berkas"), "text"),
    "unit": (_l("Unit"), "text"),
    "side": (_l("Sisi"), "text"),
    "group_by": (_l("Dikelompokkan menurut"), "list"),
    "fields": (_l("Isian yang dikoreksi"), "list"),
    "before": (_l("Sebelum"), "text"),
    "after": (_l("Sesudah"), "text"),
    "stored_responses_purged": (_l("Jawaban API tersimpan yang dihapus"), "text"),
}

#: Yes-or-no details, said as a sentence (none: nothing to say).
FLAGS: dict[str, tuple[Any, Any]] = {
    "recorded_on_behalf": (_l("Dicatat oleh pengirim atas nama mitra."), None),
    "erased": (_l("Data pribadi klien telah dihapus."), None),
    "has_nik": (_l("Dengan NIK."), _l("Tanpa NIK.")),
    "has_guardian": (_l("Dengan data orang tua atau wali."), None),
    "client_was_child": (_l("Klien masih anak saat itu."), None),
    "child_assent": (_l("Anak juga menyatakan setuju."), None),
    "all_signed": (
        _l("Semua pihak telah menandatangani."),
        _l("Menunggu tanda tangan pihak lain."),
    ),
    "public": (_l("Aplikasi publik, tanpa rahasia."), None),
    "client_known": (None, _l("Aplikasi tidak dikenal.")),
    "fixed_secret": (_l("Dengan rahasia tetap yang diberikan admin."), None),
}

#: Reasons and methods recorded as codes by the hub itself (a typed reason shows as typed).
WORDS: dict[str, Any] = {
    "unknown": _l("alamat surel tidak dikenal"),
    "wrong": _l("kode salah"),
    "reused": _l("kode sudah pernah dipakai"),
    "expired": _l("sudah kedaluwarsa"),
    "used": _l("sudah dipakai"),
    "revoked": _l("sudah dicabut"),
    "totp": _l("kode aplikasi autentikator"),
    "recovery_code": _l("kode pemulihan"),
    "disabled": _l("dinonaktifkan"),
    "secret_rotated": _l("rahasia diganti"),
    "owner": _l("pemilik data"),
    "sent": _l("dikirim"),
    "sent on approval": _l("dikirim setelah disetujui supervisor"),
    "read": _l("dibaca"),
    "read as FHIR Patient": _l("dibaca oleh aplikasi mitra"),
}
#: A disclosure's context as recorded: "referral:RJ-PPU-2026-000001 sent".
CONTEXT = re.compile(r"^referral:(\S+) (.+)$")

#: The object types known by a number (RJ-…, PKS/…, KS-…, KL-…; a consent by its client's).
NUMBERED = frozenset({"referral", "agreement", "client", "case", "consent"})
#: What each object type's status codes are called.
STATUS_KINDS = {"agreement": "agreement_status", "case": "plan_status"}


@dataclass
class Names:
    """Numbers and names of the objects a page of entries mentions, by id."""

    referrals: dict[str, str] = field(default_factory=dict)
    agreements: dict[str, str] = field(default_factory=dict)
    clients: dict[str, str] = field(default_factory=dict)
    consents: dict[str, str] = field(default_factory=dict)
    cases: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)
    actors: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    organizations: dict[str, str] = field(default_factory=dict)
    apps: dict[str, str] = field(default_factory=dict)


def _ids(entries: Sequence[AuditEntry], object_type: str, keys: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for entry in entries:
        if entry.object_type == object_type and entry.object_id:
            found.add(entry.object_id)
        for key in keys:
            value = (entry.detail or {}).get(key)
            if isinstance(value, str):
                found.add(value)
    return found


def names_for(entries: Sequence[AuditEntry]) -> Names:
    """Look up, one query per kind, what the entries' ids are called."""
    from referral_hub.accounts.models import User
    from referral_hub.agreements.models import Agreement
    from referral_hub.cases.models import Case
    from referral_hub.clients.models import Client, Consent
    from referral_hub.directory.models import Organization
    from referral_hub.oauth.models import OAuthClient
    from referral_hub.referrals.models import Referral

    names = Names()
    if not entries:
        return names

    def lookup(id_column, value_column, ids):
        if not ids:
            return {}
        # .all(): a Result has keys() of its own, which dict() would take for a mapping's
        return dict(
            db.session.execute(select(id_column, value_column).where(id_column.in_(ids))).all()
        )

    names.referrals = lookup(Referral.id, Referral.number, _ids(entries, "referral", ["referral"]))
    names.agreements = lookup(
        Agreement.id, Agreement.number, _ids(entries, "agreement", AGREEMENT_KEYS)
    )
    names.cases = lookup(Case.id, Case.number, _ids(entries, "case", []))
    consent_ids = _ids(entries, "consent", [])
    consent_clients = lookup(Consent.id, Consent.client_id, consent_ids)
    client_ids = _ids(entries, "client", ["client"]) | set(consent_clients.values())
    names.clients = lookup(Client.id, Client.code, client_ids)
    names.consents = {
        cid: names.clients.get(client_id, "") for cid, client_id in consent_clients.items()
    }
    person_ids = _ids(entries, "user", PERSON_KEYS) | {
        e.actor_user_id for e in entries if e.actor_user_id
    }
    if person_ids:
        for user in db.session.execute(
            select(User.id, User.name, User.email).where(User.id.in_(person_ids))
        ):
            names.people[user.id] = f"{user.name} ({user.email})"
            names.actors[user.id] = user.name
            names.emails[user.id] = user.email
    org_refs = _ids(entries, "organization", ["organization", "recipient", "provider"])
    for entry in entries:
        for key in ("recipients", "parties"):
            value = (entry.detail or {}).get(key)
            if isinstance(value, list):
                org_refs |= {v for v in value if isinstance(v, str)}
    if org_refs:
        for org in db.session.execute(
            select(Organization.id, Organization.code, Organization.name).where(
                Organization.id.in_(org_refs) | Organization.code.in_(org_refs)
            )
        ):
            names.organizations[org.id] = org.name
            names.organizations[org.code] = org.name
    names.apps = lookup(OAuthClient.client_id, OAuthClient.name, _ids(entries, "oauth_client", []))
    return names


def _short(value: str) -> str:
    """An id that names nothing known: its first eight characters, not all 32."""
    return value[:8] + "…" if HEX_ID.match(value) else value


def _listed(values: Any, say: Callable[[Any], str]) -> str:
    if isinstance(values, (list, tuple)):
        return ", ".join(say(v) for v in values)
    return say(values)


def _service(item: Any, names: Names) -> str:
    if isinstance(item, (list, tuple)) and len(item) == 2:
        return f"{service_label(item[0])} ({names.organizations.get(item[1], item[1])})"
    if isinstance(item, dict):
        item = item.get("code", "")
    text = str(item)
    mark = text[:1] if text[:1] in "+~=" else ""
    return mark + service_label(text[len(mark) :])


def _value(kind: str, value: Any, entry: AuditEntry, names: Names) -> str:
    def org(v: Any) -> str:
        return names.organizations.get(v, _short(str(v)))

    if kind == "status":
        if isinstance(value, list):  # a session's status: [before, after]
            return " → ".join(label("appointment_status", v) for v in value)
        return label(STATUS_KINDS.get(entry.object_type, "status"), value)
    if kind == "reason":
        for table in ("status_reason", "close_reason"):
            if value in (label_table := _table(table)):
                return str(label_table[value])
        return str(WORDS.get(value, value))
    if kind == "org":
        return org(value)
    if kind == "orgs":
        return _listed(value, org)
    if kind == "client":
        return names.clients.get(value, _short(str(value)))
    if kind == "referral":
        return names.referrals.get(value, _short(str(value)))
    if kind == "agreement":
        return names.agreements.get(value, _short(str(value)))
    if kind == "person":
        return names.people.get(value, _short(str(value)))
    if kind == "service":
        return service_label(value)
    if kind == "services":
        return _listed(value, lambda v: _service(v, names))
    if kind == "categories":
        return _listed(value, lambda v: label("category", v))
    if kind == "violence":
        return _listed(value, lambda v: label("violence", v))
    if kind in ("legal_basis", "outcome", "giver", "risk", "agreement_kind", "org_type"):
        return label(kind, value)
    if kind == "basis":  # "consent:<id>", "legal_obligation", "owner"
        code = str(value).split(":", 1)[0]
        return str(WORDS[code]) if code in WORDS else label("legal_basis", code)
    if kind == "context" and (match := CONTEXT.match(str(value))):
        how = match.group(2)
        return f"{_l('rujukan')} {match.group(1)} {WORDS.get(how, how)}"
    if kind == "delivery_status":
        return label("delivery_status", value)
    if kind == "method":
        return str(WORDS.get(value) or label("method", value))
    if kind == "change":
        return str(WORDS.get(value, value))
    if kind == "role":
        return role_label(value)
    if kind == "region":
        from referral_hub.directory.regions import region_label

        return region_label(value) or str(value)
    if kind == "moment":
        return moment(value)
    if kind == "day":
        return day(value)
    if kind == "size":
        return f"{round(int(value) / 1024, 1)} KB" if str(value).isdigit() else str(value)
    if kind == "digest":
        return str(value)[:12] + "…"
    if kind == "count":
        return str(len(value)) if isinstance(value, list) else str(value)
    if kind == "keys":
        return ", ".join(value) if isinstance(value, dict) else _plain(value)
    if kind == "mapping" and isinstance(value, dict):
        return "; ".join(f"{k} {_plain(v)}" for k, v in value.items()) or "—"
    return _plain(value)


def _table(kind: str) -> dict[str, Any]:
    from referral_hub.portal.code_names import LABELS

    return LABELS.get(kind, {})


def _plain(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return str(_l("ya") if value else _l("tidak"))
    return _short(str(value))


def _sentences(entry: AuditEntry, names: Names) -> list[str]:
    said: list[str] = []
    for key, value in (entry.detail or {}).items():
        if key in SILENT or value is None or value == [] or value == {}:
            continue
        if key in FLAGS:
            sentence = FLAGS[key][0 if value else 1]
            if sentence is not None:
                said.append(str(sentence))
            continue
        if key == "client" and not HEX_ID.match(str(value)):
            said.append(f"{_l('Aplikasi')}: {value}.")  # an app's name (oauth grants)
            continue
        name, kind = FIELDS.get(key, (key.replace("_", " "), "text"))
        said.append(f"{name}: {_value(kind, value, entry, names)}.")
    return said


def _object(entry: AuditEntry, names: Names) -> tuple[str, str]:
    """What the entry is about: its kind's name, and its number or name ('' for none)."""
    kind = str(label("audit_object", entry.object_type))
    oid = entry.object_id
    detail = entry.detail or {}
    known = {
        "referral": names.referrals,
        "agreement": names.agreements,
        "client": names.clients,
        "case": names.cases,
        "consent": names.consents,
        "user": names.emails,
        "organization": names.organizations,
        "oauth_client": names.apps,
    }.get(entry.object_type, {})
    if oid and known.get(oid):
        if entry.object_type == "consent":
            return f"{kind}: {_l('klien')}", known[oid]
        return kind, known[oid]
    # No lookup found it: what the entry itself recorded names it.
    for key in ("number", "code", "email", "name", "url"):
        if isinstance(detail.get(key), str):
            return kind, detail[key]
    return kind, _short(oid) if oid else ""


def describe_entry(entry: AuditEntry, names: Names | None = None) -> dict[str, Any]:
    """The entry in words: {action, object, details, actor}; the object also as its two
    parts, `object_kind` ("Rujukan") and `object_name` (its number), for a page to keep the
    number on one line; details are sentences, space-separated."""
    names = names if names is not None else names_for([entry])
    kind, name = _object(entry, names)
    return {
        "action": label("audit_action", entry.action),
        "object": f"{kind} {name}".strip(),
        "object_kind": kind,
        "object_name": name,
        "object_is_number": entry.object_type in NUMBERED,
        "details": " ".join(_sentences(entry, names)),
        # Who acted, by name (the e-mail is in the object's words of their sign-in entries).
        "actor": names.actors.get(entry.actor_user_id or "", "") or (entry.actor_label or ""),
    }


def describe_entries(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    """Each entry in words, with one lookup per kind of object for them all."""
    names = names_for(entries)
    return [describe_entry(entry, names) for entry in entries]
