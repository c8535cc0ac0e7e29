"""The rules of intakes: who may report to which unit, the clock, forwarding, the answer.

Who sees an intake:
- the unit that owns it (the UPTD PPA it was sent or forwarded to) sees everything;
- the organisation that reported it, and a unit that forwarded it on, see its number, channel,
  status and dates only: never the risk level, notes, decline reason, client or case;
- everyone else gets 404, as for an intake that does not exist.

The gate is the referrals': an organisation reports to a UPTD PPA only under an agreement in
force in which that unit provides `complaint_intake` to it (`no-active-agreement`). A unit
recording its own walk-ins, calls and outreach needs none. A forward goes along an agreement
in force between the two units in which the receiving unit provides `complaint_intake` or
`case_management`: the one handing over the victim's matter to the unit of the victim's
domicile is the unit's intake or case work, and either service written into a PKS between two
units covers it.

The clock: an intake is answered (accepted, declined or forwarded) by `respond_by`, counted
from its arrival at the unit that owns it: the unit's hours for its risk level (defaults 1 h,
6 h, 72 h). Before triage its risk is `high` if the reporter said there is immediate danger,
else `medium`. An intake past its time is announced once per clock (`intake.overdue` and an
e-mail to the unit's supervisors with the number and a link only).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, case, select, update

from referral_hub.actors import Actor
from referral_hub.agreements.operations import active_agreements_covering
from referral_hub.audit import operations as audit
from referral_hub.cases import operations as cases
from referral_hub.clients import operations as clients
from referral_hub.clients.models import local_today
from referral_hub.db import utcnow
from referral_hub.delivery.notifications import notify_intake_overdue
from referral_hub.delivery.outbox import emit
from referral_hub.directory.models import Organization
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.intake.models import (
    DEFAULT_HOURS,
    OPEN_STATUSES,
    OWN_CHANNELS,
    RISK_LEVELS,
    Intake,
    IntakeClock,
    IntakeStep,
)
from referral_hub.problems import INVALID_TRANSITION, Problem
from referral_hub.referrals.operations import NO_ACTIVE_AGREEMENT

NUMBER_PREFIX = "ADU"
#: The service a unit provides to a reporting organisation under the agreement that lets it in.
INTAKE_SERVICE = "complaint_intake"
#: Services of an agreement between two units that carry a forward (see the module's rule).
FORWARD_SERVICES = ("complaint_intake", "case_management")


# --- who is acting --------------------------------------------------------------------------


def _require(actor: Actor, permission: str) -> None:
    if not actor.has_scope(permission):
        raise Problem(403, "forbidden", f"Intakes need the right '{permission}'.")


def _not_found(intake_id: str) -> Problem:
    return Problem(404, "not-found", f"No intake '{intake_id}'.")


def _field_error(field: str, message: str) -> Problem:
    return Problem(422, "validation-error", message, errors={field: [message]})


def side_of(actor: Actor, intake: Intake) -> str | None:
    """'unit' for the owning unit (and the system), 'reporter' for the reporting organisation
    and units it passed through; None for everyone else."""
    if actor.is_system or intake.organization_id == actor.organization_id:
        return "unit"
    if intake.reporting_organization_id == actor.organization_id:
        return "reporter"
    if any(step.organization_id == actor.organization_id for step in intake.steps):
        return "reporter"
    return None


def get_intake_for(actor: Actor, intake_id: str, permission: str = "intakes:read") -> Intake:
    """An intake the actor may see (either side), else 404."""
    _require(actor, permission)
    intake = db.session.get(Intake, intake_id) if isinstance(intake_id, str) else None
    if intake is None or side_of(actor, intake) is None:
        raise _not_found(intake_id)
    return intake


def _owned(actor: Actor, intake_id: str) -> Intake:
    """An intake the actor's unit owns, for changing; the reporter's side gets 404 too."""
    intake = get_intake_for(actor, intake_id, "intakes:write")
    if side_of(actor, intake) != "unit":
        raise _not_found(intake_id)
    return intake


def _require_open(intake: Intake, action: str) -> None:
    if intake.status not in OPEN_STATUSES:
        raise Problem(
            409,
            INVALID_TRANSITION,
            f"Intake {intake.number} is {intake.status}; it cannot be {action}.",
            status_now=intake.status,
            number=intake.number,
        )


# --- the clock ------------------------------------------------------------------------------


def response_hours(organization_id: str, risk_level: str) -> int:
    """The unit's hours to answer an intake of this risk (its own, else the default)."""
    own = db.session.get(IntakeClock, (organization_id, risk_level))
    return own.hours if own is not None else DEFAULT_HOURS[risk_level]


