"""A report as a table people read: named columns, named values, numbers kept as numbers.

The portal page, its charts and the CSV and XLSX files are all drawn from `table()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from referral_hub.reports import labels
from referral_hub.reports.registry import get_report


@dataclass
class Table:
    title: str
    headers: list[str]
    #: Each row: the dimensions' names, then the figures (None where hidden).
    rows: list[list[Any]]
    total: list[Any]
    dimensions: list[str]
    measures: list[str]
    #: Codes of the first dimension, row by row (for links and charts).
    keys: list[Any]


def unit_name(report: dict[str, Any]) -> str:
    if report["unit"]:
        return report["unit"]["name"]
    return str(_l("Seluruh unit (total provinsi)"))


def period_text(report: dict[str, Any]) -> str:
    return str(_l("%(start)s s.d. %(end)s", start=report["from"], end=report["to"]))


def table(report: dict[str, Any]) -> Table:
    definition = get_report(report["report"])
    dims = report["dimensions"]
    measures = report["measures"]
    org_codes = {
        row[d]
        for row in report["rows"]
        for d in dims
        if definition.dimensions.get(d) == "organization" and row.get(d)
    }
    organizations = labels.organization_names(org_codes)
    rows = [
        [labels.value_name(definition.dimensions[d], row.get(d), organizations) for d in dims]
        + [row.get(m) for m in measures]
        for row in report["rows"]
    ]
    total = [str(_l("Jumlah seluruhnya"))] + [""] * (len(dims) - 1)
    total += [report["total"].get(m) for m in measures]
    return Table(
        title=labels.title(report["report"]),
        headers=[labels.dimension_name(d) for d in dims]
        + [labels.measure_name(m) for m in measures],
        rows=rows,
        total=total,
        dimensions=list(dims),
        measures=list(measures),
        keys=[row.get(dims[0]) for row in report["rows"]],
    )


def preamble(report: dict[str, Any], mark: str | None = None) -> list[tuple[str, str]]:
    """The lines at the head of a file (and of the page): what it is, for which period and
    unit, whether counts are rounded, and how a hidden count is written (`mark`: the
    page's multiplication sign; a file writes the word)."""
    lines = [
        (str(_l("Laporan")), labels.title(report["report"])),
        (str(_l("Periode")), period_text(report)),
        (str(_l("Unit")), unit_name(report)),
    ]
    if report["side"] in labels.SIDES:
        lines.append((str(_l("Cakupan data")), str(labels.SIDES[report["side"]])))
    if report.get("rounded_to"):
        lines.append((str(_l("Pembulatan")), rounding_text(report)))
    if report["suppressed_below"]:
        lines.append(
            (
                str(_l("Kerahasiaan")),
                str(
                    _l(
                        "Angka 1 sampai %(limit)s, dan satu angka lain di baris atau kolom "
                        "yang sama, ditulis \u201c%(mark)s\u201d, agar klien tidak dapat "
                        "dikenali.",
                        limit=report["suppressed_below"] - 1,
                        mark=mark or labels.hidden_mark(),
                    )
                ),
            )
        )
    return lines


def rounding_text(report: dict[str, Any]) -> str:
    """ "Counts rounded to a multiple of 5": said beside the period and the unit."""
    return str(_l("Angka dibulatkan ke kelipatan %(base)s", base=report["rounded_to"]))
