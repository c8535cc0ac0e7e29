"""Coverage: where an organisation can refer a service today, and under which agreement."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, Select, String, bindparam, or_, select
from sqlalchemy.orm import lazyload, load_only, selectinload

from referral_hub.actors import Actor
from referral_hub.agreements.models import (
    Agreement,
    AgreementParty,
    AgreementService,
)
from referral_hub.agreements.operations.access import sees_every_agreement
from referral_hub.agreements.operations.status import covers_at, effective_status_clause, local_date
from referral_hub.directory.models import Organization, Service
from referral_hub.directory.operations import find_organization, on_hub_ids
from referral_hub.extensions import db
from referral_hub.problems import Problem


@dataclass(frozen=True)
class Coverage:
    """One way to refer a service: the provider and the agreement that allows it."""

    service_code: str
    provider: Organization
    agreement: Agreement

    @property
    def data_categories(self) -> list[str]:
        return list(self.agreement.data_categories)

    @property
    def response_hours(self) -> int:
        return self.agreement.response_hours


def _in_force_candidates(day: dt.date) -> Select:
    # Cheap pre-filter in SQL; the exact rule is effective_status() on each candidate.
    # Coverage and the referral gate read the covered services and the renewals, never the
    # parties, signatures or documents: not loading those saves three queries per call.
    return (
        select(Agreement)
        .where(
            Agreement.status.in_(("signed", "active")),
            Agreement.effective_from <= day,
            Agreement.expires_on >= day,
        )
        .options(
            lazyload(Agreement.parties),
            lazyload(Agreement.signatures),
            lazyload(Agreement.documents),
        )
    )


def active_agreements_covering(
    sender_org_id: str,
    recipient_org_id: str,
    service_code: str,
    at: dt.datetime | dt.date | None = None,
    *,
    hold: bool = False,
) -> list[Agreement]:
    """Agreements in force at `at` between both organisations with the recipient providing
    the service; the one expiring last first. Empty means no referral may be sent.

    `hold` locks them FOR SHARE until the commit, read as they are once the lock is had: an
    ending that committed meanwhile is seen (PostgreSQL re-checks the row it waited for), and
    one still running waits for the caller's commit.
    """
    if sender_org_id == recipient_org_id:
        return []
    day = local_date(at)
    query = (
        _in_force_candidates(day)
        .where(
            Agreement.id.in_(
                select(AgreementParty.agreement_id).where(
                    AgreementParty.organization_id == sender_org_id
                )
            ),
            Agreement.id.in_(
                select(AgreementService.agreement_id).where(
                    AgreementService.service_code == service_code,
                    AgreementService.provider_id == recipient_org_id,
                )
            ),
        )
        .options(selectinload(Agreement.renewals))
        .order_by(Agreement.expires_on.desc(), Agreement.id)
    )
    if hold:
        query = query.with_for_update(read=True, of=Agreement).execution_options(
            populate_existing=True
        )
    return [a for a in db.session.scalars(query) if covers_at(a, day)]


#: What a coverage line shows of its agreement (API, matrix, wizard, consent form).
_COVERAGE_AGREEMENT_COLUMNS = (
    Agreement.id,
    Agreement.number,
    Agreement.kind,
    Agreement.title,
    Agreement.expires_on,
    Agreement.data_categories,
    Agreement.response_hours,
)


@functools.cache
def _coverage_statement(of_one_service: bool) -> Select:
    """The coverage query, built once: its expression (the in-force rule with its renewal
    subquery) cost more CPU to build on every call than the query took to run.

    Bound parameters: `org_id`, `day`, and `service_code` when `of_one_service`.
    """
    org_id = bindparam("org_id", type_=String)
    # One query of the covered services with their provider and agreement: the rule of
    # covers_at() is applied in SQL (effective_status_clause), so no renewals, no lists of
    # services per agreement and no agreement columns a line does not show are loaded.
    query = (
        select(AgreementService.service_code, Organization, Agreement)
        .join(Agreement, Agreement.id == AgreementService.agreement_id)
        .join(Organization, Organization.id == AgreementService.provider_id)
        .where(
            effective_status_clause("active", bindparam("day", type_=Date)),
            AgreementService.provider_id != org_id,
            Agreement.id.in_(
                select(AgreementParty.agreement_id).where(AgreementParty.organization_id == org_id)
            ),
        )
        .options(
            load_only(*_COVERAGE_AGREEMENT_COLUMNS),
            lazyload(Agreement.parties),
            lazyload(Agreement.services),
            lazyload(Agreement.signatures),
            lazyload(Agreement.documents),
            lazyload(Organization.parent),
        )
    )
    if of_one_service:
        query = query.where(AgreementService.service_code == bindparam("service_code"))
    return query


def covering_agreements_for(
    org_id: str,
    service_code: str | None = None,
    at: dt.datetime | dt.date | None = None,
) -> list[Coverage]:
    """Where an organisation can refer (a service) at `at`: provider and agreement for each."""
    params: dict[str, Any] = {"org_id": org_id, "day": local_date(at)}
    if service_code is not None:
        params["service_code"] = service_code
    rows = db.session.execute(_coverage_statement(service_code is not None), params)
    result = [Coverage(code, provider, agreement) for code, provider, agreement in rows]
    result.sort(key=lambda c: (c.service_code, c.provider.code, c.agreement.expires_on))
    return result


def _coverage_subject(actor: Actor, for_org: str | None) -> Organization:
    if not for_org:
        org = db.session.get(Organization, actor.organization_id)
        if org is None:
            raise Problem(422, "validation-error", "Say which organisation: 'for'.")
        return org
    org = find_organization(for_org)
    if org is None:
        raise Problem(
            422,
            "validation-error",
            f"Unknown organisation '{for_org}'.",
            errors={"for": [f"Unknown organisation '{for_org}'."]},
        )
    if not (sees_every_agreement(actor) or org.id == actor.organization_id):
        # Another organisation's agreements are not the caller's to see.
        raise Problem(
            404, "not-found", f"No coverage for '{for_org}' that you may see.", reason="no-coverage"
        )
    return org


def coverage_for(
    actor: Actor,
    *,
    service: str | None = None,
    for_org: str | None = None,
    at: dt.datetime | None = None,
) -> tuple[Organization, list[Coverage]]:
    """The organisations the actor's organisation (or `for_org`) can refer a service to now."""
    org = _coverage_subject(actor, for_org)
    items = covering_agreements_for(org.id, service, at)
    # A covered service exists (agreement_services.service_code is a foreign key): look it
    # up only when nothing covers it, to tell an unknown code from a gap.
    if service is not None and not items and db.session.get(Service, service) is None:
        raise Problem(
            422,
            "validation-error",
            f"Unknown service '{service}'.",
            errors={"service": [f"Unknown service '{service}'."]},
        )
    return org, items


