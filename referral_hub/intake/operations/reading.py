"""What a reader sees of an intake: all for the owning unit; what it sent and the status for
the reporter; the status for a unit it passed through."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from referral_hub.actors import Actor
from referral_hub.directory.operations import org_ref
from referral_hub.extensions import db
from referral_hub.intake.models import (
    OPEN_STATUSES,
    Intake,
)
from referral_hub.intake.operations.access import side_of
from referral_hub.intake.operations.clock import effective_risk, is_overdue

# --- what a reader sees ---------------------------------------------------------------------


def history(intake: Intake, *, full: bool) -> list[dict[str, Any]]:
    """The intake's steps, oldest first; the reporter's side sees no risk levels."""
    return [
        {
            "at": step.at,
            "kind": step.kind,
            "organization": org_ref(step.organization),
            "to": org_ref(step.to_organization),
            "risk_level": step.risk_level if full else None,
        }
        for step in intake.steps
        if full or step.kind != "overdue"
    ]


def closed_at(intake: Intake) -> Any:
    """When the unit closed the intake (accepted or declined); None while it is open: a
    closed intake's clock no longer runs, and its pages say this instead of a deadline."""
    if intake.status in OPEN_STATUSES:
        return None
    closing = [step.at for step in intake.steps if step.kind == intake.status]
    return max(closing) if closing else intake.updated_at


def sent_content(intake: Intake) -> dict[str, Any]:
    """What the reporting organisation sent: reporter, victim, incident and its flags."""
    victim = dict(intake.victim or {})
    return {
        "reporter": intake.reporter,
        "victim": {**victim, "region_code": intake.victim_region_code},
        "incident": {
            "violence_types": list(intake.violence_types),
            "summary": intake.summary,
            "place_type": intake.place_type,
            "occurred_on": intake.occurred_on,
        },
        "immediate_danger": intake.immediate_danger,
        "reporter_may_be_contacted": intake.reporter_may_be_contacted,
    }


def intake_view(actor: Actor, intake: Intake, *, listing: bool = False) -> dict[str, Any]:
    """The intake as the actor may see it: everything for the owning unit; for the reporting
    organisation what it sent with the status and history; the status and history alone for
    a unit it passed through. In a list (`listing`) the reporter's side gets the status
    alone: its words are read one intake at a time."""
    full = side_of(actor, intake) == "unit"
    view: dict[str, Any] = {
        "id": intake.id,
        "number": intake.number,
        "status": intake.status,
        "channel": intake.channel,
        "to": org_ref(intake.organization),
        "reported_by": org_ref(intake.reporting_organization),
        "external_reference": intake.external_reference,
        "received_at": intake.received_at,
        "updated_at": intake.updated_at,
        "history": history(intake, full=full),
    }
    sender = intake.reporting_organization_id == actor.organization_id
    if full or (sender and not listing):
        # What the report said: the unit's, and the sender's own words (API.md: "sees what
        # it sent"). A unit the intake only passed through keeps the status alone.
        view.update(sent_content(intake))
    if not full:
        return view
    view.update(
        risk_level=intake.risk_level,
        effective_risk=effective_risk(intake),
        triage_note=intake.triage_note,
        triaged_at=intake.triaged_at,
        respond_by=intake.respond_by,
        overdue=is_overdue(intake),
        closed_at=closed_at(intake),
        decline_reason=intake.decline_reason,
        client=intake.client_id,
        case=intake.case_id,
    )
    return view


def intake_entries_for_case(case: Any, *, actor: Actor) -> list[dict[str, Any]]:
    """The case's timeline entries of the intake it came from (a receiver of
    `cases.signals.timeline_requested`): each step (arrival, triage, forward, acceptance)
    with the intake's number and channel. Only an intake the case's unit owns: a case naming
    another unit's intake shows none of it. Codes and names of organisations only."""
    found = db.session.scalars(
        select(Intake).where(
            Intake.organization_id == case.organization_id,
            or_(Intake.case_id == case.id, Intake.id == case.intake_id),
        )
    ).all()
    entries: list[dict[str, Any]] = []
    for intake in found:
        if side_of(actor, intake) != "unit":
            continue
        for step in intake.steps:
            place = step.organization.name
            if step.to_organization is not None:
                place = f"{place} → {step.to_organization.name}"
            entries.append(
                {
                    "at": step.at,
                    "kind": "intake",
                    "status": step.kind,
                    "id": intake.id,
                    "number": intake.number,
                    "channel": intake.channel,
                    "risk_level": step.risk_level,
                    "organization": place,
                }
            )
    return entries
