"""Who sees an intake and who may change it; the refusals of intakes."""

from __future__ import annotations

from referral_hub.actors import Actor
from referral_hub.extensions import db
from referral_hub.intake.models import (
    OPEN_STATUSES,
    Intake,
)
from referral_hub.problems import INVALID_TRANSITION, Problem

NUMBER_PREFIX = "ADU"
#: The service a unit provides to a reporting organisation under the agreement that lets it in.
INTAKE_SERVICE = "complaint_intake"
#: Services of an agreement between two units that carry a forward (see the module's rule).
FORWARD_SERVICES = ("complaint_intake", "case_management")


# --- who is acting --------------------------------------------------------------------------


def require_right(actor: Actor, permission: str) -> None:
    if not actor.has_scope(permission):
        raise Problem(403, "forbidden", f"Intakes need the right '{permission}'.")


def not_found(intake_id: str) -> Problem:
    return Problem(404, "not-found", f"No intake '{intake_id}'.")


def field_error(field: str, message: str) -> Problem:
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
    require_right(actor, permission)
    intake = db.session.get(Intake, intake_id) if isinstance(intake_id, str) else None
    if intake is None or side_of(actor, intake) is None:
        raise not_found(intake_id)
    return intake


def get_owned_intake(actor: Actor, intake_id: str) -> Intake:
    """An intake the actor's unit owns, for changing; the reporter's side gets 404 too."""
    intake = get_intake_for(actor, intake_id, "intakes:write")
    if side_of(actor, intake) != "unit":
        raise not_found(intake_id)
    return intake


def require_open(intake: Intake, action: str) -> None:
    if intake.status not in OPEN_STATUSES:
        raise Problem(
            409,
            INVALID_TRANSITION,
            f"Intake {intake.number} is {intake.status}; it cannot be {action}.",
            status_now=intake.status,
            number=intake.number,
        )
