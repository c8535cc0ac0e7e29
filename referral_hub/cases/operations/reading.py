"""What a reader of the unit sees: a case in full (its read logged), a list's line, plan items
and notes.

A plan item referred to a partner follows its referral's status, computed when read
(`plan_item_status`), so it can never disagree with the referral. Reading the case's texts
is logged as a read of the client's case data (UU PDP Pasal 32).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.cases.models import Case, CaseNote, PlanItem
from referral_hub.clients import operations as clients
from referral_hub.clients.models import local_today
from referral_hub.referrals.lifecycle import DRAFT, OPEN_STATUSES
from referral_hub.referrals.models import Referral

#: A referral's status -> its plan item's: live is in progress, carried out is done, and one
#: that ended otherwise (rejected, cancelled, failed, in error) leaves the item cancelled,
#: to be referred again or replaced by another item.
_LIVE_REFERRAL = frozenset({DRAFT, *OPEN_STATUSES})
#: Plan item statuses still to be done.
PENDING_ITEM_STATUSES = ("planned", "in_progress")


def user_ref(user: User | None) -> dict[str, str] | None:
    """A user as the answers name one: id and name."""
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


def item_pending_clause() -> Any:
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
        "caseworker": user_ref(case.caseworker),
        "supervisor": user_ref(case.supervisor),
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
        "caseworker": user_ref(case.caseworker),
        "opened_at": case.opened_at,
        "updated_at": case.updated_at,
    }


def note_view(note: CaseNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "text": note.text,
        "follow_up_on": note.follow_up_on,
        "follow_up_done_at": note.follow_up_done_at,
        "author": user_ref(note.author),
        "created_at": note.created_at,
    }
