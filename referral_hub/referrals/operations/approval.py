"""An override's approval: a supervisor of the sending unit approves or declines it.

Approved, it passes the agreement's gates again and is sent as if just sent (shared,
announced, respond_by from now); declined, it is cancelled without ever reaching the
recipient, who is not told.
"""

from __future__ import annotations

import datetime as dt

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.db import utcnow
from referral_hub.delivery.outbox import emit
from referral_hub.problems import Problem, register_problem
from referral_hub.referrals.lifecycle import SENDER
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations.access import (
    APPROVAL_APPROVED,
    APPROVAL_DECLINED,
    acting_supervisor,
    field_error,
    get_referral_for,
    require_staff,
    side_of,
)
from referral_hub.referrals.operations.gates import agreement_gates, respond_by_for
from referral_hub.referrals.operations.record import add_to_timeline, event_data, flush_change, plan
from referral_hub.referrals.operations.sending import share

OVERRIDE_NOT_AUTHORISED = register_problem(
    "override-not-authorised", "The legal-basis override is not approved by a supervisor"
)


def _require_approver(actor: Actor, referral: Referral) -> User:
    """The supervisor approving or declining this override, or 403 override-not-authorised."""
    supervisor = acting_supervisor(actor, referral.sender_organization_id)
    if supervisor is not None:
        return supervisor
    if actor.user_id is None:
        detail = (
            "A token without a user never approves an override: an active supervisor of "
            "the sending unit approves it personally (portal, or a token issued to them)."
        )
    else:
        detail = "Only an active supervisor of the sending unit approves an override."
    raise Problem(403, OVERRIDE_NOT_AUTHORISED, detail)


def _approval_subject(actor: Actor, referral_id: str, action: str) -> tuple[Referral, User]:
    """The waiting override and the supervisor deciding it: 404, 403, or 409, in that order."""
    require_staff(actor)
    referral = get_referral_for(actor, referral_id, lock=True)
    side = side_of(actor, referral)
    if side != SENDER:
        plan(action, side, referral)  # the recipient's side: 409, as for any sender's action
    supervisor = _require_approver(actor, referral)
    plan(action, side, referral)
    return referral, supervisor


def approve_override(
    actor: Actor, referral_id: str, *, note: str | None = None, at: dt.datetime | None = None
) -> Referral:
    """An active supervisor of the sending unit approves a waiting override personally: it
    passes the agreement's gates again, now, and is sent (shared, announced, respond_by from
    now)."""
    referral, supervisor = _approval_subject(actor, referral_id, "approve")
    now = at or utcnow()
    agreement = agreement_gates(
        referral.sender,
        referral.recipient,
        referral.service_code,
        list(referral.data_categories),
        now,
        referral.client,
    )
    before = referral.status
    referral.status = "requested"
    referral.agreement = agreement
    referral.respond_by = respond_by_for(now, agreement.response_hours, referral.urgency)
    referral.override_approved_by = supervisor
    referral.approval_status = APPROVAL_APPROVED
    referral.approval_decided_by = supervisor
    referral.approval_decided_at = now
    referral.updated_at = now
    add_to_timeline(actor, referral, "override_approved", before, referral.status, note)
    flush_change()
    audit.record(
        actor,
        "referral.override_approved",
        "referral",
        referral.id,
        {
            "number": referral.number,
            "recipient": referral.recipient.code,
            "service": referral.service_code,
            "agreement": agreement.id,
            "legal_basis": referral.legal_basis,
            "approved_by": supervisor.id,
            "requested_by": referral.created_by_user_id or referral.created_by_client_id,
            "data_categories": list(referral.data_categories),
        },
        subject_organization_id=referral.recipient_organization_id,
    )
    share(actor, referral, "sent on approval")
    return referral


def decline_override(actor: Actor, referral_id: str, reason: str | None) -> Referral:
    """An active supervisor of the sending unit declines a waiting override: it is cancelled
    without ever reaching the recipient, who is not told."""
    referral, supervisor = _approval_subject(actor, referral_id, "decline-approval")
    if not (reason or "").strip():
        raise field_error("reason", "A reason is required to decline an override.")
    now = utcnow()
    before = referral.status
    referral.status = "cancelled"
    referral.status_reason = reason
    referral.approval_status = APPROVAL_DECLINED
    referral.approval_decided_by = supervisor
    referral.approval_decided_at = now
    referral.updated_at = now
    add_to_timeline(actor, referral, "override_declined", before, referral.status, reason)
    flush_change()
    audit.record(
        actor,
        "referral.override_declined",
        "referral",
        referral.id,
        {
            "number": referral.number,
            "from": before,
            "to": referral.status,
            "requested_by": referral.created_by_user_id or referral.created_by_client_id,
        },
    )
    # The sender's machine clients learn their draft will not go; the recipient never does.
    emit(
        actor,
        "referral.cancelled",
        subject_type="referral",
        subject_id=referral.id,
        organizations=[referral.sender_organization_id],
        data=event_data(referral, previous_status=before),
    )
    return referral
