"""Crafted referrals for report tests: rows written straight into the tables, so a test
states exactly how many referrals of which kind, sent when, a report must count.

The rows are what the hub writes (an agreement between the parties is built by the
registry's operations); going through the API for dozens of referrals would test the API
again and take long.
"""

from __future__ import annotations

import datetime as dt
import itertools

from referral_hub.clients.models import Client
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral, ReferralEvent
from referral_hub.reports.registry import WITA

_numbers = itertools.count(1)
YEAR = 2025
#: A day in the middle of the crafted year (WITA noon).
MID_YEAR = dt.datetime(YEAR, 6, 15, 12, 0, tzinfo=WITA)


def org_id(code: str) -> str:
    org = find_organization(code)
    assert org is not None, code
    return org.id


def crafted_client(unit: str) -> Client:
    number = next(_numbers)
    client = Client(
        organization_id=org_id(unit),
        code=f"KL-T-{YEAR}-{number:05d}",
        full_name=f"Klien Uji {number}",
        birth_date=dt.date(2012, 1, 1),
        sex="female",
        domicile_region="64.09",
        disability=[],
    )
    db.session.add(client)
    return client


def crafted_referral(
    agreement_id: str,
    client: Client,
    to: str,
    *,
    service: str = "psychological_counseling",
    status: str = "requested",
    urgency: str = "routine",
    sent_at: dt.datetime = MID_YEAR,
    answered_after_hours: float | None = None,
    respond_hours: int = 72,
    overdue_notified: bool = False,
) -> Referral:
    number = next(_numbers)
    referral = Referral(
        number=f"RJ-T-{YEAR}-{number:05d}",
        sender_organization_id=client.organization_id,
        recipient_organization_id=org_id(to),
        client_id=client.id,
        service_code=service,
        agreement_id=agreement_id,
        legal_basis="consent",
        urgency=urgency,
        reason="crafted for a report test",
        data_categories=["demographics"],
        status=status,
        respond_by=sent_at + dt.timedelta(hours=respond_hours),
        overdue_notified_at=(sent_at + dt.timedelta(hours=respond_hours))
        if overdue_notified
        else None,
        created_at=sent_at,
        updated_at=sent_at,
    )
    db.session.add(referral)
    if answered_after_hours is not None:
        db.session.add(
            ReferralEvent(
                referral=referral,
                referral_id=referral.id,
                at=sent_at + dt.timedelta(hours=answered_after_hours),
                action="accept" if status != "rejected" else "reject",
                from_status="requested",
                to_status="rejected" if status == "rejected" else "accepted",
                organization_id=org_id(to),
            )
        )
    return referral


def crafted_case(
    client: Client,
    *,
    violence_types=("physical",),
    place: str = "household",
    relationship: str = "parent",
    status: str = "open",
    opened_at: dt.datetime = MID_YEAR,
):
    from referral_hub.cases.models import Case

    case = Case(
        number=f"KS-T-{YEAR}-{next(_numbers):05d}",
        organization_id=client.organization_id,
        client_id=client.id,
        status=status,
        risk_level="medium",
        violence_types=list(violence_types),
        incident_place_type=place,
        incident_region_code="64.09",
        perpetrator_relationship=relationship,
        opened_at=opened_at,
        updated_at=opened_at,
    )
    db.session.add(case)
    return case


def crafted_intake(
    unit: str,
    *,
    reporter: str | None = None,
    channel: str = "hotline",
    status: str = "accepted",
    risk: str | None = "high",
    triage_after_minutes: float | None = None,
    received_at: dt.datetime = MID_YEAR,
    respond_hours: int = 1,
    announced_late: bool = False,
    forwarded_from: str | None = None,
):
    """An intake as the hub writes it, with its steps (codes only): received at `unit` (or at
    `forwarded_from` and forwarded on), triaged after so many minutes, late if announced."""
    from referral_hub.intake.models import Intake, IntakeStep

    number = next(_numbers)
    owner = org_id(unit)
    intake = Intake(
        number=f"ADU-T-{YEAR}-{number:05d}",
        organization_id=owner,
        reporting_organization_id=org_id(reporter or unit),
        channel=channel,
        status=status,
        victim_region_code="64.09",
        violence_types=["physical"],
        risk_level=risk if triage_after_minutes is not None else None,
        triaged_at=(received_at + dt.timedelta(minutes=triage_after_minutes))
        if triage_after_minutes is not None
        else None,
        respond_by=received_at + dt.timedelta(hours=respond_hours),
        arrived_at=received_at,
        received_at=received_at,
        updated_at=received_at,
    )
    db.session.add(intake)
    first = org_id(forwarded_from) if forwarded_from else owner
    steps = [("received", received_at, first, None)]
    if triage_after_minutes is not None:
        steps.append(
            ("triaged", received_at + dt.timedelta(minutes=triage_after_minutes), first, None)
        )
    if announced_late:
        steps.append(("overdue", received_at + dt.timedelta(hours=respond_hours), owner, None))
    if forwarded_from:
        steps.append(("forwarded", received_at + dt.timedelta(hours=3), first, owner))
    for kind, at, org, to in steps:
        db.session.add(
            IntakeStep(
                intake_id=intake.id,
                at=at,
                kind=kind,
                organization_id=org,
                to_organization_id=to,
                risk_level=risk if kind == "triaged" else None,
            )
        )
    return intake
