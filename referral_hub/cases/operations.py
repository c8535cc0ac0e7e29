"""The rules of cases: who holds one, its plan (referred through every gate), its follow-ups.

A case belongs to the UPTD PPA that opened it; to everyone else it does not exist (404).
Every change is audited here; reading the case's texts is logged as a read of the client's
case data (UU PDP Pasal 32). A plan item referred to a partner follows its referral's status,
computed when read (`plan_item_status`), so it can never disagree with the referral.

Over 600 lines because the case, its plan, its notes and its timeline share one access rule
(`get_case_for`) and one audit vocabulary; the natural split, when intake joins (next issue),
is a package: access, case, plan, follow-ups, timeline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.http import parse_etags

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.cases.models import (
    PLAN_STATUSES,
    UNIT_SERVICES,
    Case,
    CaseNote,
    PlanItem,
)
from referral_hub.clients import operations as clients
from referral_hub.clients.models import Consent, Disclosure, local_today
from referral_hub.db import utcnow
from referral_hub.delivery.outbox import emit
from referral_hub.directory.models import Service
from referral_hub.directory.operations import require_organization
from referral_hub.extensions import db
from referral_hub.permissions import role_permits
from referral_hub.problems import INVALID_TRANSITION, Problem, register_problem
from referral_hub.referrals.lifecycle import DRAFT, OPEN_STATUSES
from referral_hub.referrals.models import Appointment, Referral
from referral_hub.referrals.operations import send_referral
from referral_hub.referrals.schemas import INCIDENT_PLACES

CASE_CLOSED = register_problem("case-closed", "The case is closed; reopen it first")
PLAN_ITEM_FOLLOWS_REFERRAL = register_problem(
    "plan-item-follows-referral", "A referred plan item takes its status from the referral"
)
PLAN_ITEM_ALREADY_REFERRED = register_problem(
    "plan-item-already-referred", "The plan item's referral is still open or was carried out"
)
NUMBER_PREFIX = "KS"
#: A referral's status -> its plan item's: live is in progress, carried out is done, and one
#: that ended otherwise (rejected, cancelled, failed, in error) leaves the item cancelled,
#: to be referred again or replaced by another item.
_LIVE_REFERRAL = frozenset({DRAFT, *OPEN_STATUSES})
#: Plan item statuses still to be done.
PENDING_ITEM_STATUSES = ("planned", "in_progress")


# --- who is acting ------------------------------------------------------------------------


def _require(actor: Actor, permission: str) -> None:
    if not actor.has_scope(permission):
        raise Problem(403, "forbidden", f"Cases need the right '{permission}'.")


def _not_found(case_id: str) -> Problem:
    return Problem(404, "not-found", f"No case '{case_id}'.")


def _field_error(field: str, message: str, status: int = 422) -> Problem:
    return Problem(status, "validation-error", message, errors={field: [message]})


def get_case_for(actor: Actor, case_id: str, permission: str = "cases:read") -> Case:
    """A case of the actor's unit (the system sees all), else 404: another unit, a partner
    agency and the hub operator never learn that it exists."""
    _require(actor, permission)
    case = db.session.get(Case, case_id) if isinstance(case_id, str) else None
    if case is None or not (actor.is_system or case.organization_id == actor.organization_id):
        raise _not_found(case_id)
    return case


def _open_case_for(actor: Actor, case_id: str) -> Case:
    case = get_case_for(actor, case_id, "cases:write")
    if case.status != "open":
        raise Problem(409, CASE_CLOSED, f"Case {case.number} is closed; reopen it first.")
    return case


# --- ETags ----------------------------------------------------------------------------------


def etag_of(case: Case) -> str:
    """The case's entity tag (unquoted): changes with every change of the case."""
    return hashlib.sha256(f"{case.id}:{case.version}".encode()).hexdigest()[:32]


def check_if_match(case: Case, if_match: str | None, *, required: bool) -> None:
    """412 when `if_match` names another version; 428 when required and missing."""
    if not if_match:
        if required:
            raise Problem(
                428, "precondition-required", "Send If-Match with the case's ETag (GET it first)."
            )
        return
    if not parse_etags(if_match).contains(etag_of(case)):
        raise Problem(
            412,
            "precondition-failed",
            "The case changed since you read it; GET it again and retry.",
            headers={"ETag": f'"{etag_of(case)}"'},
        )


