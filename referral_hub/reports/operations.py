"""Running a report: who may, for whom, over which period, grouped how; small counts hidden.

The API, the portal page, the exports and the start page's daily figures all call
`run_report` (or `daily_figures`), so they give the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.agreements.models import Agreement, AgreementParty
from referral_hub.audit import operations as audit
from referral_hub.directory.models import Organization
from referral_hub.directory.operations import on_hub_ids
from referral_hub.extensions import db
from referral_hub.intake.models import OPEN_STATUSES as INTAKE_OPEN
from referral_hub.problems import Problem
from referral_hub.referrals.lifecycle import OPEN_STATUSES
from referral_hub.reports import (  # noqa: F401 (each declares its reports)
    agreement_reports,
    case_reports,
    intake_reports,
    referral_reports,
)
from referral_hub.reports.periods import month_end, resolve_period, today
from referral_hub.reports.registry import REPORTS, ReportRequest, get_report
from referral_hub.reports.scopes import sees_every_unit
from referral_hub.reports.suppression import ROUNDED_TO, SUPPRESSED_BELOW, protect

#: At most this many dimensions at once (a table people can read, and fewer tiny cells).
MAX_DIMENSIONS = 2


def may_read_reports(actor: Actor) -> bool:
    return actor.has_scope("reports:read")


def require_reader(actor: Actor) -> None:
    if not may_read_reports(actor):
        raise Problem(403, "forbidden", "Reading reports needs the reports:read permission.")


def parse_group_by(definition, group_by: str | Sequence[str] | None) -> tuple[str, ...]:
    if not group_by:
        return definition.default_group_by
    names = group_by.split(",") if isinstance(group_by, str) else list(group_by)
    dims = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    unknown = [d for d in dims if d not in definition.dimensions]
    if unknown or not dims or len(dims) > MAX_DIMENSIONS:
        message = (
            f"Group by one or two of: {', '.join(definition.dimensions)}."
            if not unknown
            else f"Unknown dimension '{unknown[0]}'; give: {', '.join(definition.dimensions)}."
        )
        raise Problem(422, "validation-error", message, errors={"group_by": [message]})
    return dims


def run_report(
    actor: Actor,
    name: str,
    *,
    start: Any = None,
    end: Any = None,
    period: str | None = None,
    group_by: str | Sequence[str] | None = None,
    unit: str | None = None,
    side: str | None = None,
    statuses: Sequence[str] = (),
) -> dict[str, Any]:
    """The report as API.md gives it: {report, from, to, dimensions, rows, total,
    suppressed_below, rounded_to, unit, side}. Rows hold codes and figures, never personal
    data."""
    require_reader(actor)
    definition = get_report(name)
    dims = parse_group_by(definition, group_by)
    scope = definition.scope(actor, unit, side)
    protected = scope.protect and bool(definition.counts)
    # Figures about clients the reader does not hold: whole months, hidden, rounded.
    chosen_period = resolve_period(start, end, period, whole_months=protected)
    request = ReportRequest(
        actor=actor, period=chosen_period, group_by=dims, scope=scope, statuses=tuple(statuses)
    )
    data = definition.build(request)
    rows, total = data.rows, data.total
    if protected:
        rows, total = protect(rows, total, dims, definition.counts, definition.rates)
    present = [m for m in definition.measures if any(m in r for r in [*rows, total])]
    return {
        "report": definition.name,
        "from": chosen_period.start.isoformat(),
        "to": chosen_period.end.isoformat(),
        "dimensions": list(dims),
        "measures": present,
        "unit": (
            {"code": scope.organization_code, "name": scope.organization_name}
            if scope.organization_id
            else None
        ),
        "side": scope.side,
        "rows": rows,
        "total": total,
        "suppressed_below": SUPPRESSED_BELOW if protected else None,
        "rounded_to": ROUNDED_TO if protected else None,
        "as_of": data.as_of,
    }


def record_export(actor: Actor, report: dict[str, Any], file_format: str) -> None:
    """Audit that the actor took a report away as a file (what was asked, how many rows)."""
    audit.record(
        actor,
        "report.exported",
        "report",
        None,
        {
            "report": report["report"],
            "format": file_format,
            "from": report["from"],
            "to": report["to"],
            "unit": (report["unit"] or {}).get("code"),
            "side": report["side"],
            "group_by": report["dimensions"],
            "rows": len(report["rows"]),
        },
    )


def report_names() -> list[str]:
    return list(REPORTS)


#: Everything still open: ten years back is further than any referral stays open.
OPEN_LOOKBACK_DAYS = 3650


def daily_figures(actor: Actor) -> dict[str, Any]:
    """The start page's figures for administrators and supervisors, from the reports above:
    open referrals, overdue ones (still unanswered past their time), agreements expiring
    within 90 days, and partners (parties to the reader's agreements; every organisation
    for the hub operator) that nobody answers for on the hub."""
    # Whole months, as a protected report must be: the future holds nothing yet.
    end = month_end(today())
    start = (today() - dt.timedelta(days=OPEN_LOOKBACK_DAYS)).replace(day=1)
    by_status = run_report(
        actor, "referrals", start=start, end=end, group_by="status", statuses=OPEN_STATUSES
    )
    open_rows = [r for r in by_status["rows"] if r["status"] in OPEN_STATUSES]

    def total(rows: list[dict[str, Any]], measure: str) -> int | None:
        values = [r[measure] for r in rows]
        return None if any(v is None for v in values) else sum(values)

    late_rows = [r for r in by_status["rows"] if r["status"] == "requested"]
    by_expiry = run_report(
        actor, "agreements", start=today(), end=today(), group_by="expiring_within_days"
    )
    expiring = sum(
        r["count"] for r in by_expiry["rows"] if r["expiring_within_days"] in ("30", "90")
    )
    partners = partner_ids(actor)
    return {
        "open_referrals": total(open_rows, "count"),
        "overdue_referrals": total(late_rows, "overdue"),
        **open_intakes(actor, start, end),
        "agreements_expiring_90": expiring,
        "partners_off_hub": len(partners - on_hub_ids(partners)),
        "side": by_status["side"],
        "province": sees_every_unit(actor),
        "suppressed_below": by_status["suppressed_below"],
    }


def open_intakes(actor: Actor, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Intakes still owed an answer, and those of them past their time, from the intake
    report: a unit's own (the province's for the hub operator); a reporting organisation
    sees how many of its reports are still open (not which are late: that is the unit's).
    Nothing for an organisation that neither receives nor has reported any."""
    report = run_report(
        actor, "intakes", start=start, end=end, group_by="status", statuses=INTAKE_OPEN
    )
    figures = report["total"]
    if report["side"] != intake_reports.OWNER and figures["count"] == 0:
        return {}
    shown = {"open_intakes": figures["count"], "intakes_side": report["side"]}
    if "overdue" in figures:
        shown["overdue_intakes"] = figures["overdue"]
    return shown


def partner_ids(actor: Actor) -> set[str]:
    """The organisations the reader works with: parties to its agreements (not ended);
    every organisation but the hub operator's for the hub operator."""
    if sees_every_unit(actor):
        return set(
            db.session.scalars(select(Organization.id).where(Organization.type != "hub_operator"))
        )
    own = select(AgreementParty.agreement_id).where(
        AgreementParty.organization_id == actor.organization_id
    )
    return set(
        db.session.scalars(
            select(AgreementParty.organization_id)
            .join(Agreement, Agreement.id == AgreementParty.agreement_id)
            .where(
                AgreementParty.agreement_id.in_(own),
                AgreementParty.organization_id != actor.organization_id,
                Agreement.status.not_in(("terminated", "expired", "superseded")),
            )
        )
    )
