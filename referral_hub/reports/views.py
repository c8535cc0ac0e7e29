"""Laporan in the portal: a report with its filters, a chart beside its table, the files, and
the start page's daily figures. The numbers come from `operations.run_report`, as the API's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from referral_hub.accounts.models import User
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.messages import translate_errors
from referral_hub.portal.navigation import register_nav_entry, register_panel
from referral_hub.portal.templating import CODE_NAMES, MOMENTS, offer_to_templates
from referral_hub.problems import Problem
from referral_hub.reports import labels
from referral_hub.reports.charts import bar_chart, line_chart
from referral_hub.reports.export import FORMATS, export_report
from referral_hub.reports.operations import daily_figures, run_report
from referral_hub.reports.periods import FIRST_YEAR, last_year, today, years_message
from referral_hub.reports.registry import REPORTS, get_report
from referral_hub.reports.scopes import sees_every_unit
from referral_hub.reports.tables import period_text, preamble, table, unit_name

bp = Blueprint("reports_portal", __name__)
offer_to_templates(bp, globals=CODE_NAMES, filters=MOMENTS)

PERIOD_KINDS = ("month", "quarter", "year", "custom")
FIELDS = ("kind", "year", "quarter", "month", "from", "to", "group_by", "unit", "side")


def _values() -> dict[str, str]:
    values = {name: (request.args.get(name) or "").strip()[:64] for name in FIELDS}
    now = today()
    values["kind"] = values["kind"] if values["kind"] in PERIOD_KINDS else "year"
    values["year"] = values["year"] or str(now.year)
    values["quarter"] = values["quarter"] or str((now.month - 1) // 3 + 1)
    values["month"] = values["month"] or str(now.month)
    return values


def _period_args(values: dict[str, str], errors: dict[str, list[str]]) -> dict[str, Any]:
    """The form's period as run_report's arguments."""
    kind = values["kind"]
    if kind == "custom":
        return {"start": values["from"] or None, "end": values["to"] or None}
    if not values["year"].isdigit() or not FIRST_YEAR <= int(values["year"]) <= last_year():
        errors["year"] = [
            _("Isi tahun %(first)s sampai %(last)s.", first=FIRST_YEAR, last=last_year())
        ]
        return {"period": str(today().year)}
    if kind == "year":
        return {"period": values["year"]}
    if kind == "quarter":
        if values["quarter"] not in ("1", "2", "3", "4"):
            errors["quarter"] = [_("Pilih triwulan 1 sampai 4.")]
            return {"period": values["year"]}
        return {"period": f"{values['year']}-Q{values['quarter']}"}
    if not values["month"].isdigit() or not 1 <= int(values["month"]) <= 12:
        errors["month"] = [_("Pilih bulan dari daftar.")]
        return {"period": values["year"]}
    return {"period": f"{values['year']}-{int(values['month']):02d}"}


def _run(name: str, values: dict[str, str], errors: dict[str, list[str]], **override: Any):
    args = {
        **_period_args(values, errors),
        "group_by": values["group_by"] or None,
        "unit": values["unit"] or None,
        "side": values["side"] or None,
        **override,
    }
    try:
        return run_report(portal_actor(), name, **args)
    except Problem as problem:
        if problem.status != 422:
            raise
        refused = problem.errors or {"group_by": [problem.detail]}
        dates = ("from", "to", "period")
        errors.update({f: _period_messages(t) for f, t in refused.items() if f in dates})
        # A grouping, unit or side the page does not offer came from an edited address.
        chosen = ("group_by", "unit", "side")
        errors.update(
            {
                f: [_("Pilihan ini tidak dikenal; pilih dari daftar.")]
                for f in refused
                if f in chosen
            }
        )
        errors.update(
            translate_errors({k: v for k, v in refused.items() if k not in dates + chosen})
        )
        keep = {k: v for k, v in args.items() if k not in refused}
        if {"from", "to", "period"} & set(refused):
            # The figures shown meanwhile: this year, whole (a period any report accepts).
            keep = {k: v for k, v in keep.items() if k not in ("start", "end", "period")}
            keep["period"] = str(today().year)
        return run_report(portal_actor(), name, **keep)


def _period_messages(texts: list[str]) -> list[str]:
    """The period's refusals in the reader's language (the API's words are English)."""
    known = {
        "Give the first day of a month.": _(
            "Laporan ini menyembunyikan angka kecil, jadi periodenya bulan penuh: mulai dari "
            "tanggal 1."
        ),
        "Give the last day of a month.": _(
            "Laporan ini menyembunyikan angka kecil, jadi periodenya bulan penuh: sampai "
            "tanggal terakhir bulan."
        ),
        years_message(): _(
            "Isi tahun %(first)s sampai %(last)s.", first=FIRST_YEAR, last=last_year()
        ),
        "Give a date as YYYY-MM-DD.": _("Isi tanggal yang sah."),
        "'to' comes before 'from'.": _("Tanggal akhir sebelum tanggal awal."),
    }
    return [known.get(str(text), str(text)) for text in texts]


def _chart(report: dict[str, Any], data) -> Any:
    measure = "count" if "count" in data.measures else data.measures[0]
    column = len(data.dimensions) + data.measures.index(measure)
    values = [row[column] for row in data.rows]
    names = [" · ".join(str(c) for c in row[: len(data.dimensions)]) for row in data.rows]
    title = _(
        "%(report)s menurut %(dimension)s",
        report=data.title,
        dimension=labels.dimension_name(data.dimensions[0]).lower(),
    )
    description = _(
        "%(measure)s, %(period)s, %(unit)s. Angka yang sama ada di tabel di sampingnya.",
        measure=labels.measure_name(measure),
        period=period_text(report),
        unit=unit_name(report),
    )
    if report["dimensions"] == ["month"]:
        return line_chart(title, description, names, values)
    return bar_chart(title, description, names, values)


def _unit_choices() -> list[tuple[str, str]]:
    return [
        (code, name)
        for code, name in db.session.execute(
            select(Organization.code, Organization.name)
            .where(Organization.type != "hub_operator")
            .order_by(Organization.name)
        )
    ]


def _quick_periods(report: str, values: dict[str, str]) -> list[tuple[str, str, bool]]:
    """One-step periods for a head of unit: this month, last month, this year (label, link,
    whether it is the period shown), keeping the grouping, unit and side."""
    now = today()
    last = (now.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    keep = {k: values[k] for k in ("group_by", "unit", "side") if values.get(k)}
    choices = (
        (_("Bulan ini"), {"kind": "month", "year": str(now.year), "month": str(now.month)}),
        (_("Bulan lalu"), {"kind": "month", "year": str(last.year), "month": str(last.month)}),
        (_("Tahun ini"), {"kind": "year", "year": str(now.year)}),
    )
    return [
        (
            label,
            url_for(".show", report=report, **period, **keep),
            all(values.get(k) == v for k, v in period.items()),
        )
        for label, period in choices
    ]


@login_required(permission="reports:read")
def index():
    return redirect(url_for(".show", report="referrals"))


@login_required(permission="reports:read")
def show(report: str):
    """One report: filters, a bar chart by the chosen grouping, the monthly line, tables."""
    definition = get_report(report)
    actor = portal_actor()
    values = _values()
    errors: dict[str, list[str]] = {}
    result = _run(report, values, errors)
    data = table(result)
    monthly = None
    if "month" in definition.dimensions and result["dimensions"] != ["month"]:
        by_month = _run(report, values, {}, group_by="month")
        monthly_table = table(by_month)
        monthly = {"table": monthly_table, "chart": _chart(by_month, monthly_table)}
    file_args = {k: v for k, v in values.items() if v and k not in errors}
    return render_template(
        "reports/report.html",
        report=result,
        definition=definition,
        reports=[(name, labels.title(name)) for name in REPORTS],
        data=data,
        chart=_chart(result, data) if data.rows else None,
        monthly=monthly,
        lines=preamble(result, labels.HIDDEN_MARK),
        hidden=(labels.HIDDEN_MARK, labels.hidden_mark()),
        values=values,
        errors=errors,
        dimensions=[(d, labels.dimension_name(d)) for d in definition.dimensions],
        sides=[(s, str(labels.SIDES[s])) for s in definition.sides],
        units=_unit_choices() if sees_every_unit(actor) else [],
        months=[(str(m), labels.month_name(f"2000-{m:02d}").split()[0]) for m in range(1, 13)],
        files={fmt: url_for(".export", report=report, fmt=fmt, **file_args) for fmt in FORMATS},
        shares=labels.SHARES,
        figure=labels.figure_text,
        quick=_quick_periods(report, values),
    ), (422 if errors else 200)


@login_required(permission="reports:read")
def export(report: str, fmt: str):
    """The report as a CSV or XLSX file (audited), with the page's filters."""
    values = _values()
    errors: dict[str, list[str]] = {}
    args = {
        **_period_args(values, errors),
        "group_by": values["group_by"] or None,
        "unit": values["unit"] or None,
        "side": values["side"] or None,
    }
    if errors:
        raise Problem(422, "validation-error", "The period is not valid.", errors=errors)
    actor = portal_actor()
    result = run_report(actor, report, **args)
    name, mimetype, body = export_report(actor, result, fmt)
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


bp.add_url_rule("/reports", "index", index)
bp.add_url_rule("/reports/<report>", "show", show)
bp.add_url_rule("/reports/<report>/export.<any(csv, xlsx):fmt>", "export", export)

register_nav_entry("reports_portal.index", labels.NAV_LABEL, order=95)


def daily_readers(user: User) -> bool:
    """Administrators and supervisors: the people who keep an eye on the unit every day."""
    return user.role in ("org_admin", "supervisor")


register_panel(
    "daily-figures",
    "reports/_daily_panel.html",
    audience=daily_readers,
    data=daily_figures,
    order=5,
)
