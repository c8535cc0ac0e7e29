"""The case's timeline: everything around its client on one line, the caseworker's home for a
client (the intake it came from, consents, plan, referrals, appointments, notes and disclosures).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.cases.models import Case, CaseNote
from referral_hub.cases.operations.reading import plan_item_status
from referral_hub.cases.signals import timeline_requested
from referral_hub.clients.models import Consent, Disclosure
from referral_hub.extensions import db
from referral_hub.referrals.models import Appointment, Referral


def case_timeline(actor: Actor, case: Case) -> list[dict[str, Any]]:
    """Everything around the case's client on one line, newest first: the case's own steps,
    the intake it came from (added by intake through `timeline_requested`), consents, plan
    items, the unit's referrals (with status) and their appointments, notes, and every
    disclosure of the client's data. Notes' texts are part of the case's read."""
    org_id = case.organization_id
    entries: list[dict[str, Any]] = [
        {"at": case.opened_at, "kind": "case_opened", "number": case.number}
    ]
    if case.closed_at is not None:
        entries.append({"at": case.closed_at, "kind": "case_closed", "status": case.close_reason})
    consents = db.session.scalars(select(Consent).where(Consent.client_id == case.client_id))
    for consent in consents:
        recipients = ", ".join(o.name for o in consent.recipients)
        entries.append(
            {
                "at": consent.created_at,
                "kind": "consent_recorded",
                "id": consent.id,
                "status": consent.status(),
                "organization": recipients,
                "services": list(consent.services),
                "categories": list(consent.data_categories),
            }
        )
        if consent.withdrawn_at is not None:
            entries.append(
                {"at": consent.withdrawn_at, "kind": "consent_withdrawn", "id": consent.id}
            )
    for item in case.plan_items:
        entries.append(
            {
                "at": item.created_at,
                "kind": "plan_item",
                "id": item.id,
                "service": item.service_code,
                "organization": item.provider.name,
                "status": plan_item_status(item),
                "date": item.due_on,
            }
        )
    referrals = db.session.scalars(
        select(Referral).where(
            Referral.client_id == case.client_id, Referral.sender_organization_id == org_id
        )
    ).all()
    for referral in referrals:
        entries.append(
            {
                "at": referral.created_at,
                "kind": "referral",
                "id": referral.id,
                "number": referral.number,
                "service": referral.service_code,
                "organization": referral.recipient.name,
                "status": referral.status,
                "this_case": referral.case_id == case.id,
            }
        )
    appointments = db.session.scalars(
        select(Appointment).where(Appointment.referral_id.in_([r.id for r in referrals]))
    )
    for appointment in appointments:
        entries.append(
            {
                "at": appointment.starts_at,
                "kind": "appointment",
                "id": appointment.id,
                "number": appointment.referral.number,
                "status": appointment.status,
                "organization": appointment.referral.recipient.name,
            }
        )
    for note in db.session.scalars(select(CaseNote).where(CaseNote.case_id == case.id)):
        entries.append(
            {
                "at": note.created_at,
                "kind": "note",
                "id": note.id,
                "text": note.text,
                "date": note.follow_up_on,
                "status": "done" if note.follow_up_done_at else None,
                "author": note.author.name if note.author else None,
            }
        )
    disclosures = db.session.scalars(
        select(Disclosure)
        .where(Disclosure.client_id == case.client_id)
        .order_by(Disclosure.at.desc())
        .limit(100)
    )
    for disclosure in disclosures:
        entries.append(
            {
                "at": disclosure.at,
                "kind": "disclosure",
                "id": disclosure.id,
                "status": disclosure.kind,
                "organization": disclosure.organization.name if disclosure.organization else None,
                "categories": list(disclosure.categories),
                "text": disclosure.context,
            }
        )
    for _receiver, added in timeline_requested.send(case, actor=actor):
        entries.extend(added or [])
    entries.sort(key=lambda e: e["at"], reverse=True)
    return entries
