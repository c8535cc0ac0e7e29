"""The registry as a CSV file: written once, for the API's export and the portal's.

One agreement a row, UTF-8 with a byte-order mark (so spreadsheet programs read it as
UTF-8), cells a spreadsheet will not run as formulas. Every export is audited with the
filters asked and the number of rows.

Dates and times are written as on every page (portal/moments.py): "3 Des 2026", and
"3 Des 2026, 12.58 WITA" in the hub's time zone, whose name the time column's header
carries too ("created_at (WITA)"), so a reader never has to guess the zone.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from referral_hub.actors import Actor
from referral_hub.agreements import operations as ops
from referral_hub.agreements.models import Agreement
from referral_hub.directory.regions import region_label
from referral_hub.extensions import db
from referral_hub.portal.moments import day, moment, zone_name

EXPORT_COLUMNS = (
    "id",
    "number",
    "kind",
    "title",
    "status",
    "version",
    "supersedes",
    "parties",
    "party_regions",
    "services",
    "data_categories",
    "effective_from",
    "expires_on",
    "response_hours",
    "signed_by",
    "documents",
    "created_at",
)


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def export_header() -> list[str]:
    """The header row: EXPORT_COLUMNS, the time column naming the hub's zone."""
    return [f"{c} ({zone_name()})" if c == "created_at" else c for c in EXPORT_COLUMNS]


def export_row(agreement: Agreement) -> list[str]:
    """One agreement as the export's cells, in EXPORT_COLUMNS order."""
    signed = {s.organization_id: s for s in agreement.signatures}
    values = {
        "id": agreement.id,
        "number": agreement.number,
        "kind": agreement.kind,
        "title": agreement.title,
        "status": ops.effective_status(agreement),
        "version": agreement.version,
        "supersedes": agreement.supersedes_id,
        "parties": "; ".join(p.organization.code for p in agreement.parties),
        # Names beside the codes: "uptd-ppa-ppu: Kabupaten Penajam Paser Utara (64.09)".
        "party_regions": "; ".join(
            f"{p.organization.code}: {region_label(p.organization.region_code) or '-'}"
            for p in agreement.parties
        ),
        "services": "; ".join(f"{s.service_code} by {s.provider.code}" for s in agreement.services),
        "data_categories": "; ".join(agreement.data_categories),
        "effective_from": day(agreement.effective_from),
        "expires_on": day(agreement.expires_on),
        "response_hours": agreement.response_hours,
        "signed_by": "; ".join(
            f"{p.organization.code} {day(signed[p.organization_id].signed_at)}"
            for p in agreement.parties
            if p.organization_id in signed
        ),
        "documents": len(agreement.documents),
        "created_at": moment(agreement.created_at),
    }
    return [csv_cell(values[c]) for c in EXPORT_COLUMNS]


def export_registry(actor: Actor, filters: dict[str, Any]) -> tuple[str, str]:
    """The registry the actor sees, filtered as registry_query, as (file name, CSV text);
    the export is audited in the caller's transaction (the caller commits)."""
    agreements = db.session.scalars(ops.registry_query(actor, **filters)).all()
    out = io.StringIO()
    out.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(export_header())
    for agreement in agreements:
        writer.writerow(export_row(agreement))
    ops.record_export(actor, filters, len(agreements))
    return f"agreements-{ops.local_date().isoformat()}.csv", out.getvalue()