def set_response_hours(actor: Actor, hours: dict[str, int]) -> None:
    """A unit's own hours per risk level (a supervisor's or the system's decision)."""
    _require(actor, "intakes:write")
    if not (actor.is_system or actor.role in (None, "supervisor")):
        raise Problem(403, "forbidden", "A supervisor sets the unit's intake clock.")
    org = clients.require_uptd(actor)
    for level, value in hours.items():
        if level not in RISK_LEVELS or not isinstance(value, int) or not 0 < value <= 24 * 30:
            raise _field_error(level, "Hours must be between 1 and 720.")
        row = db.session.get(IntakeClock, (org.id, level))
        if row is None:
            db.session.add(IntakeClock(organization_id=org.id, risk_level=level, hours=value))
        else:
            row.hours = value
    audit.record(
        actor,
        "intake.clock_set",
        "organization",
        org.id,
        dict(hours),
        subject_organization_id=org.id,
    )


def effective_risk(intake: Intake) -> str:
    """The risk the clock runs on: the triaged one, else high in immediate danger, else medium."""
    if intake.risk_level:
        return intake.risk_level
    return "high" if intake.immediate_danger else "medium"


def _start_clock(intake: Intake) -> None:
    hours = response_hours(intake.organization_id, effective_risk(intake))
    intake.respond_by = intake.arrived_at + dt.timedelta(hours=hours)
    intake.overdue_notified_at = None


def is_overdue(intake: Intake, now: dt.datetime | None = None) -> bool:
    return intake.status in OPEN_STATUSES and intake.respond_by < (now or utcnow())


# --- events and history ---------------------------------------------------------------------


def _step(actor: Actor, intake: Intake, kind: str, at: dt.datetime, **fields: Any) -> None:
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


def _links(intake: Intake) -> dict[str, str]:
    return {"self": f"/api/v1/intakes/{intake.id}", "portal": f"/intakes/{intake.id}"}


def _emit(actor: Actor, event_type: str, intake: Intake, organizations: list[str]) -> None:
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
            "links": _links(intake),
        },
    )


def _audit(actor: Actor, action: str, intake: Intake, **detail: Any) -> None:
    audit.record(
        actor,
        action,
        "intake",
        intake.id,
        {"number": intake.number, "status": intake.status, **detail},
        subject_organization_id=intake.organization_id,
    )


# --- receiving ------------------------------------------------------------------------------


def _unit(code_or_id: str, field: str) -> Organization:
    org = find_organization(code_or_id) if isinstance(code_or_id, str) else None
    if org is None or org.type != "uptd_ppa":
        raise _field_error(field, f"'{code_or_id}' is not a UPTD PPA on the hub.")
    return org


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
    _require(actor, "intakes:write")
    if actor.organization_id is None:
        raise Problem(403, "forbidden", "Intakes are reported by an organisation.")
    if form_token:
        done = find_by_form_token(actor, form_token)
        if done is not None:
            return done
    unit = _unit(data["to"], "to")
    now = utcnow()
    agreement_id = None
    if unit.id == actor.organization_id:
        if data["channel"] not in OWN_CHANNELS:
            raise _field_error(
                "channel", f"A unit records its own reports as one of {', '.join(OWN_CHANNELS)}."
            )
    else:
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
    _start_clock(intake)
    db.session.add(intake)
    _step(actor, intake, "received", now, agreement_id=agreement_id)
    _audit(
        actor,
        "intake.received",
        intake,
        channel=intake.channel,
        unit=unit.id,
        agreement=agreement_id,
        immediate_danger=intake.immediate_danger,
    )
    _emit(actor, "intake.received", intake, [unit.id, actor.organization_id])
    return intake


# --- triage, forward, answer ----------------------------------------------------------------


