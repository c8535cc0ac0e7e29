"""The referral and service reports (API.md, *Reports*): declared in the registry.

`referrals` groups by recipient, sender, service, status, urgency (and month, for the line
chart); `services` by service, its SIMFONI group and its provider (the recipient). Both
count the same referrals, so their figures agree. What is counted: referral_facts.py.

Rows come from the monthly summary (summary.py) when it can answer (whole months, no
status or urgency, a summary built), else from the referrals themselves; both sum the same
columns and finish here, in `_figures`.

`clients` is in a row only where a client has one place: the total, and rows by sender
(the unit holding the client) or by month (of its first referral). A client referred to
several partners, or again, or onward along a chain of referrals of the same record,
counts once. (A person a recipient registers again, to refer further, is another record:
the NIK's index is per unit, by design, so the hub cannot link the two without personal
data; the link comes with intakes, where an intake opened from a referral names it.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import aliased

from referral_hub.db import isoformat, utcnow
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from referral_hub.reports.models import BUCKETS, ClientMonth, ReferralMonth, ReferralYear
from referral_hub.reports.referral_facts import (
    SUMS,
    answers,
    counted,
    first_referrals,
    measures,
    median_from_buckets,
    month_of,
)
from referral_hub.reports.registry import (
    Period,
    ReportData,
    ReportDefinition,
    ReportRequest,
    register_report,
)
from referral_hub.reports.scopes import RECEIVED, SENT, referral_scope
from referral_hub.reports.simfoni import OTHER, SERVICE_GROUPS
from referral_hub.reports.summary import summary_state

COUNTS = ("count", "accepted", "completed", "overdue", "clients")
RATES = {"overdue_share": ("count", "overdue"), "median_hours_to_answer": ("count",)}
ORG_DIMENSIONS = ("recipient", "sender", "provider")
#: Dimensions the summary holds (status and urgency are read from the referrals).
SUMMARY_DIMENSIONS = frozenset(
    {"recipient", "sender", "provider", "service", "simfoni_group", "month"}
)
#: Dimensions by which a client has one row.
CLIENT_DIMENSIONS = frozenset({"sender", "month"})


def _columns(model) -> dict[str, Any]:
    """Dimension -> column, on the referrals or on the summary."""
    if model is Referral:
        base = {
            "recipient": Referral.recipient_organization_id,
            "sender": Referral.sender_organization_id,
            "service": Referral.service_code,
            "status": Referral.status,
            "urgency": Referral.urgency,
            "month": month_of(Referral.created_at),
        }
    else:
        base = {
            "recipient": model.recipient_organization_id,
            "sender": model.sender_organization_id,
            "service": model.service_code,
        }
        if model is ReferralMonth:
            base["month"] = ReferralMonth.month
    base["provider"] = base["recipient"]
    base["simfoni_group"] = case(SERVICE_GROUPS, value=base["service"], else_=literal(OTHER))
    return base


def whole_months(period: Period) -> tuple[str, str] | None:
    """(first, last) months when the period is whole months, else None."""
    after = period.end + dt.timedelta(days=1)
    if period.start.day != 1 or after.day != 1:
        return None
    return period.start.strftime("%Y-%m"), period.end.strftime("%Y-%m")


def _scope_column(request: ReportRequest, model):
    scope = request.scope
    if scope.organization_id is None:
        return None
    columns = _columns(model)
    return columns["recipient" if scope.side == RECEIVED else "sender"]


def _live(request: ReportRequest, dims: Sequence[str], statuses) -> list[dict[str, Any]]:
    start, after = request.period.bounds()
    where = [Referral.created_at >= start, Referral.created_at < after, counted()]
    column = _scope_column(request, Referral)
    if column is not None:
        where.append(column == request.scope.organization_id)
    if statuses:
        where.append(Referral.status.in_(statuses))
    answered = answers(select(Referral.id).where(*where))
    statement = (
        select(*measures(utcnow(), answered.c.answered_at))
        .select_from(Referral)
        .outerjoin(answered, answered.c.referral_id == Referral.id)
        .where(*where)
    )
    return _grouped(statement, _columns(Referral), dims)


def _summarised(request: ReportRequest, dims: Sequence[str], months) -> list[dict[str, Any]]:
    """From the summary: the years' rows for whole years not split by month (summary.py
    says why), else the months'."""
    first, last = months
    if first.endswith("-01") and last.endswith("-12") and "month" not in dims:
        model = ReferralYear
        where = [ReferralYear.year >= first[:4], ReferralYear.year <= last[:4]]
    else:
        model = ReferralMonth
        where = [ReferralMonth.month >= first, ReferralMonth.month <= last]
    column = _scope_column(request, model)
    if column is not None:
        where.append(column == request.scope.organization_id)
    sums = [func.sum(getattr(model, name)).label(name) for name in SUMS]
    statement = select(*sums).select_from(model).where(*where)
    return [row for row in _grouped(statement, _columns(model), dims) if row["count"]]


