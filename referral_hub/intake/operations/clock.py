"""The clock: hours to answer by risk, a unit's own hours, when an intake is late."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select
from werkzeug.http import parse_etags

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.clients import operations as clients
from referral_hub.db import utcnow
from referral_hub.directory.models import Organization
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


#: The bounds of a unit's own hours: whole hours, a day at most for high risk (served at
#: once, DOMAIN.md), 30 days at most for any; a higher risk never waits longer than a lower.
MAX_HOURS = 24 * 30
MAX_HIGH_HOURS = 24
WHOLE_HOURS = f"Whole hours between 1 and {MAX_HOURS}."
HIGH_WITHIN_A_DAY = f"High risk is answered within {MAX_HIGH_HOURS} hours."
MEDIUM_AFTER_HIGH = "Medium risk cannot have less time than high risk."
LOW_AFTER_MEDIUM = "Low risk cannot have less time than medium risk."


def may_set_clock(actor: Actor) -> bool:
    """A unit's supervisor, an app of the unit (a token for no person) or the hub itself."""
    return actor.has_scope("intakes:write") and (
        actor.is_system or actor.role in (None, "supervisor")
    )


def unit_clock(actor: Actor) -> dict[str, Any]:
    """The actor's unit's hours by risk, the defaults, and whether any are its own."""
    require_right(actor, "intakes:read")
    org = clients.require_uptd(actor, "answers-intakes")
    return _clock_of(org.id)


def _clock_of(organization_id: str) -> dict[str, Any]:
    rows = db.session.scalars(
        select(IntakeClock).where(IntakeClock.organization_id == organization_id)
    ).all()
    own = {row.risk_level: row.hours for row in rows if row.risk_level in RISK_LEVELS}
    hours = {level: own.get(level, DEFAULT_HOURS[level]) for level in RISK_LEVELS}
    return {**hours, "defaults": dict(DEFAULT_HOURS), "own": bool(own)}


def clock_etag(clock: dict[str, Any]) -> str:
    """The entity tag of a unit's clock (unquoted): changes with its hours."""
    text = ":".join(f"{level}={clock[level]}" for level in RISK_LEVELS) + f":{clock['own']}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def hours_errors(hours: dict[str, Any]) -> dict[str, list[str]]:
    """What is wrong with a unit's hours by risk, by field (empty: they may be kept)."""
    errors: dict[str, list[str]] = {}
    for level in RISK_LEVELS:
        value = hours.get(level)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_HOURS:
            errors[level] = [WHOLE_HOURS]
    if errors:
        return errors
    if hours["high"] > MAX_HIGH_HOURS:
        errors["high"] = [HIGH_WITHIN_A_DAY]
    elif hours["medium"] < hours["high"]:
        errors["medium"] = [MEDIUM_AFTER_HIGH]
    if hours["low"] < hours["medium"]:
        errors["low"] = [LOW_AFTER_MEDIUM]
    return errors


def set_response_hours(
    actor: Actor, hours: dict[str, Any], *, if_match: str | None = None
) -> dict[str, Any]:
    """A unit's own hours per risk level (a supervisor's or the system's decision).

    Levels not given keep the unit's current hours. They apply to clocks started from now
    on (a new intake, a triage, a forward): a clock already running keeps its time. With
    `if_match`, refused (412) when the clock changed since that ETag was read.
    """
    require_right(actor, "intakes:write")
    if not may_set_clock(actor):
        raise Problem(403, "forbidden", "A supervisor sets the unit's intake clock.")
    org = clients.require_uptd(actor, "answers-intakes")
    # One change of a unit's clock at a time: a second waits, then reads the first's hours
    # (its If-Match then fails), and never inserts the same rows twice.
    db.session.execute(select(Organization.id).where(Organization.id == org.id).with_for_update())
    current = _clock_of(org.id)
    if if_match and not parse_etags(if_match).contains(clock_etag(current)):
        raise Problem(
            412,
            "precondition-failed",
            "The unit's clock changed since you read it; GET it again and retry.",
            headers={"ETag": f'"{clock_etag(current)}"'},
        )
    unknown = [level for level in hours if level not in RISK_LEVELS]
    if unknown:
        raise field_error(unknown[0], "Not a risk level (high, medium or low).")
    wanted = {level: hours.get(level, current[level]) for level in RISK_LEVELS}
    errors = hours_errors(wanted)
    if errors:
        raise Problem(422, "validation-error", "These hours cannot be kept.", errors=errors)
    for level, value in wanted.items():
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
        dict(wanted),
        subject_organization_id=org.id,
    )
    db.session.flush()
    return _clock_of(org.id)


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
