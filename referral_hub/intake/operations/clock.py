"""The clock: hours to answer by risk, a unit's own hours, when an intake is late."""

from __future__ import annotations

import datetime as dt

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.clients import operations as clients
from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.intake.models import (
    DEFAULT_HOURS,
    OPEN_STATUSES,
    RISK_LEVELS,
    Intake,
    IntakeClock,
)
from referral_hub.intake.operations.access import field_error, require_right
from referral_hub.problems import Problem

# --- the clock ------------------------------------------------------------------------------


def response_hours(organization_id: str, risk_level: str) -> int:
    """The unit's hours to answer an intake of this risk (its own, else the default)."""
    own = db.session.get(IntakeClock, (organization_id, risk_level))
    return own.hours if own is not None else DEFAULT_HOURS[risk_level]


def set_response_hours(actor: Actor, hours: dict[str, int]) -> None:
    """A unit's own hours per risk level (a supervisor's or the system's decision)."""
    require_right(actor, "intakes:write")
    if not (actor.is_system or actor.role in (None, "supervisor")):
        raise Problem(403, "forbidden", "A supervisor sets the unit's intake clock.")
    org = clients.require_uptd(actor)
    for level, value in hours.items():
        if level not in RISK_LEVELS or not isinstance(value, int) or not 0 < value <= 24 * 30:
            raise field_error(level, "Hours must be between 1 and 720.")
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


def start_clock(intake: Intake) -> None:
    hours = response_hours(intake.organization_id, effective_risk(intake))
    intake.respond_by = intake.arrived_at + dt.timedelta(hours=hours)
    intake.overdue_notified_at = None


def is_overdue(intake: Intake, now: dt.datetime | None = None) -> bool:
    return intake.status in OPEN_STATUSES and intake.respond_by < (now or utcnow())