def triage_intake(actor: Actor, intake_id: str, risk_level: str, note: str | None) -> Intake:
    """Set the risk level; the clock now runs on it, from the intake's arrival."""
    intake = _owned(actor, intake_id)
    _require_open(intake, "triaged")
    if risk_level not in RISK_LEVELS:
        raise _field_error("risk_level", f"Risk level is one of {', '.join(RISK_LEVELS)}.")
    now = utcnow()
    intake.risk_level, intake.triaged_at, intake.updated_at = risk_level, now, now
    intake.triage_note = note
    intake.status = "triaged"
    _start_clock(intake)
    _step(actor, intake, "triaged", now, risk_level=risk_level)
    _audit(actor, "intake.triaged", intake, risk_level=risk_level, respond_by=intake.respond_by)
    _emit(actor, "intake.triaged", intake, [intake.organization_id])
    return intake


def forward_intake(actor: Actor, intake_id: str, to: str) -> Intake:
    """Hand the intake to another UPTD PPA along an agreement between the two units; the
    receiving unit owns it from now, its clock starting again; the history stays."""
    intake = _owned(actor, intake_id)
    _require_open(intake, "forwarded")
    target = _unit(to, "to")
    if target.id == intake.organization_id:
        raise _field_error("to", "The intake is already with this unit.")
    now = utcnow()
    agreement = None
    for service in FORWARD_SERVICES:
        found = active_agreements_covering(intake.organization_id, target.id, service, now)
        if found:
            agreement = found[0]
            break
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
    _start_clock(intake)
    _step(
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
    _emit(actor, "intake.forwarded", intake, [before, target.id, intake.reporting_organization_id])
    return intake


def _client_for(actor: Actor, intake: Intake, data: dict[str, Any]) -> Any:
    if data.get("client"):
        client = clients.find_client_of(actor, data["client"])
        if client is None:
            raise _field_error("client", f"No client '{data['client']}' of your unit.")
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
    return clients.register_client(actor, nik=given.get("nik"), **details)


def accept_intake(actor: Actor, intake_id: str, data: dict[str, Any]) -> tuple[Intake, Any, Any]:
    """Link the victim to an existing client or register one, and open a case with what
    the intake told (violence types, place, date, region, summary, risk)."""
    intake = _owned(actor, intake_id)
    _require_open(intake, "accepted")
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
    case = cases.open_case(actor, case_data)
    now = utcnow()
    intake.status, intake.updated_at = "accepted", now
    intake.client_id, intake.case_id = client.id, case.id
    _step(actor, intake, "accepted", now)
    _audit(actor, "intake.accepted", intake, client=client.id, case=case.id)
    _emit(
        actor, "intake.accepted", intake, [intake.organization_id, intake.reporting_organization_id]
    )
    return intake, client, case


def decline_intake(actor: Actor, intake_id: str, reason: str) -> Intake:
    """Decline with a reason (kept encrypted; the reporter sees the status only)."""
    intake = _owned(actor, intake_id)
    _require_open(intake, "declined")
    if not reason or not reason.strip():
        raise _field_error("reason", "Say why the intake is declined.")
    now = utcnow()
    intake.status, intake.updated_at = "declined", now
    intake.decline_reason = reason.strip()
    _step(actor, intake, "declined", now)
    _audit(actor, "intake.declined", intake)
    _emit(
        actor, "intake.declined", intake, [intake.organization_id, intake.reporting_organization_id]
    )
    return intake


# --- lists ----------------------------------------------------------------------------------


def urgency_order() -> Any:
    """Open intakes first, the most urgent risk first, then the earliest due."""
    risk = case(
        (Intake.risk_level == "high", 0),
        (Intake.risk_level == "medium", 1),
        (Intake.risk_level == "low", 2),
        (Intake.immediate_danger.is_(True), 0),
        else_=1,
    )
    still_open = case((Intake.status.in_(OPEN_STATUSES), 0), else_=1)
    return (still_open, risk, Intake.respond_by, Intake.id)


def intakes_query(actor: Actor, *, box: str = "received", status: str | None = None) -> Select:
    """`received`: the unit's intakes by urgency and due time; `sent`: those the actor's
    organisation reported, newest first."""
    _require(actor, "intakes:read")
    if box == "sent":
        query = select(Intake).where(Intake.reporting_organization_id == actor.organization_id)
        order: tuple[Any, ...] = (Intake.received_at.desc(), Intake.id)
    else:
        query = select(Intake).where(Intake.organization_id == actor.organization_id)
        order = urgency_order()
    if status:
        query = query.where(Intake.status == status)
    return query.order_by(*order)


def overdue_intakes(actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """The unit's intakes past their time (supervisors' home page): numbers and times only."""
    now = utcnow()
    query = (
        select(Intake)
        .where(
            Intake.organization_id == actor.organization_id,
            Intake.status.in_(OPEN_STATUSES),
            Intake.respond_by < now,
        )
        .order_by(*urgency_order()[1:])
        .limit(limit)
    )
    return [
        {
            "id": intake.id,
            "number": intake.number,
            "risk_level": effective_risk(intake),
            "respond_by": intake.respond_by,
        }
        for intake in db.session.scalars(query)
    ]


def sweep_overdue_intakes(now: dt.datetime | None = None) -> list[str]:
    """Announce, once per clock, each open intake past its time: `intake.overdue` to its
    unit and an e-mail to the unit's supervisors (number and link). The numbers announced."""
    now = now or utcnow()
    actor = Actor.system("scheduler:overdue-intakes")
    due = db.session.scalars(
        select(Intake)
        .where(
            Intake.status.in_(OPEN_STATUSES),
            Intake.respond_by < now,
            Intake.overdue_notified_at.is_(None),
        )
        .limit(500)
        .with_for_update(of=Intake, skip_locked=True)
    ).all()
    announced = []
    for intake in due:
        claimed = db.session.execute(
            update(Intake)
            .where(Intake.id == intake.id, Intake.overdue_notified_at.is_(None))
            .values(overdue_notified_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        _step(actor, intake, "overdue", now, organization_id=intake.organization_id)
        _audit(actor, "intake.overdue", intake, respond_by=intake.respond_by)
        _emit(actor, "intake.overdue", intake, [intake.organization_id])
        notify_intake_overdue(
            intake.number, intake.organization_id, _links(intake)["portal"], intake.respond_by
        )
        announced.append(intake.number)
    return announced


# --- what a reader sees ---------------------------------------------------------------------


def _org_ref(org: Organization | None) -> dict[str, str] | None:
    return {"id": org.id, "code": org.code, "name": org.name} if org is not None else None


def history(intake: Intake, *, full: bool) -> list[dict[str, Any]]:
    """The intake's steps, oldest first; the reporter's side sees no risk levels."""
    return [
        {
            "at": step.at,
            "kind": step.kind,
            "organization": _org_ref(step.organization),
            "to": _org_ref(step.to_organization),
            "risk_level": step.risk_level if full else None,
        }
        for step in intake.steps
        if full or step.kind != "overdue"
    ]


def intake_view(actor: Actor, intake: Intake) -> dict[str, Any]:
    """The intake as the actor may see it: everything for the owning unit; number, channel,
    status and history for the reporter's side."""
    full = side_of(actor, intake) == "unit"
    view: dict[str, Any] = {
        "id": intake.id,
        "number": intake.number,
        "status": intake.status,
        "channel": intake.channel,
        "to": _org_ref(intake.organization),
        "reported_by": _org_ref(intake.reporting_organization),
        "external_reference": intake.external_reference,
        "received_at": intake.received_at,
        "updated_at": intake.updated_at,
        "history": history(intake, full=full),
    }
    if not full:
        return view
    victim = dict(intake.victim or {})
    incident = {
        "violence_types": list(intake.violence_types),
        "summary": intake.summary,
        "place_type": intake.place_type,
        "occurred_on": intake.occurred_on,
    }
    view.update(
        reporter=intake.reporter,
        victim={**victim, "region_code": intake.victim_region_code},
        incident=incident,
        immediate_danger=intake.immediate_danger,
        reporter_may_be_contacted=intake.reporter_may_be_contacted,
        risk_level=intake.risk_level,
        effective_risk=effective_risk(intake),
        triage_note=intake.triage_note,
        triaged_at=intake.triaged_at,
        respond_by=intake.respond_by,
        overdue=is_overdue(intake),
        decline_reason=intake.decline_reason,
        client=intake.client_id,
        case=intake.case_id,
    )
    return view
