"""Receiving a report: the gate, the number, the encrypted details, the first clock."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from referral_hub.actors import Actor
from referral_hub.agreements.operations import active_agreements_covering
from referral_hub.clients import operations as clients
from referral_hub.clients.models import local_today
from referral_hub.db import utcnow
from referral_hub.directory.models import Organization
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.intake.models import (
    OWN_CHANNELS,
    UNIT_ONLY_CHANNELS,
    Intake,
)
from referral_hub.intake.operations.access import (
    INTAKE_SERVICE,
    NUMBER_PREFIX,
    field_error,
    require_right,
)
from referral_hub.intake.operations.clock import start_clock
from referral_hub.intake.operations.record import add_step, audit_intake, emit_intake_event
from referral_hub.problems import Problem, register_problem
from referral_hub.referrals.operations import NO_ACTIVE_AGREEMENT

INTAKE_ALREADY_REPORTED = register_problem(
    "intake-already-reported", "This organisation already reported an intake with this reference"
)

# --- receiving ------------------------------------------------------------------------------


def require_unit(code_or_id: str, field: str) -> Organization:
    org = find_organization(code_or_id) if isinstance(code_or_id, str) else None
    if org is None or org.type != "uptd_ppa":
        raise field_error(field, f"'{code_or_id}' is not a UPTD PPA on the hub.")
    return org


def find_by_external_reference(actor: Actor, reference: str) -> Intake | None:
    """The intake the actor's organisation already reported under its own reference."""
    return db.session.scalar(
        select(Intake).where(
            Intake.reporting_organization_id == actor.organization_id,
            Intake.external_reference == reference,
        )
    )


def already_reported(intake: Intake) -> Problem:
    """409: the reporting organisation's reference names an intake it already made (a
    retry without an Idempotency-Key); the answer names that intake, never a second."""
    return Problem(
        409,
        INTAKE_ALREADY_REPORTED,
        f"Your organisation already reported intake {intake.number} with this "
        "external_reference; it was not recorded again.",
        intake={"id": intake.id, "number": intake.number},
    )


def find_by_form_token(actor: Actor, token: str) -> Intake | None:
    """The intake a portal form with this one-time token already made (a retried submit)."""
    return db.session.scalar(
        select(Intake).where(
            Intake.reporting_organization_id == actor.organization_id, Intake.form_token == token
        )
    )


def receive_intake(actor: Actor, data: dict[str, Any], *, form_token: str | None = None) -> Intake:
    """Record a report to a UPTD PPA: from an organisation under an agreement in force in
    which the unit provides complaint_intake to it, or from the unit itself."""
    require_right(actor, "intakes:write")
    if actor.organization_id is None:
        raise Problem(403, "forbidden", "Intakes are reported by an organisation.")
    if form_token:
        done = find_by_form_token(actor, form_token)
        if done is not None:
            return done
    reference = data.get("external_reference")
    if reference:
        done = find_by_external_reference(actor, reference)
        if done is not None:
            raise already_reported(done)
    unit = require_unit(data["to"], "to")
    now = utcnow()
    agreement_id = None
    if unit.id == actor.organization_id:
        if data["channel"] not in OWN_CHANNELS:
            raise field_error(
                "channel", f"A unit records its own reports as one of {', '.join(OWN_CHANNELS)}."
            )
    else:
        if data["channel"] in UNIT_ONLY_CHANNELS:
            raise field_error(
                "channel", "Only the unit itself records a walk-in; say how the report came."
            )
        agreements = active_agreements_covering(
            actor.organization_id, unit.id, INTAKE_SERVICE, now, hold=True
        )
        if not agreements:
            raise Problem(
                422,
                NO_ACTIVE_AGREEMENT,
                f"No agreement in force in which {unit.name} takes reports from your "
                "organisation (complaint_intake).",
                reason="no-agreement",
                service=INTAKE_SERVICE,
                recipient=unit.code,
            )
        agreement_id = agreements[0].id
    year = local_today(now).year
    serial = clients.take_number(NUMBER_PREFIX, unit.id, year)
    incident = data.get("incident") or {}
    victim = data["victim"]
    intake = Intake(
        number=f"{NUMBER_PREFIX}-{clients.organization_short_code(unit)}-{year}-{serial:06d}",
        organization_id=unit.id,
        organization=unit,
        reporting_organization_id=actor.organization_id,
        agreement_id=agreement_id,
        channel=data["channel"],
        status="received",
        immediate_danger=bool(data.get("immediate_danger")),
        reporter_may_be_contacted=bool(data.get("reporter_may_be_contacted")),
        external_reference=data.get("external_reference"),
        form_token=form_token,
        victim_region_code=victim["region_code"],
        violence_types=list(incident.get("violence_types") or []),
        place_type=incident.get("place_type"),
        occurred_on=incident.get("occurred_on"),
        arrived_at=now,
        received_at=now,
        updated_at=now,
        created_by_user_id=actor.user_id,
        created_by_client_id=actor.client_id,
        steps=[],
    )
    reporter = {k: v for k, v in (data.get("reporter") or {}).items() if v is not None}
    intake.reporter = reporter or None
    personal = {k: v for k, v in victim.items() if k != "region_code" and v is not None}
    intake.victim = personal or None
    intake.summary = incident.get("summary")
    start_clock(intake)
    try:
        with db.session.begin_nested():
            db.session.add(intake)
    except IntegrityError:
        # The same form sent twice at once: the other request's intake holds the token.
        done = find_by_form_token(actor, form_token) if form_token else None
        if done is not None:
            return done
        # The same reference sent twice at once: the other request's intake holds it.
        same = find_by_external_reference(actor, reference) if reference else None
        if same is None:
            raise
        raise already_reported(same) from None
    add_step(actor, intake, "received", now, agreement_id=agreement_id)
    audit_intake(
        actor,
        "intake.received",
        intake,
        channel=intake.channel,
        unit=unit.id,
        agreement=agreement_id,
        immediate_danger=intake.immediate_danger,
    )
    emit_intake_event(actor, "intake.received", intake, [unit.id, actor.organization_id])
    return intake
