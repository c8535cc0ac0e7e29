"""The registry as a file, CSV or XLSX: written once, for the API's export and the portal's.

One agreement a row, with Indonesian headers and names (of the kind, the status, the
parties, the services and the data categories), not machine codes; the number and the id
stay for reference. Dates and times are written as on every page (portal/moments.py): "3 Des
2026", and "3 Des 2026, 12.58 WITA" in the hub's zone, which the time column's header names
too. Both formats are written by `referral_hub.spreadsheets`: CSV UTF-8 with
a byte-order mark, cells a spreadsheet will not run as formulas, numbers as numbers; the
XLSX file also says at its head when it was made and for which organisation. Every export
is audited with the filters asked and the number of rows.
"""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from referral_hub.actors import Actor
from referral_hub.agreements import operations as ops
from referral_hub.agreements.models import Agreement
from referral_hub.directory.models import Organization
from referral_hub.directory.regions import region_label
from referral_hub.extensions import db
from referral_hub.portal.code_names import label, service_label
from referral_hub.portal.moments import day, moment, zone_name
from referral_hub.spreadsheets import XLSX_MIMETYPE, safe_text, write_csv, write_xlsx

#: Column -> its header (Indonesian in every file).
EXPORT_COLUMNS = {
    "id": _l("ID"),
    "number": _l("Nomor"),
    "kind": _l("Jenis"),
    "title": _l("Judul"),
    "status": _l("Status"),
    "version": _l("Versi"),
    "supersedes": _l("Menggantikan (ID)"),
    "parties": _l("Para pihak"),
    "party_regions": _l("Wilayah para pihak"),
    "services": _l("Layanan dan penyedianya"),
    "data_categories": _l("Kategori data yang boleh dibagikan"),
    "effective_from": _l("Berlaku sejak"),
    "expires_on": _l("Berakhir pada"),
    "response_hours": _l("Batas waktu jawaban (jam)"),
    "signed_by": _l("Penandatanganan"),
    "documents": _l("Jumlah dokumen"),
    "created_at": _l("Dibuat"),
}
FORMATS = {"csv": "text/csv", "xlsx": XLSX_MIMETYPE}


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    cell = safe_text(value)
    return cell if isinstance(cell, str) else str(cell)


def export_values(agreement: Agreement) -> list[Any]:
    """One agreement as the export's cells, in EXPORT_COLUMNS order (call under the export's
    locale: names are translated)."""
    signed = {s.organization_id: s for s in agreement.signatures}
    values = {
        "id": agreement.id,
        "number": agreement.number,
        "kind": label("agreement_kind", agreement.kind),
        "title": agreement.title,
        "status": label("agreement_status", ops.effective_status(agreement)),
        "version": agreement.version,
        "supersedes": agreement.supersedes_id,
        "parties": "; ".join(p.organization.name for p in agreement.parties),
        # "UPTD PPA ...: Kabupaten Penajam Paser Utara (64.09)".
        "party_regions": "; ".join(
            f"{p.organization.name}: {region_label(p.organization.region_code) or '-'}"
            for p in agreement.parties
        ),
        "services": "; ".join(
            f"{service_label(s.service_code)} — {s.provider.name}" for s in agreement.services
        ),
        "data_categories": "; ".join(label("category", c) for c in agreement.data_categories),
        "effective_from": day(agreement.effective_from),
        "expires_on": day(agreement.expires_on),
        "response_hours": agreement.response_hours,
        "signed_by": "; ".join(
            f"{p.organization.name} {day(signed[p.organization_id].signed_at)}"
            for p in agreement.parties
            if p.organization_id in signed
        ),
        "documents": len(agreement.documents),
        "created_at": moment(agreement.created_at),
    }
    return [values[c] for c in EXPORT_COLUMNS]


def export_registry(
    actor: Actor, filters: dict[str, Any], file_format: str = "csv"
) -> tuple[str, str, Any]:
    """The registry the actor sees, filtered as registry_query, as (file name, MIME type,
    body); the export is audited in the caller's transaction (the request commits)."""
    agreements = db.session.scalars(ops.registry_query(actor, **filters)).all()
    today = ops.local_date().isoformat()
    with force_locale("id"):
        # the time column names the hub's zone, so a reader never guesses it
        headers = [
            f"{h} ({zone_name()})" if c == "created_at" else str(h)
            for c, h in EXPORT_COLUMNS.items()
        ]
        rows = [export_values(a) for a in agreements]
        if file_format == "xlsx":
            org = (
                db.session.get(Organization, actor.organization_id)
                if actor.organization_id
                else None
            )
            preamble = [
                (str(_l("Daftar")), str(_l("Perjanjian kerja sama"))),
                (str(_l("Tanggal")), day(ops.local_date())),
                (str(_l("Organisasi")), org.name if org is not None else "—"),
            ]
            body: Any = write_xlsx(str(_l("Perjanjian")), preamble, headers, rows)
        else:
            body = write_csv((), headers, rows)
    ops.record_export(actor, filters, len(agreements), file_format)
    return f"agreements-{today}.{file_format}", FORMATS[file_format], body
