"""The registry: the agreements an actor sees, filtered, and an agreement's history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from referral_hub.actors import Actor
from referral_hub.agreements.models import (
    Agreement,
    AgreementParty,
    AgreementService,
)
from referral_hub.agreements.operations.access import get_agreement, visible_agreements
from referral_hub.agreements.operations.status import (
    LIVE_STATUSES,
    effective_status_clause,
    local_date,
)
from referral_hub.audit import operations as audit
from referral_hub.audit.models import AuditEntry
from referral_hub.directory.models import Organization
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.problems import Problem


def registry_query(
    actor: Actor,
    *,
    status: str | None = None,
    party: str | None = None,
    service: str | None = None,
    provider: str | None = None,
    region: str | None = None,
    expiring_within_days: int | None = None,
    at: dt.datetime | None = None,
) -> Select:
    """The agreements the actor sees, filtered; statuses are effective at `at` (now)."""
    day = local_date(at)
    query = visible_agreements(actor).options(selectinload(Agreement.renewals))
    if status:
        query = query.where(effective_status_clause(status, day))
    if party:
        org = _require_filter_org(party, "party")
        query = query.where(
            Agreement.id.in_(
                select(AgreementParty.agreement_id).where(AgreementParty.organization_id == org.id)
            )
        )
    if service or provider:
        services = select(AgreementService.agreement_id)
        if service:
            services = services.where(AgreementService.service_code == service)
        if provider:
            org = _require_filter_org(provider, "provider")
            services = services.where(AgreementService.provider_id == org.id)
        query = query.where(Agreement.id.in_(services))
    if region:
        query = query.where(
            Agreement.id.in_(
                select(AgreementParty.agreement_id)
                .join(Organization, Organization.id == AgreementParty.organization_id)
                .where(
                    or_(
                        Organization.region_code == region,
                        Organization.region_code.like(region + ".%"),
                    )
                )
            )
        )
    if expiring_within_days is not None:
        query = query.where(
            or_(*(effective_status_clause(s, day) for s in LIVE_STATUSES)),
            Agreement.expires_on <= day + dt.timedelta(days=expiring_within_days),
        )
    return query.order_by(Agreement.expires_on, Agreement.number, Agreement.id)


def _require_filter_org(ref: str, field: str) -> Organization:
    org = find_organization(ref)
    if org is None:
        raise Problem(
            422,
            "validation-error",
            f"Unknown organisation '{ref}'.",
            errors={field: [f"Unknown organisation '{ref}'."]},
        )
    return org


def agreement_history(actor: Actor, agreement_id: str) -> list[AuditEntry]:
    """Every recorded change and document read of an agreement, oldest first."""
    agreement = get_agreement(actor, agreement_id)
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "agreement", AuditEntry.object_id == agreement.id)
        .order_by(AuditEntry.seq)
    )
    return [e for e in entries if "copy_for" not in (e.detail or {})]


def record_export(
    actor: Actor, filters: dict[str, Any], count: int, file_format: str = "csv"
) -> None:
    """Audit that the actor exported the registry (what was asked, how many rows, in which
    file format)."""
    audit.record(
        actor,
        "agreement.registry_exported",
        "agreement",
        None,
        {
            "filters": {k: v for k, v in filters.items() if v is not None},
            "rows": count,
            "format": file_format,
        },
    )
