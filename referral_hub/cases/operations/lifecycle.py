"""A case's life: opened for a client of the unit, changed, closed with a reason, reopened.

Every change is audited; a change of an open case is made against the version read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from referral_hub.accounts import operations as accounts
from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.cases.models import Case
from referral_hub.cases.operations.access import (
    CASE_CLOSED,
    field_error,
    get_case_for,
    require_right,
)
from referral_hub.cases.operations.versions import check_if_match, flush_case
from referral_hub.clients import operations as clients
from referral_hub.clients.models import local_today
from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.permissions import roles_with
from referral_hub.problems import INVALID_TRANSITION, Problem
from referral_hub.referrals.schemas import INCIDENT_PLACES

NUMBER_PREFIX = "KS"


#: Who may be a case's caseworker, and its supervisor.
CASEWORKER_ROLES = roles_with("cases:write")
SUPERVISOR_ROLES = ("supervisor",)


def assignable_people(org_id: str) -> tuple[list[User], list[User]]:
    """The unit's possible caseworkers and supervisors, by name (the portal's choices)."""
    return (
        accounts.active_members(org_id, CASEWORKER_ROLES),
        accounts.active_members(org_id, SUPERVISOR_ROLES),
    )


def _unit_user(org_id: str, ref: str, field: str, *, supervisor: bool) -> User:
    """An active user of the unit by id or e-mail, who may work cases (a supervisor for
    `supervisor`), else 422 on `field`."""
    roles = SUPERVISOR_ROLES if supervisor else CASEWORKER_ROLES
    user = accounts.find_active_member(org_id, ref, roles)
    if user is None:
        what = "an active supervisor" if supervisor else "an active caseworker or supervisor"
        raise field_error(field, f"'{ref}' is not {what} of the unit.")
    return user


def _check_codes(data: dict[str, Any]) -> None:
    incident = data.get("incident") or {}
    place = incident.get("place_type")
    if place is not None and place not in INCIDENT_PLACES:
        raise field_error("incident", f"Unknown place type '{place}'.")


def _apply(case: Case, data: dict[str, Any]) -> list[str]:
    """Set the given fields on the case; the names of those that changed."""
    changed = []
    simple = ("risk_level", "violence_types", "perpetrator_relationship")
    for name in simple:
        if name in data and getattr(case, name) != data[name]:
            setattr(case, name, data[name])
            changed.append(name)
    incident = data.get("incident")
    if incident is not None:
        for key, column in (
            ("occurred_on", "incident_occurred_on"),
            ("place_type", "incident_place_type"),
            ("region_code", "incident_region_code"),
        ):
            if key in incident and getattr(case, column) != incident[key]:
                setattr(case, column, incident[key])
                changed.append(f"incident.{key}")
    if "summary" in data and case.summary != data["summary"]:
        case.summary = data["summary"]
        changed.append("summary")
    return changed


def _assign(actor: Actor, case: Case, data: dict[str, Any], *, opening: bool) -> list[str]:
    changed = []
    org_id = case.organization_id
    if "caseworker" in data:
        ref = data["caseworker"]
        user = _unit_user(org_id, ref, "caseworker", supervisor=False) if ref else None
        if (user.id if user else None) != case.caseworker_id:
            case.caseworker_id, case.caseworker = (user.id if user else None), user
            changed.append("caseworker")
    elif opening and actor.user_id:
        # A person opening a case is its caseworker unless another is named.
        user = _unit_user(org_id, actor.user_id, "caseworker", supervisor=False)
        case.caseworker_id, case.caseworker = user.id, user
    if "supervisor" in data:
        ref = data["supervisor"]
        user = _unit_user(org_id, ref, "supervisor", supervisor=True) if ref else None
        if (user.id if user else None) != case.supervisor_id:
            case.supervisor_id, case.supervisor = (user.id if user else None), user
            changed.append("supervisor")
    return changed


def open_case(
    actor: Actor,
    data: dict[str, Any],
    at: dt.datetime | None = None,
    *,
    intake_id: str | None = None,
) -> Case:
    """Open a case for a client of the actor's UPTD PPA (`KS-<unit>-<year>-<number>`).

    `intake_id` is given only by accepting that intake (`intake.operations.accept_intake`,
    which checks it is the unit's own and still open); an `intake` in `data` is ignored."""
    require_right(actor, "cases:write")
    org = clients.require_uptd(actor, "keeps-cases")
    client = clients.find_client_of(actor, data["client"])
    if client is None:
        raise field_error("client", f"No client '{data['client']}' of your organisation.")
    _check_codes(data)
    now = at or utcnow()
    year = local_today(now).year
    serial = clients.take_number(NUMBER_PREFIX, org.id, year)
    case = Case(
        number=f"{NUMBER_PREFIX}-{clients.organization_short_code(org)}-{year}-{serial:06d}",
        organization_id=org.id,
        organization=org,
        client_id=client.id,
        client=client,
        intake_id=intake_id,
        status="open",
        risk_level=data["risk_level"],
        violence_types=[],
        opened_at=now,
        updated_at=now,
        created_by_user_id=actor.user_id,
        created_by_client_id=actor.client_id,
        plan_items=[],
    )
    _apply(case, data)
    _assign(actor, case, data, opening=True)
    db.session.add(case)
    audit.record(
        actor,
        "case.opened",
        "case",
        case.id,
        {
            "number": case.number,
            "client": client.id,
            "intake": case.intake_id,
            "risk_level": case.risk_level,
            "violence_types": list(case.violence_types),
            "caseworker": case.caseworker_id,
            "supervisor": case.supervisor_id,
        },
        subject_organization_id=org.id,
    )
    return case


def update_case(
    actor: Actor, case_id: str, changes: dict[str, Any], *, if_match: str | None
) -> Case:
    """Change an open case against the version read (If-Match required)."""
    case = get_case_for(actor, case_id, "cases:write")
    check_if_match(case, if_match, required=True)
    if case.status != "open":
        raise Problem(409, CASE_CLOSED, f"Case {case.number} is closed; reopen it first.")
    _check_codes(changes)
    changed = _apply(case, changes) + _assign(actor, case, changes, opening=False)
    if changed:
        case.updated_at = utcnow()
        flush_case(case)
        audit.record(
            actor,
            "case.updated",
            "case",
            case.id,
            {
                "number": case.number,
                "changed": changed,
                "risk_level": case.risk_level,
                "caseworker": case.caseworker_id,
                "supervisor": case.supervisor_id,
            },
            subject_organization_id=case.organization_id,
        )
    return case


def close_case(
    actor: Actor, case_id: str, reason: str, summary: str | None, *, if_match: str | None = None
) -> Case:
    """Close an open case with a reason (goals_met, transferred, ...) and a closing summary."""
    case = get_case_for(actor, case_id, "cases:write")
    check_if_match(case, if_match, required=False)
    if case.status != "open":
        raise Problem(
            409,
            INVALID_TRANSITION,
            f"Case {case.number} is already closed.",
            reason="case-closed",
            status_now="closed",
            number=case.number,
        )
    now = utcnow()
    case.status, case.close_reason, case.closed_at, case.updated_at = "closed", reason, now, now
    case.close_summary = summary
    flush_case(case)
    audit.record(
        actor,
        "case.closed",
        "case",
        case.id,
        {"number": case.number, "reason": reason},
        subject_organization_id=case.organization_id,
    )
    return case


def reopen_case(actor: Actor, case_id: str, *, if_match: str | None = None) -> Case:
    """Reopen a closed case; its closing reason is kept in the audit log."""
    case = get_case_for(actor, case_id, "cases:write")
    check_if_match(case, if_match, required=False)
    if case.status != "closed":
        raise Problem(
            409,
            INVALID_TRANSITION,
            f"Case {case.number} is open.",
            reason="case-open",
            status_now=case.status,
            number=case.number,
        )
    case.status, case.close_reason, case.closed_at = "open", None, None
    case.close_summary = None
    case.updated_at = utcnow()
    flush_case(case)
    audit.record(
        actor,
        "case.reopened",
        "case",
        case.id,
        {"number": case.number},
        subject_organization_id=case.organization_id,
    )
    return case
