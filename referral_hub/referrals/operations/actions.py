"""The closed loop: the parties' lifecycle actions (accept, reject, start, complete ...).

Exactly one of concurrent actions wins; the others get 409. Each is put on the timeline,
audited, announced to both parties (or the sender alone, for what never reached the
recipient), and an answer is e-mailed to the sender.
"""

from __future__ import annotations

from referral_hub.actors import Actor
from referral_hub.agreements.operations import covers_at
from referral_hub.audit import operations as audit
from referral_hub.db import utcnow
from referral_hub.delivery.notifications import notify_referral_answered
from referral_hub.delivery.outbox import emit
from referral_hub.problems import INVALID_TRANSITION, Problem, register_problem
from referral_hub.referrals.lifecycle import CLOSED_STATUSES, NOT_STARTED_STATUSES, RECIPIENT
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations.access import (
    answering_side,
    field_error,
    get_referral_for,
    reached_recipient,
    require_staff,
)
from referral_hub.referrals.operations.gates import still_covered
from referral_hub.referrals.operations.record import (
    add_to_timeline,
    event_data,
    flush_change,
    plan,
    portal_link,
)

AGREEMENT_ENDED = register_problem(
    "agreement-ended", "The agreement this referral was sent under is no longer in force"
)
_ANSWER_EVENTS = {"accepted": "referral.accepted", "rejected": "referral.rejected"}


def act_on_referral(
    actor: Actor,
    referral_id: str,
    action: str,
    *,
    reason: str | None = None,
    outcome: str | None = None,
    summary: str | None = None,
    note: str | None = None,
    on_behalf: bool = False,
) -> Referral:
    """Take one lifecycle action; exactly one of concurrent actions wins, the others get 409.

    `on_behalf`: the sender records the answer of a recipient not on the hub (`note`: how
    it came); the line, the audit and the event say so (access.answering_side has the rule).
    """
    require_staff(actor)
    referral = get_referral_for(actor, referral_id, lock=True)
    side = answering_side(actor, referral, on_behalf=on_behalf, note=note)
    transition = plan(action, side, referral)
    if transition.by_approver:
        # Approving shares and declining hides: approve_override / decline_override do that.
        raise Problem(
            409,
            INVALID_TRANSITION,
            f"'{action}' is an override's approval, not a status change.",
            reason="override-approval",
            action=action,
        )
    _refuse_start_without_agreement(referral, action)
    if transition.needs_reason and not (reason or "").strip():
        raise field_error("reason", f"A reason is required to {action} a referral.")
    if transition.needs_outcome and not outcome:
        raise field_error("outcome", "An outcome code is required to complete a referral.")

    before = referral.status
    now = utcnow()
    referral.status = transition.target
    referral.updated_at = now
    if reason:
        referral.status_reason = reason
    if transition.needs_outcome:
        referral.outcome = outcome
        referral.outcome_summary = summary
    behalf_note = note.strip() if on_behalf and note else None
    add_to_timeline(
        actor,
        referral,
        action,
        before,
        transition.target,
        reason or summary or (None if on_behalf else note),
        on_behalf_note=behalf_note,
    )
    flush_change()
    audit.record(
        actor,
        f"referral.{action}",
        "referral",
        referral.id,
        {
            "number": referral.number,
            "from": before,
            "to": transition.target,
            "outcome": outcome,
            **({"recorded_on_behalf": True} if on_behalf else {}),
        },
        subject_organization_id=(
            referral.sender_organization_id
            if side == RECIPIENT and not on_behalf
            # An override declined before it was sent stays the sender's alone.
            else referral.recipient_organization_id
            if reached_recipient(referral)
            else None
        ),
    )
    _announce(actor, referral, before, on_behalf=on_behalf)
    return referral


def _announce(actor: Actor, referral: Referral, before: str, *, on_behalf: bool) -> None:
    event_type = _ANSWER_EVENTS.get(referral.status)
    if event_type is None:
        event_type = (
            "referral.cancelled" if referral.status == "cancelled" else "referral.status_changed"
        )
    told = [referral.sender_organization_id]
    if reached_recipient(referral):
        told.append(referral.recipient_organization_id)
    emit(
        actor,
        event_type,
        subject_type="referral",
        subject_id=referral.id,
        organizations=told,
        data=event_data(referral, previous_status=before, recorded_on_behalf=on_behalf),
    )
    # The sender is told of an answer, unless it recorded the answer itself.
    if actor.organization_id != referral.sender_organization_id and (
        referral.status in ("accepted", "rejected") or referral.status in CLOSED_STATUSES
    ):
        notify_referral_answered(
            referral.number, referral.sender_organization_id, referral.status, portal_link(referral)
        )


def _refuse_start_without_agreement(referral: Referral, action: str) -> None:
    """Past its agreement's end (the sweep has not written it yet) a referral is not accepted."""
    if (
        action == "accept"
        and referral.status in NOT_STARTED_STATUSES
        and not covers_at(referral.agreement)
        and not still_covered(referral)
    ):
        raise Problem(
            409,
            AGREEMENT_ENDED,
            "The agreement this referral was sent under is no longer in force; "
            "the referral is being cancelled.",
            status_now=referral.status,
        )
