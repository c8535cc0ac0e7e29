"""The case report (API.md, *Reports*), in SIMFONI-PPA's categories: declared in the registry
like every report, with its own scope rule.

Dimensions: `violence_type` (a case of several types is in each of their rows, so rows by
type add up to more than the total of cases), `age_band` (the client's at the case's
opening), `sex`, `place_type`, `perpetrator_relationship`, `region` (of the incident),
`status`, `risk_level`, `month` (of opening, WITA). Counted: cases opened in the period;
`closed` of them closed since; `clients`, each once in a row and in the total.

A case is held by one unit and its client record is that unit's: a person followed by
several units has a case (and a record) in each, which the hub cannot link without personal
data, so each unit counts its own, and the province counts each unit's once. A unit reads
its own cases in full; the hub operator reads every unit's, with small counts hidden.
Another organisation holds no case: its report is empty.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import joinedload

from referral_hub.actors import Actor
from referral_hub.cases.models import Case
from referral_hub.db import isoformat
from referral_hub.extensions import db
from referral_hub.reports.case_summary import case_summary_state
from referral_hub.reports.models import CaseFact
from referral_hub.reports.registry import (
    WITA,
    ReportData,
    ReportDefinition,
    ReportRequest,
    Scope,
    register_report,
)
from referral_hub.reports.scopes import chosen_organization, sees_every_unit

HOLDER = "holder"


def case_scope(actor: Actor, unit: str | None, side: str | None) -> Scope:
    org = chosen_organization(actor, unit)
    if org is None:
        return Scope(None, None, None, HOLDER, protect=True)
    return Scope(org.id, org.code, org.name, HOLDER, protect=sees_every_unit(actor))


def _values(case: Case) -> dict[str, list[Any]]:
    """Each dimension's values for one case (a list: a case has several violence types)."""
    opened = case.opened_at.astimezone(WITA)
    return {
        "violence_type": list(case.violence_types or []) or [None],
        "age_band": [case.client.age_band(opened.date())],
        "sex": [case.client.sex],
        "place_type": [case.incident_place_type],
        "perpetrator_relationship": [case.perpetrator_relationship],
        "region": [case.incident_region_code],
        "status": [case.status],
        "risk_level": [case.risk_level],
        "month": [opened.strftime("%Y-%m")],
    }


def _keys(values: dict[str, list[Any]], dims: tuple[str, ...]) -> list[tuple]:
    keys: list[tuple] = [()]
    for dim in dims:
        keys = [(*key, value) for key in keys for value in dict.fromkeys(values[dim])]
    return keys


def build(request: ReportRequest) -> ReportData:
    """From the facts once the job has built them (case_summary.py), else from the cases."""
    state = case_summary_state()
    if state is not None:
        return _from_facts(request, state)
    return _from_cases(request)


#: Dimension -> its column in the facts.
FACT_COLUMNS = {
    "violence_type": CaseFact.violence_type,
    "age_band": CaseFact.age_band,
    "sex": CaseFact.sex,
    "place_type": CaseFact.place_type,
    "perpetrator_relationship": CaseFact.perpetrator_relationship,
    "region": CaseFact.region,
    "status": CaseFact.status,
    "risk_level": CaseFact.risk_level,
    "month": CaseFact.month,
}


def _from_facts(request: ReportRequest, state) -> ReportData:
    """The same figures as _from_cases, grouped by PostgreSQL over the facts."""
    dims = request.group_by
    start, after = request.period.bounds()
    where = [CaseFact.opened_at >= start, CaseFact.opened_at < after]
    if request.scope.organization_id is not None:
        where.append(CaseFact.organization_id == request.scope.organization_id)
    closed = func.count().filter(CaseFact.status == "closed")
    clients = func.count(distinct(CaseFact.client_id))
    columns = [FACT_COLUMNS[d] for d in dims]
    # A case is in the row of each of its violence types, and once everywhere else.
    in_rows = where if "violence_type" in dims else [*where, CaseFact.first.is_(True)]
    statement = select(*columns, func.count(), closed, clients).where(*in_rows).group_by(*columns)
    rows = []
    for *key, n, shut, people in db.session.execute(statement):
        values = dict(zip(dims, key, strict=True))
        if "violence_type" in values:
            values["violence_type"] = values["violence_type"] or None
        rows.append({**values, "count": n, "closed": shut, "clients": people})
    _sort(rows, dims)
    n, shut, people = db.session.execute(
        select(func.count(), closed, clients).where(*where, CaseFact.first.is_(True))
    ).one()
    return ReportData(
        rows=rows,
        total={"count": n, "closed": shut, "clients": people},
        as_of=isoformat(state.watermark),
    )


def _sort(rows: list[dict[str, Any]], dims: tuple[str, ...]) -> None:
    rows.sort(key=lambda r: (-r["count"], *(str(r[d]) for d in dims)))
    if "month" in dims:
        rows.sort(key=lambda r: r["month"])


def _from_cases(request: ReportRequest) -> ReportData:
    dims = request.group_by
    start, after = request.period.bounds()
    statement = (
        select(Case)
        .options(joinedload(Case.client))
        .where(Case.opened_at >= start, Case.opened_at < after)
    )
    if request.scope.organization_id is not None:
        statement = statement.where(Case.organization_id == request.scope.organization_id)
    cases = defaultdict(int)
    closed = defaultdict(int)
    clients: dict[tuple, set[str]] = defaultdict(set)
    total = {"count": 0, "closed": 0}
    everyone: set[str] = set()
    for case in db.session.scalars(statement).unique():
        total["count"] += 1
        total["closed"] += case.status == "closed"
        everyone.add(case.client_id)
        for key in _keys(_values(case), dims):
            cases[key] += 1
            closed[key] += case.status == "closed"
            clients[key].add(case.client_id)
    rows = [
        {
            **dict(zip(dims, key, strict=True)),
            "count": n,
            "closed": closed[key],
            "clients": len(clients[key]),
        }
        for key, n in cases.items()
    ]
    _sort(rows, dims)
    return ReportData(rows=rows, total={**total, "clients": len(everyone)})


CASES = register_report(
    ReportDefinition(
        name="cases",
        dimensions={
            "violence_type": "violence",
            "age_band": "age_band",
            "sex": "sex",
            "place_type": "place",
            "perpetrator_relationship": "relationship",
            "region": "region",
            "status": "case_status",
            "risk_level": "risk",
            "month": "month",
        },
        counts=("count", "closed", "clients"),
        rates={},
        default_group_by=("violence_type",),
        build=build,
        scope=case_scope,
    )
)
