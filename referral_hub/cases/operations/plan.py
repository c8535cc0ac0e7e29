"""The service plan: items for the unit's own services or a partner's; an item for a partner
is referred through every gate of `send_referral`, its case data taken from the case, and
then follows its referral.
"""

from __future__ import annotations

from typing import Any

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.cases.models import PLAN_STATUSES, UNIT_SERVICES, Case, PlanItem
from referral_hub.cases.operations.access import field_error, require_open_case
from referral_hub.cases.operations.reading import plan_item_status
from referral_hub.db import utcnow
from referral_hub.directory.models import Service
from referral_hub.directory.operations import require_organization
from referral_hub.extensions import db
from referral_hub.problems import INVALID_TRANSITION, Problem, register_problem
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations import send_referral

PLAN_ITEM_FOLLOWS_REFERRAL = register_problem(
    "plan-item-follows-referral", "A referred plan item takes its status from the referral"
)
PLAN_ITEM_ALREADY_REFERRED = register_problem(
    "plan-item-already-referred", "The plan item's referral is still open or was carried out"
)


def plan_item_of(case: Case, item_id: str) -> PlanItem:
    """One item of the case's plan, else 404."""
    for item in case.plan_items:
        if item.id == item_id:
            return item
    raise Problem(404, "not-found", f"No plan item '{item_id}' in case {case.number}.")


def add_plan_item(actor: Actor, case_id: str, data: dict[str, Any]) -> PlanItem:
    """A step of the plan: a service by the unit itself (one of its six) or by a partner."""
    case = require_open_case(actor, case_id)
    provider = require_organization(data.get("provider") or case.organization_id, "provider")
    if provider.type == "hub_operator":
        raise field_error("provider", "The hub operator provides no services.")
    if db.session.get(Service, data["service"]) is None:
        raise field_error("service", f"Unknown service '{data['service']}'.")
    if provider.id == case.organization_id and data["service"] not in UNIT_SERVICES:
        raise field_error(
            "service",
            f"'{data['service']}' is not one of the unit's own services "
            f"({', '.join(UNIT_SERVICES)}): plan it with the partner that provides it.",
        )
    now = utcnow()
    item = PlanItem(
        case_id=case.id,
        case=case,
        service_code=data["service"],
        provider_organization_id=provider.id,
        provider=provider,
        due_on=data.get("due_on"),
        status="planned",
        referral=None,
        created_at=now,
        updated_at=now,
        created_by_user_id=actor.user_id,
    )
    item.note = data.get("note")
    db.session.add(item)
    audit.record(
        actor,
        "case.plan_item_added",
        "case",
        case.id,
        {
            "number": case.number,
            "item": item.id,
            "service": item.service_code,
            "provider": provider.code,
            "due_on": item.due_on.isoformat() if item.due_on else None,
        },
        subject_organization_id=case.organization_id,
    )
    return item


def update_plan_item(actor: Actor, case_id: str, item_id: str, changes: dict[str, Any]) -> PlanItem:
    """Change an item's status, note or due date; a referred item's status is its referral's."""
    case = require_open_case(actor, case_id)
    item = plan_item_of(case, item_id)
    if "status" in changes and item.referral is not None:
        raise Problem(
            409,
            PLAN_ITEM_FOLLOWS_REFERRAL,
            f"The item follows referral {item.referral.number}; act on the referral instead.",
            referral={"id": item.referral.id, "number": item.referral.number},
        )
    changed = []
    if "status" in changes and changes["status"] != item.status:
        if changes["status"] not in PLAN_STATUSES:
            raise field_error("status", f"Unknown status '{changes['status']}'.")
        item.status = changes["status"]
        changed.append("status")
    if "due_on" in changes and changes["due_on"] != item.due_on:
        item.due_on = changes["due_on"]
        changed.append("due_on")
    if "note" in changes and changes["note"] != item.note:
        item.note = changes["note"]
        changed.append("note")
    if changed:
        item.updated_at = utcnow()
        audit.record(
            actor,
            "case.plan_item_updated",
            "case",
            case.id,
            {"number": case.number, "item": item.id, "changed": changed, "status": item.status},
            subject_organization_id=case.organization_id,
        )
    return item


def referral_case_data(case: Case) -> dict[str, Any]:
    """The case's data in a referral's shape, per category (send_referral keeps only the
    categories chosen, which agreement and consent allowed)."""
    data: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    if case.violence_types:
        summary["violence_types"] = list(case.violence_types)
    if case.incident_place_type:
        summary["incident_place_type"] = case.incident_place_type
    if case.summary:
        summary["chronology"] = case.summary
    if summary.get("violence_types"):
        data["case_summary"] = summary
    if case.perpetrator_relationship:
        data["perpetrator"] = {"relationship": case.perpetrator_relationship}
    return data


_REFERRAL_FIELDS = (
    "consent",
    "legal_basis",
    "justification",
    "approved_by",
    "urgency",
    "data_categories",
    "sender_reference",
)


def refer_plan_item(
    actor: Actor, case_id: str, item_id: str, data: dict[str, Any]
) -> tuple[PlanItem, Referral]:
    """Send the item's partner a referral through every gate of `send_referral`, its case
    data taken from the case; the item then follows the referral."""
    case = require_open_case(actor, case_id)
    item = plan_item_of(case, item_id)
    if item.provider_organization_id == case.organization_id:
        raise field_error("provider", "The unit carries out this item itself; nothing to refer.")
    if item.referral is not None and plan_item_status(item) != "cancelled":
        raise Problem(
            409,
            PLAN_ITEM_ALREADY_REFERRED,
            f"The item was referred as {item.referral.number}, which is {item.referral.status}.",
            referral={"id": item.referral.id, "number": item.referral.number},
        )
    if item.referral is None and item.status in ("done", "cancelled"):
        raise Problem(
            409,
            INVALID_TRANSITION,
            f"The item is {item.status}.",
            reason="plan-item-status",
            status_now=item.status,
        )
    reason = data.get("reason") or item.note
    if not reason:
        raise field_error("reason", "Say why the client is referred (or note it on the item).")
    body = {k: data[k] for k in _REFERRAL_FIELDS if k in data}
    body.update(
        client=case.client_id,
        to=item.provider_organization_id,
        service=item.service_code,
        reason=reason,
        case_data=referral_case_data(case),
    )
    referral = send_referral(actor, body)
    referral.case_id, referral.case = case.id, case
    item.referral_id, item.referral = referral.id, referral
    item.updated_at = utcnow()
    audit.record(
        actor,
        "case.plan_item_referred",
        "case",
        case.id,
        {"number": case.number, "item": item.id, "referral": referral.id},
        subject_organization_id=case.organization_id,
    )
    return item, referral
