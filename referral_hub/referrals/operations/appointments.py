"""Appointments: the recipient schedules the sessions of a referral and records them (or,
for a recipient not on the hub, the sender on its behalf: access.answering_side)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.clock import local_date, start_of_day
from referral_hub.db import utcnow
from referral_hub.delivery.outbox import emit
from referral_hub.extensions import db
from referral_hub.problems import INVALID_TRANSITION, Problem
from referral_hub.referrals.lifecycle import OPEN_STATUSES, RECIPIENT, appointment_schedulable
from referral_hub.referrals.models import Appointment, Referral
from referral_hub.referrals.operations.access import (
    REACHED_RECIPIENT,
    answering_side,
    field_error,
    get_referral_for,
    require_staff,
)
from referral_hub.referrals.operations.record import add_to_timeline, event_data


def appointment_view(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": appointment.id,
        "starts_at": appointment.starts_at,
        "duration_minutes": appointment.duration_minutes,
        "mode": appointment.mode,
        "location": appointment.location,
        "practitioner": appointment.practitioner,
        "status": appointment.status,
        "note": appointment.note,
        "recorded_on_behalf": appointment.recorded_on_behalf,
    }


#: How far a recipient's agenda looks: today and the six days after it (the hub's calendar).
AGENDA_DAYS = 7


def upcoming_sessions(actor: Actor, days: int = AGENDA_DAYS) -> list[dict[str, Any]]:
    """The agenda of the actor's organisation as a recipient: the sessions still scheduled,
    of its open referrals that reached it, from the start of today to the end of the
    `days`-th day (today is the first), soonest first.

    Each is `appointment_view` with the referral's id and number and `today` (the session is
    on today's date in the hub's zone). Sessions a sender scheduled on behalf of a recipient
    not on the hub are in that recipient's agenda too, should it join; the sender's own
    organisation never sees them here: this is the recipient's side only.
    """
    require_staff(actor)
    first = local_date()
    query = (
        select(Appointment)
        .join(Appointment.referral)
        .options(contains_eager(Appointment.referral))
        .where(
            Referral.recipient_organization_id == actor.organization_id,
            REACHED_RECIPIENT,
            Referral.status.in_(OPEN_STATUSES),
            Appointment.status == "scheduled",
            Appointment.starts_at >= start_of_day(first),
            Appointment.starts_at < start_of_day(first + dt.timedelta(days=days)),
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    return [
        {
            **appointment_view(appointment),
            "referral_id": appointment.referral.id,
            "number": appointment.referral.number,
            "today": local_date(appointment.starts_at) == first,
        }
        for appointment in db.session.scalars(query)
    ]


def _check_session_time(referral: Referral, starts_at: dt.datetime) -> None:
    """A session of a referral cannot start before the referral was sent (nor at a time
    that has no instant in UTC, years 1 to 9999: a legal offset on the first or last day)."""
    try:
        starts_at.astimezone(dt.UTC)
    except OverflowError:
        message = "Not a time the hub can keep: give a date between the years 1 and 9999."
        raise field_error("starts_at", message) from None
    if starts_at < referral.created_at:
        message = "A session cannot start before the referral was sent."
        raise Problem(
            422,
            "validation-error",
            message,
            errors={"starts_at": [message]},
            sent_at=referral.created_at.isoformat(),
        )


def schedule_appointment(
    actor: Actor, referral_id: str, data: dict[str, Any], *, on_behalf: bool = False
) -> Appointment:
    """The recipient schedules a session of an accepted or running referral (`on_behalf`:
    the sender for a recipient not on the hub, `data["note"]` saying how it came)."""
    require_staff(actor)
    referral = get_referral_for(actor, referral_id, lock=True)
    side = answering_side(actor, referral, on_behalf=on_behalf, note=data.get("note"))
    if side != RECIPIENT:
        raise Problem(
            409,
            INVALID_TRANSITION,
            "Only the recipient schedules appointments.",
            reason="recipient-only",
            action="schedule-appointment",
        )
    if not appointment_schedulable(side, referral.status):
        raise Problem(
            409,
            INVALID_TRANSITION,
            f"A referral that is '{referral.status}' takes no appointments.",
            reason="not-schedulable",
            status_now=referral.status,
        )
    _check_session_time(referral, data["starts_at"])
    appointment = Appointment(
        referral_id=referral.id,
        starts_at=data["starts_at"],
        duration_minutes=data.get("duration_minutes"),
        mode=data["mode"],
        practitioner=data.get("practitioner"),
        status="scheduled",
        recorded_on_behalf=on_behalf,
    )
    appointment.location = data.get("location")
    db.session.add(appointment)
    referral.updated_at = utcnow()
    db.session.flush()
    behalf_note = data["note"].strip() if on_behalf else None
    add_to_timeline(
        actor, referral, "appointment_scheduled", None, None, None, on_behalf_note=behalf_note
    )
    audit.record(
        actor,
        "appointment.scheduled",
        "referral",
        referral.id,
        {
            "appointment": appointment.id,
            "starts_at": appointment.starts_at.isoformat(),
            **({"recorded_on_behalf": True} if on_behalf else {}),
        },
        subject_organization_id=_other_party(actor, referral),
    )
    emit(
        actor,
        "appointment.scheduled",
        subject_type="referral",
        subject_id=referral.id,
        organizations=[referral.sender_organization_id, referral.recipient_organization_id],
        data=event_data(
            referral,
            appointment_id=appointment.id,
            starts_at=appointment.starts_at.isoformat(),
            mode=appointment.mode,
            recorded_on_behalf=on_behalf,
        ),
    )
    return appointment


def _other_party(actor: Actor, referral: Referral) -> str:
    """The party an appointment's change concerns besides the actor's own."""
    if actor.organization_id == referral.sender_organization_id:
        return referral.recipient_organization_id
    return referral.sender_organization_id


def update_appointment(
    actor: Actor,
    referral_id: str,
    appointment_id: str,
    data: dict[str, Any],
    *,
    on_behalf: bool = False,
) -> Appointment:
    """The recipient records attendance, a no-show, a cancellation or a new time (or the
    sender on its behalf, `data["note"]` saying how it came)."""
    require_staff(actor)
    referral = get_referral_for(actor, referral_id, lock=True)
    side = answering_side(actor, referral, on_behalf=on_behalf, note=data.get("note"))
    if side != RECIPIENT:
        raise Problem(
            409,
            INVALID_TRANSITION,
            "Only the recipient updates appointments.",
            reason="recipient-only",
            action="update-appointment",
        )
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.referral_id != referral.id:
        raise Problem(
            404, "not-found", f"No appointment '{appointment_id}'.", reason="no-appointment"
        )
    if not data:
        raise field_error("status", "Nothing to change.")
    if "starts_at" in data:
        _check_session_time(referral, data["starts_at"])
    starts_at = data.get("starts_at", appointment.starts_at)
    if data.get("status") in ("attended", "no_show") and starts_at > utcnow():
        raise Problem(
            409,
            INVALID_TRANSITION,
            "The session has not started yet: attendance is recorded once it has.",
            reason="session-not-started",
            starts_at=starts_at.isoformat(),
        )
    changes: dict[str, Any] = {}
    if "status" in data and data["status"] != appointment.status:
        if appointment.status != "scheduled":
            raise Problem(
                409,
                INVALID_TRANSITION,
                f"An appointment that is '{appointment.status}' cannot change status.",
                reason="appointment-recorded",
                appointment_status=appointment.status,
            )
        changes["status"] = [appointment.status, data["status"]]
        appointment.status = data["status"]
    if "starts_at" in data:
        changes["starts_at"] = data["starts_at"].isoformat()
        appointment.starts_at = data["starts_at"]
    if "note" in data:
        appointment.note = data["note"]
        changes["note"] = True
    appointment.updated_at = utcnow()
    referral.updated_at = appointment.updated_at
    behalf_note = data["note"].strip() if on_behalf else None
    add_to_timeline(
        actor,
        referral,
        f"appointment_{appointment.status}",
        None,
        None,
        None if on_behalf else data.get("note"),
        on_behalf_note=behalf_note,
    )
    if on_behalf:
        changes["recorded_on_behalf"] = True
    audit.record(
        actor,
        "appointment.updated",
        "referral",
        referral.id,
        {"appointment": appointment.id, **changes},
        subject_organization_id=_other_party(actor, referral),
    )
    return appointment