def _flush(case: Case) -> None:
    """Write the change now, so a concurrent change of the same version fails here (409)."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Problem(409, "conflict", f"Case {case.number} changed meanwhile; retry.") from None


# --- opening and changing -------------------------------------------------------------------


def _unit_user(org_id: str, ref: str, field: str, *, supervisor: bool) -> User:
    """An active user of the unit by id or e-mail, who may work cases (a supervisor for
    `supervisor`), else 422 on `field`."""
    user = db.session.get(User, ref)
    if user is None:
        user = db.session.scalar(select(User).where(User.email == ref.strip().lower()))
    fits = (
        user is not None
        and user.active
        and user.organization_id == org_id
        and (user.role == "supervisor" if supervisor else role_permits(user.role, "cases:write"))
    )
    if not fits:
        what = "an active supervisor" if supervisor else "an active caseworker or supervisor"
        raise _field_error(field, f"'{ref}' is not {what} of the unit.")
    return user  # type: ignore[return-value]


def _check_codes(data: dict[str, Any]) -> None:
    incident = data.get("incident") or {}
    place = incident.get("place_type")
    if place is not None and place not in INCIDENT_PLACES:
        raise _field_error("incident", f"Unknown place type '{place}'.")


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


def open_case(actor: Actor, data: dict[str, Any], at: dt.datetime | None = None) -> Case:
    """Open a case for a client of the actor's UPTD PPA (`KS-<unit>-<year>-<number>`)."""
    _require(actor, "cases:write")
    org = clients.require_uptd(actor)
    client = clients.find_client_of(actor, data["client"])
    if client is None:
        raise _field_error("client", f"No client '{data['client']}' of your organisation.")
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
        intake_id=data.get("intake"),
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
        _flush(case)
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
    _flush(case)
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
    _flush(case)
    audit.record(
        actor,
        "case.reopened",
        "case",
        case.id,
        {"number": case.number},
        subject_organization_id=case.organization_id,
    )
    return case


def cases_query(
    actor: Actor,
    *,
    status: str | None = None,
    caseworker: str | None = None,
    client: str | None = None,
) -> Select:
    """The unit's cases, newest first; by status, caseworker (a user id, or "me"), client."""
    _require(actor, "cases:read")
    org = clients.require_uptd(actor)
    query = select(Case).where(Case.organization_id == org.id)
    if status:
        query = query.where(Case.status == status)
    if caseworker:
        query = query.where(
            Case.caseworker_id == (actor.user_id if caseworker == "me" else caseworker)
        )
    if client:
        query = query.where(Case.client_id == client)
    return query.order_by(Case.opened_at.desc(), Case.id.desc())


# --- what a reader sees ---------------------------------------------------------------------


def _user_ref(user: User | None) -> dict[str, str] | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def plan_item_status(item: PlanItem) -> str:
    """The item's status: the unit's own, or, once referred, its referral's."""
    referral = item.referral
    if referral is None:
        return item.status
    if referral.status == "completed":
        return "done"
    if referral.status in _LIVE_REFERRAL:
        return "in_progress"
    return "cancelled"


def _item_pending_clause() -> Any:
    """plan_item_status in PENDING_ITEM_STATUSES, as SQL (with Referral outer-joined)."""
    return or_(
        and_(PlanItem.referral_id.is_(None), PlanItem.status.in_(PENDING_ITEM_STATUSES)),
        Referral.status.in_(_LIVE_REFERRAL),
    )


