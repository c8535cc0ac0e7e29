"""What every change of a referral leaves behind, and how a status change is made.

A change is planned against lifecycle.py's table (`plan`: 409 invalid-transition for the
rest, its `reason` the table's), written at once so that of two concurrent changes one loses
with 409 (`flush_change`, reason changed-meanwhile), and put on the referral's timeline
(`add_to_timeline`). Events and webhooks carry `event_data` (ids, numbers, statuses, links;
never personal data); e-mails carry the portal's links.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from referral_hub.actors import Actor
from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.problems import INVALID_TRANSITION, Problem
from referral_hub.referrals.lifecycle import Transition, TransitionRefused, plan_transition
from referral_hub.referrals.models import Referral, ReferralEvent


def portal_link(referral: Referral) -> str:
    return f"/referrals/{referral.id}"


def approval_link(referral: Referral) -> str:
    """The supervisor's page of a waiting override."""
    return f"/referrals/approvals/{referral.id}"


def event_data(referral: Referral, **extra: Any) -> dict[str, Any]:
    """What events and webhooks carry: ids, numbers, statuses, links; never personal data."""
    return {
        "referral_id": referral.id,
        "number": referral.number,
        "status": referral.status,
        "service": referral.service_code,
        "urgency": referral.urgency,
        "sender": referral.sender.code,
        "recipient": referral.recipient.code,
        "respond_by": referral.respond_by.isoformat(),
        "links": {"self": f"/api/v1/referrals/{referral.id}", "portal": portal_link(referral)},
        **extra,
    }


def add_to_timeline(
    actor: Actor,
    referral: Referral,
    action: str,
    from_status: str | None,
    to_status: str | None,
    note: str | None = None,
    *,
    on_behalf_note: str | None = None,
) -> None:
    """One timeline line; `on_behalf_note` marks it as recorded by the sender on the
    recipient's behalf, saying how the answer came."""
    db.session.add(
        ReferralEvent(
            referral_id=referral.id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            organization_id=actor.organization_id,
            user_id=actor.user_id,
            oauth_client_id=actor.client_id,
            note=note,
            on_behalf=on_behalf_note is not None,
            on_behalf_note=on_behalf_note,
            at=utcnow(),
        )
    )


def basis_of(referral: Referral) -> str:
    return f"consent:{referral.consent_id}" if referral.consent_id else referral.legal_basis


def plan(action: str, side: str | None, referral: Referral) -> Transition:
    try:
        return plan_transition(action, side, referral.status)
    except TransitionRefused as refused:
        raise Problem(
            409,
            INVALID_TRANSITION,
            str(refused),
            reason=refused.reason,
            status_now=referral.status,
            **refused.fields,
        ) from None


def flush_change() -> None:
    """Write a status change now: a concurrent change of the same row loses with 409."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Problem(
            409,
            INVALID_TRANSITION,
            "The referral changed meanwhile; read it again.",
            reason="changed-meanwhile",
        ) from None
