"""The referral and service reports (API.md, *Reports*): declared in the registry.

`referrals` groups by recipient, sender, service, status, urgency (and month, for the line
chart); `services` by service, its SIMFONI group and its provider (the recipient). Both
count the same referrals, so their figures agree:

- a referral belongs to the period by the day it was sent (WITA); overrides still waiting
  for approval (`draft`) and referrals `entered-in-error` are not counted;
- `accepted`: referrals the recipient accepted (accepted, in progress, on hold, completed,
  failed); `completed`: completed ones; `overdue`: left unanswered past `respond_by`, whether
  still waiting or answered late (the overdue sweep marks those it announced:
  `overdue_notified_at`); `overdue_share` = overdue / count;
- `median_hours_to_answer`: from sending to the recipient's first answer (accept or reject);
- `clients`: each client once per row and once in the total, however many referrals carry
  it. A client's record is held by the unit that registered it, which is the sender of
  every referral that carries it, so a client referred onward to several partners, or
  again, counts once, for the unit holding it. (The person a recipient registers again to
  refer further is another record: the NIK's index is per unit, by design, so the hub
  cannot link the two without personal data. The link comes with intakes: an intake opened
  from a referral names it.)
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select

from referral_hub.db import utcnow
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral, ReferralEvent
from referral_hub.reports.registry import (
    ReportData,
    ReportDefinition,
    ReportRequest,
    register_report,
)
from referral_hub.reports.scopes import RECEIVED, SENT, referral_scope
from referral_hub.reports.simfoni import OTHER, SERVICE_GROUPS

ACCEPTED_STATUSES = ("accepted", "in-progress", "on-hold", "completed", "failed")
NOT_COUNTED = ("draft", "entered-in-error")
ANSWERS = ("accepted", "rejected")
COUNTS = ("count", "accepted", "completed", "overdue", "clients")
RATES = {"overdue_share": ("count", "overdue"), "median_hours_to_answer": ("count",)}
ORG_DIMENSIONS = {
    "recipient": Referral.recipient_organization_id,
    "sender": Referral.sender_organization_id,
    "provider": Referral.recipient_organization_id,
}


def month_of(column):
    """The WITA month (YYYY-MM) of a stored instant, in the database's own dialect."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Makassar", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")


def dimension_column(dimension: str):
    if dimension in ORG_DIMENSIONS:
        return ORG_DIMENSIONS[dimension]
    if dimension == "service":
        return Referral.service_code
    if dimension == "simfoni_group":
        return case(SERVICE_GROUPS, value=Referral.service_code, else_=literal(OTHER))
    if dimension == "status":
        return Referral.status
    if dimension == "urgency":
        return Referral.urgency
    if dimension == "month":
        return month_of(Referral.created_at)
    raise KeyError(dimension)


def scoped(request: ReportRequest) -> list[Any]:
    """The WHERE clauses: the period, what is counted, and the reader's scope."""
    start, after = request.period.bounds()
    clauses = [
        Referral.created_at >= start,
        Referral.created_at < after,
        Referral.status.not_in(NOT_COUNTED),
    ]
    scope = request.scope
    if scope.organization_id is not None:
        column = (
            Referral.recipient_organization_id
            if scope.side == RECEIVED
            else Referral.sender_organization_id
        )
        clauses.append(column == scope.organization_id)
    return clauses


def _answers():
    """Each referral's first answer (accept or reject)."""
    return (
        select(ReferralEvent.referral_id, func.min(ReferralEvent.at).label("answered_at"))
        .where(ReferralEvent.to_status.in_(ANSWERS))
        .group_by(ReferralEvent.referral_id)
        .subquery()
    )


def _measures(now) -> list[Any]:
    late = or_(
        Referral.overdue_notified_at.is_not(None),
        and_(Referral.status == "requested", Referral.respond_by < now),
    )
    return [
        func.count().label("count"),
        func.sum(case((Referral.status.in_(ACCEPTED_STATUSES), 1), else_=0)).label("accepted"),
        func.sum(case((Referral.status == "completed", 1), else_=0)).label("completed"),
        func.sum(case((late, 1), else_=0)).label("overdue"),
        func.count(func.distinct(Referral.client_id)).label("clients"),
    ]