def plan_item_view(item: PlanItem, *, texts: bool = True) -> dict[str, Any]:
    referral = item.referral
    return {
        "id": item.id,
        "service": item.service_code,
        "provider": {
            "id": item.provider.id,
            "code": item.provider.code,
            "name": item.provider.name,
        },
        "by_unit": item.provider_organization_id == item.case.organization_id,
        "due_on": item.due_on,
        "overdue": item.due_on is not None
        and item.due_on < local_today()
        and plan_item_status(item) in PENDING_ITEM_STATUSES,
        "note": item.note if texts else None,
        "status": plan_item_status(item),
        "referral": (
            {"id": referral.id, "number": referral.number, "status": referral.status}
            if referral is not None
            else None
        ),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _case_categories(case: Case) -> list[str]:
    """The personal-data categories a full view of the case holds."""
    held = ["case_summary"]
    if case.perpetrator_relationship:
        held.append("perpetrator")
    return held


def case_view(actor: Actor, case: Case, context: str, *, record: bool = True) -> dict[str, Any]:
    """The case in full, for its unit; the read of its texts is logged for the client."""
    if record:
        clients.record_disclosure(
            actor, case.client, _case_categories(case), "owner", f"case:{case.number} {context}"
        )
    return {
        "id": case.id,
        "number": case.number,
        "status": case.status,
        "client": {"id": case.client.id, "code": case.client.code},
        "intake": case.intake_id,
        "risk_level": case.risk_level,
        "violence_types": list(case.violence_types or []),
        "incident": {
            "occurred_on": case.incident_occurred_on,
            "place_type": case.incident_place_type,
            "region_code": case.incident_region_code,
        },
        "perpetrator_relationship": case.perpetrator_relationship,
        "summary": case.summary,
        "caseworker": _user_ref(case.caseworker),
        "supervisor": _user_ref(case.supervisor),
        "closing": (
            {"reason": case.close_reason, "summary": case.close_summary, "at": case.closed_at}
            if case.status == "closed"
            else None
        ),
        "opened_at": case.opened_at,
        "updated_at": case.updated_at,
        "plan_items": [plan_item_view(item) for item in case.plan_items],
    }


def case_summary(case: Case) -> dict[str, Any]:
    """A line of a list: codes and numbers, no text written about the client."""
    return {
        "id": case.id,
        "number": case.number,
        "status": case.status,
        "client": {"id": case.client.id, "code": case.client.code},
        "risk_level": case.risk_level,
        "caseworker": _user_ref(case.caseworker),
        "opened_at": case.opened_at,
        "updated_at": case.updated_at,
    }


# --- the plan -------------------------------------------------------------------------------


def plan_item_of(case: Case, item_id: str) -> PlanItem:
    """One item of the case's plan, else 404."""
    for item in case.plan_items:
        if item.id == item_id:
            return item
    raise Problem(404, "not-found", f"No plan item '{item_id}' in case {case.number}.")


def add_plan_item(actor: Actor, case_id: str, data: dict[str, Any]) -> PlanItem:
    """A step of the plan: a service by the unit itself (one of its six) or by a partner."""
    case = _open_case_for(actor, case_id)
    provider = require_organization(data.get("provider") or case.organization_id, "provider")
    if provider.type == "hub_operator":
        raise _field_error("provider", "The hub operator provides no services.")
    if db.session.get(Service, data["service"]) is None:
        raise _field_error("service", f"Unknown service '{data['service']}'.")
    if provider.id == case.organization_id and data["service"] not in UNIT_SERVICES:
        raise _field_error(
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
    case = _open_case_for(actor, case_id)
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
            raise _field_error("status", f"Unknown status '{changes['status']}'.")
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
    case = _open_case_for(actor, case_id)
    item = plan_item_of(case, item_id)
    if item.provider_organization_id == case.organization_id:
        raise _field_error("provider", "The unit carries out this item itself; nothing to refer.")
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
        raise _field_error("reason", "Say why the client is referred (or note it on the item).")
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


# --- notes and follow-ups -------------------------------------------------------------------


def add_note(actor: Actor, case_id: str, text: str, follow_up_on: dt.date | None) -> CaseNote:
    """A note on the case, with the day to follow up on if any."""
    case = get_case_for(actor, case_id, "cases:write")
    author = db.session.get(User, actor.user_id) if actor.user_id else None
    note = CaseNote(
        case_id=case.id,
        follow_up_on=follow_up_on,
        created_at=utcnow(),
        created_by_user_id=actor.user_id,
        created_by_client_id=actor.client_id,
        author=author,
    )
    note.text = text
    db.session.add(note)
    audit.record(
        actor,
        "case.note_added",
        "case",
        case.id,
        {
            "number": case.number,
            "note": note.id,
            "follow_up_on": follow_up_on.isoformat() if follow_up_on else None,
        },
        subject_organization_id=case.organization_id,
    )
    return note


def complete_follow_up(actor: Actor, case_id: str, note_id: str) -> CaseNote:
    """Mark a note's follow-up done: it stops showing as due."""
    case = get_case_for(actor, case_id, "cases:write")
    note = db.session.get(CaseNote, note_id) if isinstance(note_id, str) else None
    if note is None or note.case_id != case.id:
        raise Problem(404, "not-found", f"No note '{note_id}' in case {case.number}.")
    if note.follow_up_on is None or note.follow_up_done_at is not None:
        raise Problem(409, "conflict", "The note has no follow-up waiting.")
    note.follow_up_done_at = utcnow()
    audit.record(
        actor,
        "case.follow_up_done",
        "case",
        case.id,
        {"number": case.number, "note": note.id},
        subject_organization_id=case.organization_id,
    )
    return note


def notes_query(actor: Actor, case_id: str) -> Select:
    case = get_case_for(actor, case_id)
    return (
        select(CaseNote)
        .where(CaseNote.case_id == case.id)
        .order_by(CaseNote.created_at.desc(), CaseNote.id.desc())
    )


def note_view(note: CaseNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "text": note.text,
        "follow_up_on": note.follow_up_on,
        "follow_up_done_at": note.follow_up_done_at,
        "author": _user_ref(note.author),
        "created_at": note.created_at,
    }


def _waiting_follow_ups(day: dt.date) -> Select:
    return (
        select(CaseNote, Case)
        .join(Case, Case.id == CaseNote.case_id)
        .where(
            Case.status == "open",
            CaseNote.follow_up_on.is_not(None),
            CaseNote.follow_up_on <= day,
            CaseNote.follow_up_done_at.is_(None),
        )
        .order_by(CaseNote.follow_up_on, CaseNote.created_at)
    )


def follow_ups_due(actor: Actor, *, unit: bool = False, limit: int = 50) -> list[dict[str, Any]]:
    """Follow-ups due today or overdue: the actor's own cases', or (`unit`, for supervisors)
    the unit's overdue ones. Numbers and dates only: the home page shows no note's text."""
    today = local_today()
    query = _waiting_follow_ups(today).where(Case.organization_id == actor.organization_id)
    if unit:
        query = query.where(CaseNote.follow_up_on < today)
    else:
        query = query.where(Case.caseworker_id == actor.user_id)
    return [
        {
            "case_id": case.id,
            "number": case.number,
            "note_id": note.id,
            "follow_up_on": note.follow_up_on,
            "overdue": note.follow_up_on < today,
        }
        for note, case in db.session.execute(query.limit(limit))
    ]


def overdue_plan_items(actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """The unit's plan items past their due date and not done (supervisors' home page)."""
    today = local_today()
    query = (
        select(PlanItem, Case)
        .join(Case, Case.id == PlanItem.case_id)
        .outerjoin(Referral, Referral.id == PlanItem.referral_id)
        .where(
            Case.organization_id == actor.organization_id,
            Case.status == "open",
            PlanItem.due_on < today,
            _item_pending_clause(),
        )
        .order_by(PlanItem.due_on)
        .limit(limit)
    )
    return [
        {
            "case_id": case.id,
            "number": case.number,
            "item_id": item.id,
            "service": item.service_code,
            "provider": item.provider.name,
            "due_on": item.due_on,
        }
        for item, case in db.session.execute(query)
    ]


def sweep_due_follow_ups(now: dt.datetime | None = None) -> list[str]:
    """Announce, once, each follow-up that fell due: `case.follow_up_due` to the case's unit,
    with ids, numbers and dates only. The ids of the notes announced."""
    now = now or utcnow()
    actor = Actor.system("scheduler:follow-ups")
    due = db.session.execute(
        _waiting_follow_ups(local_today(now))
        .where(CaseNote.follow_up_notified_at.is_(None))
        .limit(500)
        .with_for_update(of=CaseNote, skip_locked=True)
    ).all()
    announced = []
    for note, case in due:
        claimed = db.session.execute(
            update(CaseNote)
            .where(CaseNote.id == note.id, CaseNote.follow_up_notified_at.is_(None))
            .values(follow_up_notified_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        data = {
            "case_id": case.id,
            "number": case.number,
            "note_id": note.id,
            "follow_up_on": note.follow_up_on.isoformat(),
            "caseworker": case.caseworker_id,
            "links": {"self": f"/api/v1/cases/{case.id}", "portal": f"/cases/{case.id}"},
        }
        audit.record(
            actor,
            "case.follow_up_due",
            "case",
            case.id,
            {"number": case.number, "note": note.id, "follow_up_on": data["follow_up_on"]},
            subject_organization_id=case.organization_id,
        )
        emit(
            actor,
            "case.follow_up_due",
            subject_type="case",
            subject_id=case.id,
            organizations=[case.organization_id],
            data=data,
        )
        announced.append(note.id)
    return announced


# --- the timeline ---------------------------------------------------------------------------


def case_timeline(actor: Actor, case: Case) -> list[dict[str, Any]]:
    """Everything around the case's client on one line, newest first: the case's own steps,
    consents, plan items, the unit's referrals (with status) and their appointments, notes,
    and every disclosure of the client's data. Notes' texts are part of the case's read."""
    org_id = case.organization_id
    entries: list[dict[str, Any]] = [
        {"at": case.opened_at, "kind": "case_opened", "number": case.number}
    ]
    if case.closed_at is not None:
        entries.append({"at": case.closed_at, "kind": "case_closed", "status": case.close_reason})
    consents = db.session.scalars(select(Consent).where(Consent.client_id == case.client_id))
    for consent in consents:
        recipients = ", ".join(o.name for o in consent.recipients)
        entries.append(
            {
                "at": consent.created_at,
                "kind": "consent_recorded",
                "id": consent.id,
                "status": consent.status(),
                "organization": recipients,
                "services": list(consent.services),
                "categories": list(consent.data_categories),
            }
        )
        if consent.withdrawn_at is not None:
            entries.append(
                {"at": consent.withdrawn_at, "kind": "consent_withdrawn", "id": consent.id}
            )
    for item in case.plan_items:
        entries.append(
            {
                "at": item.created_at,
                "kind": "plan_item",
                "id": item.id,
                "service": item.service_code,
                "organization": item.provider.name,
                "status": plan_item_status(item),
                "date": item.due_on,
            }
        )
    referrals = db.session.scalars(
        select(Referral).where(
            Referral.client_id == case.client_id, Referral.sender_organization_id == org_id
        )
    ).all()
    for referral in referrals:
        entries.append(
            {
                "at": referral.created_at,
                "kind": "referral",
                "id": referral.id,
                "number": referral.number,
                "service": referral.service_code,
                "organization": referral.recipient.name,
                "status": referral.status,
                "this_case": referral.case_id == case.id,
            }
        )
    appointments = db.session.scalars(
        select(Appointment).where(Appointment.referral_id.in_([r.id for r in referrals]))
    )
    for appointment in appointments:
        entries.append(
            {
                "at": appointment.starts_at,
                "kind": "appointment",
                "id": appointment.id,
                "number": appointment.referral.number,
                "status": appointment.status,
                "organization": appointment.referral.recipient.name,
            }
        )
    for note in db.session.scalars(select(CaseNote).where(CaseNote.case_id == case.id)):
        entries.append(
            {
                "at": note.created_at,
                "kind": "note",
                "id": note.id,
                "text": note.text,
                "date": note.follow_up_on,
                "status": "done" if note.follow_up_done_at else None,
                "author": note.author.name if note.author else None,
            }
        )
    disclosures = db.session.scalars(
        select(Disclosure)
        .where(Disclosure.client_id == case.client_id)
        .order_by(Disclosure.at.desc())
        .limit(100)
    )
    for disclosure in disclosures:
        entries.append(
            {
                "at": disclosure.at,
                "kind": "disclosure",
                "id": disclosure.id,
                "status": disclosure.kind,
                "organization": disclosure.organization.name if disclosure.organization else None,
                "categories": list(disclosure.categories),
                "text": disclosure.context,
            }
        )
    entries.sort(key=lambda e: e["at"], reverse=True)
    return entries
