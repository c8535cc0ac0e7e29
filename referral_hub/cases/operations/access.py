"""Who reaches a case: its unit alone (the system sees all); to anyone else it does not exist.

A case belongs to the UPTD PPA that opened it: another unit, a partner agency and the hub
operator get 404, never a hint that it exists. A closed case refuses changes until reopened.
"""

from __future__ import annotations

from referral_hub.actors import Actor
from referral_hub.cases.models import Case
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

CASE_CLOSED = register_problem("case-closed", "The case is closed; reopen it first")


def require_right(actor: Actor, permission: str) -> None:
    """403 unless the actor holds `permission` (cases:read, cases:write)."""
    if not actor.has_scope(permission):
        raise Problem(403, "forbidden", f"Cases need the right '{permission}'.")


def _not_found(case_id: str) -> Problem:
    return Problem(404, "not-found", f"No case '{case_id}'.")


def field_error(field: str, message: str, status: int = 422) -> Problem:
    """A refusal of one field of the input (422 unless told)."""
    return Problem(status, "validation-error", message, errors={field: [message]})


def get_case_for(actor: Actor, case_id: str, permission: str = "cases:read") -> Case:
    """A case of the actor's unit (the system sees all), else 404: another unit, a partner
    agency and the hub operator never learn that it exists."""
    require_right(actor, permission)
    case = db.session.get(Case, case_id) if isinstance(case_id, str) else None
    if case is None or not (actor.is_system or case.organization_id == actor.organization_id):
        raise _not_found(case_id)
    return case


def require_open_case(actor: Actor, case_id: str) -> Case:
    """The actor's case to change (`get_case_for` with cases:write), else 409 when closed."""
    case = get_case_for(actor, case_id, "cases:write")
    if case.status != "open":
        raise Problem(409, CASE_CLOSED, f"Case {case.number} is closed; reopen it first.")
    return case