def coverage_matrix(
    actor: Actor,
    *,
    for_org: str | None = None,
    region: str | None = None,
    org_type: str | None = "uptd_ppa",
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Services x organisations: who covers each cell under which agreement, or a gap.

    A cell is `covered` when an agreement in force lets the organisation refer the service
    to another party, `own` when the organisation offers it itself and no agreement covers
    it, and a `gap` otherwise.
    """
    if for_org and region:
        raise Problem(
            422,
            "validation-error",
            "Give either 'for' or 'region'.",
            errors={"region": ["Give either 'for' or 'region', not both."]},
        )
    if region:
        if not (sees_every_agreement(actor)):
            raise Problem(
                403,
                "forbidden",
                "Only the hub operator can see the coverage of a region.",
                reason="hub-operator-only",
            )
        query = select(Organization).where(
            or_(Organization.region_code == region, Organization.region_code.like(region + ".%")),
            Organization.type != "hub_operator",
        )
        if org_type:
            query = query.where(Organization.type == org_type)
        # Each row tells whether the organisation offers a service itself: one query for all.
        query = query.options(selectinload(Organization.services))
        organizations = list(db.session.scalars(query.order_by(Organization.code)))
    else:
        organizations = [_coverage_subject(actor, for_org)]
    services = list(db.session.scalars(select(Service).order_by(Service.position, Service.code)))
    rows = []
    gaps = 0
    for org in organizations:
        by_service: dict[str, list[Coverage]] = {}
        for item in covering_agreements_for(org.id, None, at):
            by_service.setdefault(item.service_code, []).append(item)
        cells = []
        for service in services:
            covered = by_service.get(service.code, [])
            own = org.offers(service.code)
            state = "covered" if covered else ("own" if own else "gap")
            gaps += state == "gap"
            cells.append(
                {
                    "service": service.code,
                    "state": state,
                    "offered_by_self": own,
                    "covered_by": covered,
                }
            )
        rows.append({"organization": org, "cells": cells})
    return {
        "date": local_date(at),
        "services": services,
        "rows": rows,
        "gaps": gaps,
    }


#: Agreements whose parties still work together (a draft too: its partner must sign it).
_LIVE_STATUSES = ("draft", "signed", "active", "suspended")


def partners_not_on_hub(actor: Actor) -> list[dict[str, Any]]:
    """Partners with a live agreement and no one on the hub (no active user, no OAuth
    client): their answers come by phone or letter until someone joins. For the hub
    operator every such party of any agreement; for an organisation, its own partners."""
    parties = (
        select(AgreementParty.organization_id, Agreement.number)
        .join(Agreement, Agreement.id == AgreementParty.agreement_id)
        .where(Agreement.status.in_(_LIVE_STATUSES))
    )
    if not sees_every_agreement(actor):
        mine = select(AgreementParty.agreement_id).where(
            AgreementParty.organization_id == actor.organization_id
        )
        parties = parties.where(
            AgreementParty.agreement_id.in_(mine),
            AgreementParty.organization_id != actor.organization_id,
        )
    numbers: dict[str, set[str]] = {}
    for org_id, number in db.session.execute(parties):
        numbers.setdefault(org_id, set()).add(number)
    off = set(numbers) - on_hub_ids(set(numbers))
    if not off:
        return []
    orgs = db.session.scalars(
        select(Organization).where(Organization.id.in_(off)).order_by(Organization.name)
    )
    return [{"organization": org, "agreements": sorted(numbers[org.id])} for org in orgs]