def _grouped(request: ReportRequest, columns: Sequence[Any]) -> Select:
    statement = select(*columns, *_measures(utcnow())).where(*scoped(request))
    return statement.group_by(*columns) if columns else statement


def _medians(request: ReportRequest, columns: Sequence[Any]) -> dict[tuple, float]:
    """Median hours to the first answer per group (the database's own median where it has
    one; SQLite's are taken in Python)."""
    answers = _answers()
    hours = (
        func.extract("epoch", answers.c.answered_at - Referral.created_at) / 3600.0
        if db.engine.dialect.name == "postgresql"
        else (func.julianday(answers.c.answered_at) - func.julianday(Referral.created_at)) * 24.0
    )
    base = (
        select(*columns).join(answers, answers.c.referral_id == Referral.id).where(*scoped(request))
    )
    if db.engine.dialect.name == "postgresql":
        statement = base.add_columns(func.percentile_cont(0.5).within_group(hours).label("median"))
        if columns:
            statement = statement.group_by(*columns)
        return {
            tuple(row[:-1]): float(row[-1])
            for row in db.session.execute(statement)
            if row[-1] is not None
        }
    values: dict[tuple, list[float]] = {}
    for row in db.session.execute(base.add_columns(hours)):
        values.setdefault(tuple(row[:-1]), []).append(float(row[-1]))
    return {key: statistics.median(v) for key, v in values.items()}


def _org_codes(ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(Organization.id, Organization.code).where(Organization.id.in_(ids))
        ).all()
    )


def _figures(values: dict[str, Any], median: float | None) -> dict[str, Any]:
    count = int(values["count"] or 0)
    overdue = int(values["overdue"] or 0)
    return {
        "count": count,
        "accepted": int(values["accepted"] or 0),
        "completed": int(values["completed"] or 0),
        "overdue": overdue,
        "clients": int(values["clients"] or 0),
        "overdue_share": round(overdue / count, 4) if count else None,
        "median_hours_to_answer": round(median, 1) if median is not None else None,
    }


def build(request: ReportRequest) -> ReportData:
    dims = request.group_by
    columns = [dimension_column(d).label(d) for d in dims]
    medians = _medians(request, columns)
    grouped = db.session.execute(_grouped(request, columns)).mappings().all()
    org_ids = {row[d] for row in grouped for d in dims if d in ORG_DIMENSIONS}
    codes = _org_codes(org_ids)
    rows = []
    for row in grouped:
        key = tuple(row[d] for d in dims)
        line = {d: (codes.get(row[d], row[d]) if d in ORG_DIMENSIONS else row[d]) for d in dims}
        line.update(_figures(row, medians.get(key)))
        rows.append(line)
    rows.sort(key=lambda r: (-r["count"], *(str(r[d]) for d in dims)))
    if "month" in dims:
        rows.sort(key=lambda r: r["month"])
    total_row = db.session.execute(_grouped(request, [])).mappings().one()
    total = _figures(total_row, medians.get(()))
    return ReportData(rows=rows, total=total)


REFERRALS = register_report(
    ReportDefinition(
        name="referrals",
        dimensions={
            "recipient": "organization",
            "sender": "organization",
            "service": "service",
            "status": "status",
            "urgency": "urgency",
            "month": "month",
        },
        counts=COUNTS,
        rates=RATES,
        default_group_by=("recipient",),
        build=build,
        scope=referral_scope,
        sides=(SENT, RECEIVED),
    )
)

SERVICES = register_report(
    ReportDefinition(
        name="services",
        dimensions={
            "simfoni_group": "simfoni_group",
            "service": "service",
            "provider": "organization",
            "month": "month",
        },
        counts=COUNTS,
        rates=RATES,
        default_group_by=("simfoni_group",),
        build=build,
        scope=referral_scope,
        sides=(SENT, RECEIVED),
    )
)
