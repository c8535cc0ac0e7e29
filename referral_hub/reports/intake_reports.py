"""The intake report (API.md, *Reports*): declared in the registry like every report, with its
own scope rule.

Dimensions: `channel`, `risk_level` (the triaged one; none before triage), `status`, `unit`
(the UPTD PPA that owns the intake now: the receiving one after a forward, so an intake
passed along a chain of units is counted once, by the last), `month` (of receipt, WITA).
Counted: intakes received in the period; `triaged` of them; `overdue`: still unanswered past
their time now, or answered after the hub announced them late. Figures:
`median_minutes_to_triage` (from receipt to the first triage) and `overdue_share`.

Who reads what:
- a receiving unit its own intakes, in full;
- the hub operator every unit's (or one, with `unit=`) and the province total, small counts
  hidden;
- a reporting organisation (PATBM, Puspaga, an app's office) what it reported: counts only,
  never by risk level (it never sees an intake's risk), small counts hidden, since the
  intakes are now the units' clients.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.intake.models import OPEN_STATUSES, Intake
from referral_hub.problems import Problem
from referral_hub.reports.registry import (
    WITA,
    ReportData,
    ReportDefinition,
    ReportRequest,
    Scope,
    register_report,
)
from referral_hub.reports.scopes import chosen_organization, sees_every_unit

OWNER, REPORTER = "owner", "reporter"
COUNTS = ("count", "triaged", "overdue")
RATES = {"median_minutes_to_triage": ("count", "triaged"), "overdue_share": ("count", "overdue")}
#: What a reporting organisation may group its intakes by (no risk level: it never sees it).
REPORTER_DIMENSIONS = ("channel", "status", "unit", "month")


def intake_scope(actor: Actor, unit: str | None, side: str | None) -> Scope:
    org = chosen_organization(actor, unit)
    if org is None:
        return Scope(None, None, None, OWNER, protect=True)
    if sees_every_unit(actor) or org.type == "uptd_ppa":
        return Scope(org.id, org.code, org.name, OWNER, protect=sees_every_unit(actor))
    return Scope(org.id, org.code, org.name, REPORTER, protect=True)


def _first_triage(intake: Intake) -> dt.datetime | None:
    times = [step.at for step in intake.steps if step.kind == "triaged"]
    return min(times) if times else intake.triaged_at


def is_late(intake: Intake, now: dt.datetime) -> bool:
    """Unanswered past its time now; or answered, after the hub announced it late."""
    if intake.status in OPEN_STATUSES:
        return intake.respond_by < now
    return any(step.kind == "overdue" for step in intake.steps)


def _values(intake: Intake) -> dict[str, Any]:
    return {
        "channel": intake.channel,
        "risk_level": intake.risk_level,
        "status": intake.status,
        "unit": intake.organization.code,
        "month": intake.received_at.astimezone(WITA).strftime("%Y-%m"),
    }


def _median(minutes: list[float]) -> float | None:
    return round(statistics.median(minutes), 1) if minutes else None


def build(request: ReportRequest) -> ReportData:
    dims, scope = request.group_by, request.scope
    reporter = scope.side == REPORTER
    if reporter and not set(dims) <= set(REPORTER_DIMENSIONS):
        message = "A reporting organisation's intakes group by: " + ", ".join(REPORTER_DIMENSIONS)
        raise Problem(422, "validation-error", message, errors={"group_by": [message]})
    start, after = request.period.bounds()
    statement = select(Intake).where(Intake.received_at >= start, Intake.received_at < after)
    if scope.organization_id is not None:
        owner = Intake.reporting_organization_id if reporter else Intake.organization_id
        statement = statement.where(owner == scope.organization_id)
    if request.statuses:
        statement = statement.where(Intake.status.in_(request.statuses))
    now = utcnow()
    groups: dict[tuple, dict[str, Any]] = defaultdict(
        lambda: {"count": 0, "triaged": 0, "overdue": 0, "minutes": []}
    )
    everything = groups[("__total__",)]
    for intake in db.session.scalars(statement.order_by(Intake.received_at)):
        values = _values(intake)
        triaged_at = _first_triage(intake)
        late = is_late(intake, now)
        for group in (groups[tuple(values[d] for d in dims)], everything):
            group["count"] += 1
            group["overdue"] += late
            if triaged_at is not None:
                group["triaged"] += 1
                group["minutes"].append((triaged_at - intake.received_at).total_seconds() / 60)
    total_group = groups.pop(("__total__",))

    def figures(group: dict[str, Any]) -> dict[str, Any]:
        if reporter:
            return {"count": group["count"]}
        count = group["count"]
        return {
            "count": count,
            "triaged": group["triaged"],
            "overdue": group["overdue"],
            "median_minutes_to_triage": _median(group["minutes"]),
            "overdue_share": round(group["overdue"] / count, 4) if count else None,
        }

    rows = [{**dict(zip(dims, key, strict=True)), **figures(g)} for key, g in groups.items()]
    rows.sort(key=lambda r: (-r["count"], *(str(r[d]) for d in dims)))
    if "month" in dims:
        rows.sort(key=lambda r: r["month"])
    return ReportData(rows=rows, total=figures(total_group))


INTAKES = register_report(
    ReportDefinition(
        name="intakes",
        dimensions={
            "channel": "intake_channel",
            "risk_level": "risk",
            "status": "intake_status",
            "unit": "organization",
            "month": "month",
        },
        counts=COUNTS,
        rates=RATES,
        default_group_by=("channel",),
        build=build,
        scope=intake_scope,
    )
)
