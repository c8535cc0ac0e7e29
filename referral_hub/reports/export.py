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


def _cells(values: list[Any], measures: list[str], offset: int, text: bool) -> list[Any]:
    """A row's cells: a hidden count written as hidden, and the share or median that rests on
    it; in a CSV (`text`), a share or a median written as Indonesian reads it (0,5; 25,0%),
    since the file is text."""
    out = list(values)
    derived = [m in labels.SHARES or m.startswith("median_") for m in measures]
    # A share or median is hidden with a hidden count of its row; otherwise None is "no data"
    # (no answer yet to take a median of) and stays an empty cell.
    row_hidden = any(
        out[index] is None
        for index, is_derived in enumerate(derived, start=offset)
        if not is_derived
    )
    for index, measure in enumerate(measures, start=offset):
        if out[index] is None:
            if not derived[index - offset] or row_hidden:
                out[index] = labels.hidden_mark()
        elif text and isinstance(out[index], float):
            out[index] = labels.figure_text(measure, out[index])
    return out


def export_report(actor: Actor, report: dict[str, Any], file_format: str) -> tuple[str, str, Any]:
    """(file name, MIME type, body) of the report in `file_format` (csv or xlsx). The file
    is in Indonesian; its name is in the reader's language."""
    words = labels.file_words()
    with force_locale("id"):
        data = table(report)
        lines = preamble(report)
        offset = len(data.dimensions)
        text = file_format == "csv"
        rows = [_cells(r, data.measures, offset, text) for r in data.rows]
        rows.append(_cells(data.total, data.measures, offset, text))
        if file_format == "xlsx":
            percent = [offset + i for i, m in enumerate(data.measures) if m in labels.SHARES]
            body: Any = write_xlsx(data.title, lines, data.headers, rows, percent_columns=percent)
        else:
            body = write_csv(lines, data.headers, rows)
    record_export(actor, report, file_format)
    unit = (report["unit"] or {}).get("code") or words["province"]
    base = words.get(report["report"], report["report"])
    name = f"{base}-{unit}-{report['from']}-{report['to']}.{file_format}"
    return name, FORMATS[file_format], body
