"""What each party sees of a referral: the one rule, and the answers built by it.

`visible_categories` decides which categories of the client a party sees; `referral_view`
(the detail, its personal data logged as a read), `referral_summary` (a list's line, no
personal data), `approval_view` and `timeline` are what the API and the portal show.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.categories import CASE_CATEGORIES, PERSONAL_CATEGORIES
from referral_hub.clients import operations as clients
from referral_hub.db import utcnow
from referral_hub.directory.operations import is_on_hub
from referral_hub.extensions import db
from referral_hub.oauth.models import OAuthClient
from referral_hub.referrals.lifecycle import (
    DRAFT,
    OPEN_STATUSES,
    RECIPIENT,
    SENDER,
    allowed_actions,
)
from referral_hub.referrals.models import Referral, ReferralEvent
from referral_hub.referrals.operations.access import (
    APPROVAL_DECLINED,
    get_referral_for,
    may_approve,
    side_of,
)
from referral_hub.referrals.operations.appointments import appointment_view
from referral_hub.referrals.operations.contacts import referral_contacts
from referral_hub.referrals.operations.gates import respond_by_for
from referral_hub.referrals.operations.queries import is_overdue
from referral_hub.referrals.operations.record import basis_of

#: The right a party needs to read a referral's personal data, by side: the sender's unit
#: owns the client (reading it is reading clients), the recipient reads what was shared.
READ_RIGHT = {SENDER: "clients:read", RECIPIENT: "referrals:read"}
#: A recipient keeps sight of shared data while the referral is live or was carried out.
RECIPIENT_KEEPS_DATA = frozenset({*OPEN_STATUSES, "completed", "failed"})


def visible_categories(
    referral: Referral,
    side: str | None,
    at: dt.datetime | None = None,
    *,
    reader: Actor | None = None,
    status: str | None = None,
) -> set:
    """The one rule of what a party sees of a referral's client.

    The sender (the client's unit) sees every category. The recipient sees the categories the
    sender chose, which were within agreement and consent when sent, while the referral is live
    or was carried out, and only while the consent it rests on is not withdrawn. Everyone else
    sees nothing (they get 404 before this is asked). `status` asks what the recipient would
    see in another status (the approval's preview of a draft as sent).

    Given the `reader`, its own right to read counts too (READ_RIGHT: the sender's token needs
    clients:read, the recipient's referrals:read; a person, or an app acting for one, a role
    that may): without it the reader sees the demographics only. Without a reader this is
    what the side's staff see (the recipient's view that a sender previews or prints).
    """
    if reader is not None and side in READ_RIGHT and not reader.has_scope(READ_RIGHT[side]):
        return {"demographics"}
    if side == SENDER:
        return {"demographics", *PERSONAL_CATEGORIES}
    if side != RECIPIENT:
        return set()
    if (status or referral.status) not in RECIPIENT_KEEPS_DATA:
        return {"demographics"}
    if referral.consent is not None and referral.consent.withdrawn_at is not None:
        return {"demographics"}
    return set(referral.data_categories) | {"demographics"}


def _client_part(referral: Referral, categories: set[str]) -> dict[str, Any]:
    client_categories = [c for c in categories if c not in CASE_CATEGORIES]
    view = clients.client_view(referral.client, client_categories)
    case = referral.case_data or {}
    for category in CASE_CATEGORIES:
        if category in categories and category in case:
            view[category] = case[category]
    return view


def _org_ref(org) -> dict[str, str]:
    return {"id": org.id, "code": org.code, "name": org.name}


def _holds_data(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_data(v) for v in value.values())
    return value not in (None, "", [], ())


def personal_categories_in(client_part: dict[str, Any]) -> list[str]:
    """The personal-data categories a view's client part actually holds (an empty contact,
    an absent guardian, case data never given: not shown, so not disclosed)."""
    return [c for c in PERSONAL_CATEGORIES if _holds_data(client_part.get(c))]


def _user_ref(user: User | None) -> dict[str, str] | None:
    return {"kind": "user", "id": user.id, "name": user.name} if user is not None else None


def _requested_by(referral: Referral) -> dict[str, str] | None:
    """Who sent the override for approval: a user, or a machine client (by its name)."""
    if referral.created_by_user_id:
        return _user_ref(db.session.get(User, referral.created_by_user_id))
    if referral.created_by_client_id:
        name = db.session.scalar(
            select(OAuthClient.name).where(OAuthClient.client_id == referral.created_by_client_id)
        )
        return {"kind": "client", "id": referral.created_by_client_id, "name": name or ""}
    return None


def approval_view(referral: Referral) -> dict[str, Any] | None:
    """An override's approval as its sender sees it; None for a referral on consent."""
    if referral.approval_status is None:
        return None
    declined = referral.approval_status == APPROVAL_DECLINED
    return {
        "status": referral.approval_status,
        "requested_by": _requested_by(referral),
        "decided_by": _user_ref(referral.approval_decided_by),
        "decided_at": referral.approval_decided_at,
        "reason": referral.status_reason if declined else None,
    }


def case_reference(referral: Referral, side: str | None, categories: set) -> dict | None:
    """The case a referral was made from (cases/): its number is the sender's, and reaches
    the recipient only with the case data itself (`case_summary` among what it sees)."""
    if referral.case_id is None:
        return None
    if side == SENDER or (side == RECIPIENT and "case_summary" in categories):
        return {"id": referral.case_id, "number": referral.case.number}
    return None


