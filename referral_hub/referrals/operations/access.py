"""Who acts on referrals, on which side, and the referral they may reach.

A referral is its two parties' (SENDER, RECIPIENT); anyone else gets 404, as does the
recipient of an override that never reached it (`reached_recipient`). Only a party with
the right to send or answer referrals acts on them (`require_staff`); an override is
approved by an active supervisor of the sending unit acting personally
(`acting_supervisor`, `may_approve`). A recipient with no one on the hub has its answers
recorded by the sender's staff on its behalf (`answering_side`), until it joins.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.clients.models import Client
from referral_hub.directory.operations import is_on_hub
from referral_hub.extensions import db
from referral_hub.permissions import roles_with
from referral_hub.problems import INVALID_TRANSITION, Problem, register_problem
from referral_hub.referrals.lifecycle import DRAFT, RECIPIENT, SENDER
from referral_hub.referrals.models import Referral

#: Who acts on referrals (caseworkers and supervisors): decided per role in permissions.py.
ACTING_ROLES = roles_with("referrals:write")
#: An override's approval: waiting (a draft), approved (sent), declined (never sent).
APPROVAL_PENDING, APPROVAL_APPROVED, APPROVAL_DECLINED = "pending", "approved", "declined"
RECIPIENT_ON_HUB = register_problem(
    "recipient-on-hub", "The recipient is on the hub and answers for itself"
)


def require_staff(actor: Actor) -> None:
    """Only a party with the right to send or answer referrals acts on them: a person (or an
    app acting for one) by role, caseworkers and supervisors; auditors and admins only read."""
    if not (actor.has_scope("referrals:write") or actor.has_scope("referrals:respond")):
        raise Problem(
            403,
            "forbidden",
            "Only caseworkers and supervisors act on referrals.",
            reason="referral-staff",
        )
    if actor.organization_id is None:
        raise Problem(
            403,
            "forbidden",
            "Referrals are sent and answered by organisations.",
            reason="organizations-only",
        )


def side_of(actor: Actor, referral: Referral) -> str | None:
    """SENDER, RECIPIENT or None (an outsider, who must not learn the referral exists)."""
    if actor.organization_id == referral.sender_organization_id:
        return SENDER
    if actor.organization_id == referral.recipient_organization_id:
        return RECIPIENT
    return None


def _not_found(referral_id: str) -> Problem:
    return Problem(404, "not-found", f"No referral '{referral_id}'.", reason="no-referral")


def reached_recipient(referral: Referral) -> bool:
    """Whether the referral was ever sent to its recipient: on consent, or an approved
    override. A draft, and an override declined before it was sent, are the sender's alone."""
    return referral.approval_status in (None, APPROVAL_APPROVED)


#: reached_recipient as a clause, for the recipient's lists and counts.
REACHED_RECIPIENT = or_(
    Referral.approval_status.is_(None), Referral.approval_status == APPROVAL_APPROVED
)


def get_referral_for(actor: Actor, referral_id: str, *, lock: bool = False) -> Referral:
    """A referral the actor's organisation sent or received, else 404 (and 404 for the
    recipient of a referral that never reached it)."""
    query = select(Referral).where(Referral.id == referral_id)
    if lock:
        query = query.with_for_update(of=Referral)
    referral = db.session.scalar(query) if isinstance(referral_id, str) else None
    if referral is None:
        raise _not_found(referral_id)
    side = side_of(actor, referral)
    if side is None or (side == RECIPIENT and not reached_recipient(referral)):
        raise _not_found(referral_id)
    return referral


def field_error(field: str, message: str) -> Problem:
    return Problem(422, "validation-error", message, errors={field: [message]})


def acting_supervisor(actor: Actor, organization_id: str | None) -> User | None:
    """The user behind the actor when an active supervisor of `organization_id` acts as
    themselves (portal session, or a token issued to them); None otherwise, and always for
    a token without a user."""
    if actor.user_id is None or organization_id is None:
        return None
    user = db.session.get(User, actor.user_id)
    if (
        user is None
        or not user.active
        or user.role != "supervisor"
        or user.organization_id != organization_id
    ):
        return None
    return user


def may_approve(actor: Actor, referral: Referral) -> bool:
    """Whether the actor may approve or decline this override now."""
    return (
        referral.status == DRAFT
        and acting_supervisor(actor, referral.sender_organization_id) is not None
    )


def client_of_referral(referral: Referral) -> Client:
    return referral.client


def answering_side(actor: Actor, referral: Referral, *, on_behalf: bool, note: str | None) -> str:
    """The side an answer is taken as: the actor's own, or, recorded on the recipient's
    behalf, the recipient's.

    Only the sender's staff who send referrals record on a recipient's behalf, only while
    the recipient has no one on the hub (no active user, no OAuth client: once it joins,
    409 recipient-on-hub), and only saying how the answer came (`note`: by phone, by letter).
    """
    side = side_of(actor, referral)
    if not on_behalf:
        return side
    if side != SENDER:
        raise Problem(
            409,
            INVALID_TRANSITION,
            "Only the sender records answers on the recipient's behalf.",
            reason="sender-only",
            status_now=referral.status,
        )
    if not actor.has_scope("referrals:write"):
        raise Problem(
            403,
            "forbidden",
            "Only the sender's caseworkers and supervisors do this.",
            reason="referral-staff",
        )
    if is_on_hub(referral.recipient):
        raise Problem(
            409,
            RECIPIENT_ON_HUB,
            f"{referral.recipient.name} is on the hub and answers for itself.",
            status_now=referral.status,
        )
    if not (note or "").strip():
        raise field_error(
            "note", "Say how the answer came (by phone, by letter) when recording it on behalf."
        )
    return RECIPIENT
