"""Triage, forward, accept (a client and a case) and decline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from referral_hub.actors import Actor
from referral_hub.agreements.models import Agreement
from referral_hub.agreements.operations import active_agreements_covering, covering_agreements_for
from referral_hub.audit import operations as audit
from referral_hub.cases import operations as cases
from referral_hub.clients import operations as clients
from referral_hub.db import utcnow
from referral_hub.directory.models import Organization
from referral_hub.intake.models import (
    RISK_LEVELS,
    Intake,
)
from referral_hub.intake.operations.access import (
    FORWARD_SERVICES,
    INTAKE_SERVICE,
    field_error,
    get_owned_intake,
    require_open,
)
from referral_hub.intake.operations.clock import effective_risk, start_clock
from referral_hub.intake.operations.receiving import require_unit
from referral_hub.intake.operations.record import add_step, audit_intake, emit_intake_event
from referral_hub.problems import Problem
from referral_hub.referrals.operations import NO_ACTIVE_AGREEMENT

# --- triage, forward, answer ----------------------------------------------------------------


def triage_intake(actor: Actor, intake_id: str, risk_level: str, note: str | None) -> Intake:
    """Set the risk level; the clock now runs on it, from the intake's arrival."""
    intake = get_owned_intake(actor, intake_id)
    require_open(intake, "triaged")
    if risk_level not in RISK_LEVELS:
        raise field_error("risk_level", f"Risk level is one of {', '.join(RISK_LEVELS)}.")
    now = utcnow()
    intake.risk_level, intake.triaged_at, intake.updated_at = risk_level, now, now
    intake.triage_note = note
    intake.status = "triaged"
    start_clock(intake)
    add_step(actor, intake, "triaged", now, risk_level=risk_level)
    audit_intake(
        actor, "intake.triaged", intake, risk_level=risk_level, respond_by=intake.respond_by
    )
    emit_intake_event(actor, "intake.triaged", intake, [intake.organization_id])
    return intake


def _forward_agreement(unit_id: str, target_id: str, at: dt.datetime) -> Agreement | None:
    """The agreement in force that carries a forward from one unit to another, or None."""
    for service in FORWARD_SERVICES:
        found = active_agreements_covering(unit_id, target_id, service, at)
        if found:
            return found[0]
    return None


def forward_targets(actor: Actor, intake_id: str) -> list[Organization]:
    """The UPTD PPAs the owning unit may forward this intake to now (by name): those with an
    agreement in force that carries a forward (`_forward_agreement`, as `forward_intake`)."""
    intake = get_owned_intake(actor, intake_id)
    now = utcnow()
    found: dict[str, Organization] = {}
    for service in FORWARD_SERVICES:
        for line in covering_agreements_for(intake.organization_id, service, now):
            unit = line.provider
            if unit.type == "uptd_ppa" and unit.id != intake.organization_id:
                found.setdefault(unit.id, unit)
    return sorted(
        (u for u in found.values() if _forward_agreement(intake.organization_id, u.id, now)),
        key=lambda u: u.name,
    )


def forward_intake(actor: Actor, intake_id: str, to: str) -> Intake:
    """Hand the intake to another UPTD PPA along an agreement between the two units; the
    receiving unit owns it from now, its clock starting again; the history stays."""
    intake = get_owned_intake(actor, intake_id)
    require_open(intake, "forwarded")
    target = require_unit(to, "to")
    if target.id == intake.organization_id:
        raise field_error("to", "The intake is already with this unit.")
    now = utcnow()
    agreement = _forward_agreement(intake.organization_id, target.id, now)
    if agreement is None:
        raise Problem(
            422,
            NO_ACTIVE_AGREEMENT,
            f"No agreement in force in which {target.name} takes over intakes or cases from "
            "your unit (complaint_intake or case_management).",
            reason="no-agreement",
            service=INTAKE_SERVICE,
            recipient=target.code,
        )
    before = intake.organization_id
    intake.organization_id, intake.organization = target.id, target
    intake.status, intake.arrived_at, intake.updated_at = "forwarded", now, now
    start_clock(intake)
    add_step(
        actor,
        intake,
        "forwarded",
        now,
        organization_id=before,
        to_organization_id=target.id,
        agreement_id=agreement.id,
    )
    audit.record(
        actor,
        "intake.forwarded",
        "intake",
        intake.id,
        {"number": intake.number, "from": before, "to": target.id, "agreement": agreement.id},
        subject_organization_id=before,
    )
    emit_intake_event(
        actor, "intake.forwarded", intake, [before, target.id, intake.reporting_organization_id]
    )
    return intake


