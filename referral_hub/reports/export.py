"""A report as a CSV or XLSX file: Indonesian headers and names, numbers as numbers, the
period and the unit at the head of the file. Taking a report away is audited."""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale

from referral_hub.actors import Actor
from referral_hub.reports import labels
from referral_hub.reports.operations import record_export
from referral_hub.reports.tables import preamble, table
from referral_hub.spreadsheets import XLSX_MIMETYPE, write_csv, write_xlsx

FORMATS = {"csv": "text/csv", "xlsx": XLSX_MIMETYPE}


def _cells(values: list[Any], measures: list[str], offset: int) -> list[Any]:
    out = list(values)
    for index, measure in enumerate(measures, start=offset):
        if (
            out[index] is None
            and measure not in labels.SHARES
            and not measure.startswith("median_")
        ):
            out[index] = labels.hidden_mark()
    return out


def export_report(actor: Actor, report: dict[str, Any], file_format: str) -> tuple[str, str, Any]:
    """(file name, MIME type, body) of the report in `file_format` (csv or xlsx)."""
    with force_locale("id"):
        data = table(report)
        lines = preamble(report)
        offset = len(data.dimensions)
        rows = [_cells(r, data.measures, offset) for r in data.rows]
        rows.append(_cells(data.total, data.measures, offset))
        if file_format == "xlsx":
            percent = [offset + i for i, m in enumerate(data.measures) if m in labels.SHARES]
            body: Any = write_xlsx(data.title, lines, data.headers, rows, percent_columns=percent)
        else:
            body = write_csv(lines, data.headers, rows)
    record_export(actor, report, file_format)
    unit = (report["unit"] or {}).get("code") or "provinsi"
    name = f"laporan-{report['report']}-{unit}-{report['from']}-{report['to']}.{file_format}"
    return name, FORMATS[file_format], body
