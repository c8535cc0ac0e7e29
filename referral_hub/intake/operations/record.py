"""An intake's history, audit entries and events (ids, number, status, links only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.delivery.outbox import emit
from referral_hub.extensions import db
from referral_hub.intake.models import (
    Intake,
    IntakeStep,
)

# --- events and history ---------------------------------------------------------------------


def add_step(actor: Actor, intake: Intake, kind: str, at: dt.datetime, **fields: Any) -> None:
    step = IntakeStep(
        intake_id=intake.id,
        at=at,
        kind=kind,
        organization_id=fields.pop("organization_id", None) or actor.organization_id,
        user_id=actor.user_id,
        **fields,
    )
    db.session.add(step)
    intake.steps.append(step)


def links_of(intake: Intake) -> dict[str, str]:
    return {"self": f"/api/v1/intakes/{intake.id}", "portal": f"/intakes/{intake.id}"}


def emit_intake_event(
    actor: Actor, event_type: str, intake: Intake, organizations: list[str]
) -> None:
    """An intake event: ids, number, status, links; no personal data and nothing the unit
    added (its audience includes the reporting organisation)."""
    emit(
        actor,
        event_type,
        subject_type="intake",
        subject_id=intake.id,
        organizations=organizations,
        data={
            "intake_id": intake.id,
            "number": intake.number,
            "status": intake.status,
            "channel": intake.channel,
            "links": links_of(intake),
        },
    )


def audit_intake(actor: Actor, action: str, intake: Intake, **detail: Any) -> None:
    audit.record(
        actor,
        action,
        "intake",
        intake.id,
        {"number": intake.number, "status": intake.status, **detail},
        subject_organization_id=intake.organization_id,
    )