def _client_for(actor: Actor, intake: Intake, data: dict[str, Any]) -> Any:
    if data.get("client"):
        client = clients.find_client_of(actor, data["client"])
        if client is None:
            raise field_error("client", f"No client '{data['client']}' of your unit.")
        return client
    victim = intake.victim or {}
    given = data.get("register") or {}
    details = {
        "full_name": given.get("full_name") or victim.get("name"),
        "birth_date": given.get("birth_date"),
        "sex": given.get("sex") or victim.get("sex"),
        "domicile_region": given.get("domicile_region") or intake.victim_region_code,
    }
    missing = [name for name, value in details.items() if not value]
    if missing:
        raise Problem(
            422,
            "validation-error",
            "To register the victim as a client, give what the intake does not tell.",
            errors={f"register.{name}": ["Missing for a new client."] for name in missing},
        )
    try:
        return clients.register_client(
            actor, nik=given.get("nik"), guardian=given.get("guardian"), **details
        )
    except Problem as problem:
        # the registration's fields are the accept's `register.*` (a child's guardian too)
        if problem.errors:
            problem.errors = {f"register.{k}": v for k, v in problem.errors.items()}
        raise


def accept_intake(actor: Actor, intake_id: str, data: dict[str, Any]) -> tuple[Intake, Any, Any]:
    """Link the victim to an existing client or register one, and open a case with what
    the intake told (violence types, place, date, region, summary, risk), or with what
    `data["case"]` says instead. The one way a case is tied to an intake."""
    intake = get_owned_intake(actor, intake_id)
    require_open(intake, "accepted")
    client = _client_for(actor, intake, data)
    incident = {
        "occurred_on": intake.occurred_on,
        "place_type": intake.place_type,
        "region_code": intake.victim_region_code,
    }
    case_data: dict[str, Any] = {
        "client": client.id,
        "intake": intake.id,
        "risk_level": effective_risk(intake),
        "violence_types": list(intake.violence_types),
        "incident": incident,
        "summary": intake.summary,
    }
    for name in ("caseworker", "supervisor"):
        if data.get(name):
            case_data[name] = data[name]
    # What the caller says of the case (`POST /cases` with `intake`) wins over the intake.
    case_data.update({k: v for k, v in (data.get("case") or {}).items() if k != "intake"})
    case_data["client"] = client.id
    case = cases.open_case(actor, case_data, intake_id=intake.id)
    now = utcnow()
    intake.status, intake.updated_at = "accepted", now
    intake.client_id, intake.case_id = client.id, case.id
    add_step(actor, intake, "accepted", now)
    audit_intake(actor, "intake.accepted", intake, client=client.id, case=case.id)
    emit_intake_event(
        actor, "intake.accepted", intake, [intake.organization_id, intake.reporting_organization_id]
    )
    return intake, client, case


def decline_intake(actor: Actor, intake_id: str, reason: str) -> Intake:
    """Decline with a reason (kept encrypted; the reporter sees the status only)."""
    intake = get_owned_intake(actor, intake_id)
    require_open(intake, "declined")
    if not reason or not reason.strip():
        raise field_error("reason", "Say why the intake is declined.")
    now = utcnow()
    intake.status, intake.updated_at = "declined", now
    intake.decline_reason = reason.strip()
    add_step(actor, intake, "declined", now)
    audit_intake(actor, "intake.declined", intake)
    emit_intake_event(
        actor, "intake.declined", intake, [intake.organization_id, intake.reporting_organization_id]
    )
    return intake