def referral_view(
    actor: Actor, referral: Referral, *, record: bool = True, as_sent: bool = False
) -> dict[str, Any]:
    """A referral as the actor may see it: its side's categories within its right to read.

    Every personal-data category the answer holds is logged as the actor's read (the
    sender's as the owner's, the recipient's on the referral's basis); `record=False` only
    for a view nobody is shown (a preview built for another party). `as_sent`: a waiting
    override as it will be once approved and sent (status requested, respond_by counted from
    now), which is what its supervisor previews before approving.
    """
    side = side_of(actor, referral)
    status = "requested" if as_sent else referral.status
    categories = visible_categories(referral, side, reader=actor, status=status)
    client_part = _client_part(referral, categories)
    shown_personal = personal_categories_in(client_part)
    if record and shown_personal:
        clients.record_disclosure(
            actor,
            referral.client,
            shown_personal,
            basis=basis_of(referral) if side == RECIPIENT else "owner",
            context=f"referral:{referral.number} read",
            kind="read",
        )
    # The texts written about the client go with its personal data, never without it.
    personal = len(categories) > 1
    override = None
    if referral.legal_basis != "consent":
        override = {
            "legal_basis": referral.legal_basis,
            "approved_by": (
                {"id": referral.override_approved_by.id, "name": referral.override_approved_by.name}
                if referral.override_approved_by
                else None
            ),
        }
        if side == SENDER and personal:
            override["justification"] = referral.override_justification
    agreement = referral.agreement
    respond_by = referral.respond_by
    if as_sent:
        respond_by = respond_by_for(utcnow(), agreement.response_hours, referral.urgency)
    approver = side == SENDER and may_approve(actor, referral)
    recipient_on_hub = is_on_hub(referral.recipient)
    return {
        "id": referral.id,
        "number": referral.number,
        "status": status,
        "status_reason": referral.status_reason,
        "service": referral.service_code,
        "urgency": referral.urgency,
        "reason": referral.reason if personal else None,
        "sender": _org_ref(referral.sender),
        "recipient": _org_ref(referral.recipient),
        "agreement": {"id": agreement.id, "number": agreement.number, "kind": agreement.kind},
        "legal_basis": referral.legal_basis,
        "override": override,
        "data_categories": list(referral.data_categories),
        "client": client_part,
        "respond_by": respond_by,
        "overdue": is_overdue(referral),
        "outcome": referral.outcome,
        "outcome_summary": referral.outcome_summary,
        "sender_reference": referral.sender_reference if side == SENDER else None,
        "case": case_reference(referral, side, categories),
        "approval": approval_view(referral) if side == SENDER else None,
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
        "allowed_actions": allowed_actions(side, status, approver=approver),
        "appointments": [appointment_view(a) for a in referral.appointments],
        "recipient_on_hub": recipient_on_hub,
        "recorded_on_behalf": status_recorded_on_behalf(referral),
        "on_behalf_actions": (
            allowed_actions(RECIPIENT, status) if side == SENDER and not recipient_on_hub else []
        ),
        "contacts": referral_contacts(actor, referral),
    }


def status_recorded_on_behalf(referral: Referral) -> bool:
    """Whether the referral's last change of status was recorded by the sender on the
    recipient's behalf."""
    return bool(
        db.session.scalar(
            select(ReferralEvent.on_behalf)
            .where(ReferralEvent.referral_id == referral.id, ReferralEvent.to_status.is_not(None))
            .order_by(ReferralEvent.at.desc(), ReferralEvent.id.desc())
            .limit(1)
        )
    )


def referral_summary(actor: Actor, referral: Referral) -> dict[str, Any]:
    """A line of a list: no personal data for anyone (lists are not disclosures)."""
    side = side_of(actor, referral)
    # The hint only (lines load no user): the operation checks the supervisor on approval.
    approver = (
        side == SENDER
        and referral.status == DRAFT
        and actor.user_id is not None
        and actor.role == "supervisor"
    )
    return {
        "id": referral.id,
        "number": referral.number,
        "status": referral.status,
        "approval": referral.approval_status if side == SENDER else None,
        "service": referral.service_code,
        "urgency": referral.urgency,
        "sender": _org_ref(referral.sender),
        "recipient": _org_ref(referral.recipient),
        "client": clients.client_view(referral.client, []),
        "respond_by": referral.respond_by,
        "overdue": is_overdue(referral),
        "created_at": referral.created_at,
        "updated_at": referral.updated_at,
        "allowed_actions": allowed_actions(side, referral.status, approver=approver),
    }


def timeline(actor: Actor, referral_id: str) -> list[dict[str, Any]]:
    """The referral's timeline for either party, oldest first."""
    referral = get_referral_for(actor, referral_id)
    rows = db.session.scalars(
        select(ReferralEvent)
        .where(ReferralEvent.referral_id == referral.id)
        .order_by(ReferralEvent.at, ReferralEvent.id)
    )
    return [
        {
            "at": row.at,
            "action": row.action,
            "from_status": row.from_status,
            "to_status": row.to_status,
            "organization": _org_ref(row.organization) if row.organization else None,
            "note": row.note,
            "recorded_on_behalf": row.on_behalf,
            "on_behalf_note": row.on_behalf_note,
        }
        for row in rows
    ]