def _grouped(statement, columns: dict[str, Any], dims: Sequence[str]) -> list[dict[str, Any]]:
    """The statement grouped by the dims; an organisation is named by its code (joined, so
    a province table of two thousand recipients needs no second query)."""
    selected = []
    for dim in dims:
        column = columns[dim]
        if dim in ORG_DIMENSIONS:
            org = aliased(Organization)
            statement = statement.join(org, org.id == column)
            column = org.code
        selected.append(column.label(dim))
    statement = statement.add_columns(*selected)
    if selected:
        statement = statement.group_by(*selected)
    return [dict(row) for row in db.session.execute(statement).mappings()]


def _clients(request: ReportRequest, dims: Sequence[str], months) -> dict[tuple, int] | None:
    """Clients first referred in the period, by the dims (sender, month, or none); None
    when the figures are not about the reader's or the province's clients."""
    scope = request.scope
    if scope.side == RECEIVED or not set(dims) <= CLIENT_DIMENSIONS:
        return None
    if months is not None:
        first, last = months
        columns = {"sender": ClientMonth.organization_id, "month": ClientMonth.month}
        selected = [columns[d].label(d) for d in dims]
        statement = select(*selected, func.sum(ClientMonth.clients)).where(
            ClientMonth.month >= first, ClientMonth.month <= last
        )
        if scope.organization_id is not None:
            statement = statement.where(ClientMonth.organization_id == scope.organization_id)
    else:
        start, after = request.period.bounds()
        firsts = first_referrals()
        columns = {"sender": firsts.c.organization_id, "month": month_of(firsts.c.first)}
        selected = [columns[d].label(d) for d in dims]
        statement = select(*selected, func.count()).where(
            firsts.c.first >= start, firsts.c.first < after
        )
        if scope.organization_id is not None:
            statement = statement.where(firsts.c.organization_id == scope.organization_id)
    if "sender" in dims:
        org = aliased(Organization)
        statement = statement.join(org, org.id == columns["sender"])
        selected[dims.index("sender")] = org.code.label("sender")
        statement = statement.with_only_columns(*selected, *statement.selected_columns[-1:])
    if selected:
        statement = statement.group_by(*selected)
    return {tuple(row[:-1]): int(row[-1] or 0) for row in db.session.execute(statement)}


def _figures(values: dict[str, Any]) -> dict[str, Any]:
    count = int(values.get("count") or 0)
    overdue = int(values.get("overdue") or 0)
    median = median_from_buckets([int(values.get(b) or 0) for b in BUCKETS])
    return {
        "count": count,
        "accepted": int(values.get("accepted") or 0),
        "completed": int(values.get("completed") or 0),
        "overdue": overdue,
        "overdue_share": round(overdue / count, 4) if count else None,
        "median_hours_to_answer": round(median, 1) if median is not None else None,
    }


def build(request: ReportRequest) -> ReportData:
    dims, statuses = request.group_by, request.statuses
    state = summary_state()
    months = whole_months(request.period)
    summarised = (
        state is not None
        and months is not None
        and not statuses
        and set(dims) <= SUMMARY_DIMENSIONS
    )
    # Every referral is in exactly one group, so the total is the groups' sum.
    grouped = _summarised(request, dims, months) if summarised else _live(request, dims, statuses)
    totals = [{name: sum(int(row[name] or 0) for row in grouped) for name in SUMS}]
    clients = _clients(request, dims, months if summarised else None)
    whole = _clients(request, (), months if summarised else None) if not statuses else None
    rows = []
    for row in grouped:
        line = {d: row[d] for d in dims}
        line.update(_figures(row))
        if clients is not None:
            line["clients"] = clients.get(tuple(row[d] for d in dims), 0)
        rows.append(line)
    rows.sort(key=lambda r: (-r["count"], *(str(r[d]) for d in dims)))
    if "month" in dims:
        rows.sort(key=lambda r: r["month"])
    total = _figures(totals[0] if totals else {})
    if whole is not None:
        total["clients"] = whole.get((), 0)
    as_of = isoformat(state.watermark) if summarised else None
    return ReportData(rows=rows, total=total, as_of=as_of)


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
