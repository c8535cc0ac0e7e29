"""Files people open in a spreadsheet program: CSV and XLSX written one way for every export.

A file starts with a few lines that say what it is (the report, the period, the unit),
then one header row and the table. Numbers stay numbers (XLSX cells are numeric, a share is
formatted as a percentage); text cells a spreadsheet would run as a formula are quoted (CSV
injection, in both formats). CSV is UTF-8 with a byte-order mark, so spreadsheet programs
read it as UTF-8.

XLSX is written with XlsxWriter: it only writes (all an export needs), has no dependency of
its own, streams rows in constant memory, and is actively maintained; openpyxl would bring a
reader and a DOM the hub never uses.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import xlsxwriter

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_text(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula; numbers pass through."""
    if value is None or isinstance(value, bool):
        return "" if value is None else ("ya" if value else "tidak")
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def write_csv(
    preamble: Sequence[tuple[str, str]],
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    for name, value in preamble:
        writer.writerow([safe_text(name), safe_text(value)])
    if preamble:
        writer.writerow([])
    writer.writerow([safe_text(h) for h in headers])
    for row in rows:
        writer.writerow([safe_text(v) for v in row])
    return out.getvalue()


def write_xlsx(
    title: str,
    preamble: Sequence[tuple[str, str]],
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    percent_columns: Sequence[int] = (),
) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = book.add_worksheet(title[:31] or "Sheet1")
    bold = book.add_format({"bold": True})
    percent = book.add_format({"num_format": "0.0%"})
    # Shown with the reader's own decimal sign by the spreadsheet (0,5 in Indonesian).
    decimal = book.add_format({"num_format": "#,##0.0"})
    line = 0
    for name, value in preamble:
        sheet.write_string(line, 0, str(name), bold)
        sheet.write(line, 1, safe_text(value))
        line += 1
    if preamble:
        line += 1
    for column, header in enumerate(headers):
        sheet.write_string(line, column, str(header), bold)
        sheet.set_column(column, column, max(12, min(50, len(str(header)) + 2)))
    header_line = line
    for row in rows:
        line += 1
        for column, value in enumerate(row):
            cell = safe_text(value)
            if isinstance(cell, int | float):
                fmt = (
                    percent
                    if column in percent_columns
                    else decimal
                    if isinstance(cell, float)
                    else None
                )
                sheet.write_number(line, column, cell, fmt)
            else:
                sheet.write_string(line, column, cell)
    sheet.freeze_panes(header_line + 1, 0)
    book.close()
    return out.getvalue()
