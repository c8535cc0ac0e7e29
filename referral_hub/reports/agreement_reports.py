"""The agreements report (API.md, *Reports*): the registry in figures, and coverage gaps.

Dimensions: `status` (effective today), `kind`, `expiring_within_days` (how soon a live
agreement ends: within 30, 90, 180 days, later; `ended` for the rest), `service` (each
covered service of an agreement). Counted: agreements whose term meets the period. With
`service`, `gaps` tells how many units in scope (the reader's organisation, or the
province's UPTD PPA for the hub operator) have no agreement in force today for the service
and do not offer it themselves (the coverage matrix's gaps).

Agreements are between organisations and hold no client: nothing is hidden.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from referral_hub.agreements import operations as agreements
from referral_hub.agreements.models import Agreement, AgreementParty
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from referral_hub.reports.registry import (
    ReportData,
    ReportDefinition,
    ReportRequest,
    register_report,
)
from referral_hub.reports.scopes import party_scope

LIVE = ("signed", "active", "suspended")
EXPIRY_BANDS = ((30, "30"), (90, "90"), (180, "180"))


def expiry_band(status: str, days_left: int) -> str:
    """How soon a live agreement ends: '30', '90', '180' (within so many days), 'later';
    'ended' when it is not live."""
    if status not in LIVE:
        return "ended"
    for limit, band in EXPIRY_BANDS:
        if days_left <= limit:
            return band
    return "later"


def _agreements(request: ReportRequest) -> list[Agreement]:
    query = select(Agreement).options(
        selectinload(Agreement.renewals), selectinload(Agreement.services)
    )
    scope = request.scope
    if scope.organization_id is not None:
        query = query.where(
            Agreement.id.in_(
                select(AgreementParty.agreement_id).where(
                    AgreementParty.organization_id == scope.organization_id
                )
            )
        )
    period = request.period
    query = query.where(
        Agreement.effective_from <= period.end, Agreement.expires_on >= period.start
    )
    return list(db.session.scalars(query))


def _gaps(request: ReportRequest) -> Counter:
    """Service -> units in scope with a gap in the coverage matrix today."""
    scope = request.scope
    system = request.actor if request.actor.is_system else None
    actor = system or request.actor
    if scope.organization_id is not None:
        matrix = agreements.coverage_matrix(actor, for_org=scope.organization_id)
    else:
        own = db.session.get(Organization, request.actor.organization_id)
        region = own.region_code if own is not None and own.region_code else None
        if region is None:
            return Counter()
        matrix = agreements.coverage_matrix(actor, region=region, org_type="uptd_ppa")
    gaps: Counter = Counter()
    for row in matrix["rows"]:
        for cell in row["cells"]:
            gaps[cell["service"]] += cell["state"] == "gap"
    return gaps


def build(request: ReportRequest) -> ReportData:
    dims = request.group_by
    today = agreements.local_date()
    counts: Counter = Counter()
    total = 0
    for agreement in _agreements(request):
        status = agreements.effective_status(agreement)
        values: dict[str, Any] = {
            "status": status,
            "kind": agreement.kind,
            "expiring_within_days": expiry_band(status, (agreement.expires_on - today).days),
        }
        total += 1
        services = (
            sorted({s.service_code for s in agreement.services}) if "service" in dims else [None]
        )
        for service in services:
            values["service"] = service
            counts[tuple(values[d] for d in dims)] += 1
    rows: list[dict[str, Any]] = [
        {**dict(zip(dims, key, strict=True)), "count": n} for key, n in counts.items()
    ]
    if dims == ("service",):
        gaps = _gaps(request)
        seen = {row["service"] for row in rows}
        rows += [{"service": s, "count": 0} for s in gaps if s not in seen and gaps[s]]
        for row in rows:
            row["gaps"] = gaps.get(row["service"], 0)
    rows.sort(key=lambda r: (-r["count"], *(str(r[d]) for d in dims)))
    return ReportData(rows=rows, total={"count": total})


AGREEMENTS = register_report(
    ReportDefinition(
        name="agreements",
        dimensions={
            "status": "agreement_status",
            "kind": "agreement_kind",
            "expiring_within_days": "expiry_band",
            "service": "service",
        },
        counts=(),
        rates={},
        plain=("count", "gaps"),
        default_group_by=("status",),
        build=build,
        scope=party_scope,
    )
)
