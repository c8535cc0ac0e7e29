"""The hub's own cancellations: the consent withdrawn, the agreement ended.

Receivers of `clients.signals.consent_withdrawn` and `agreements.signals.agreement_ended`
(connected in receivers.py), run in the transaction of the act that caused them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.agreements.models import Agreement
from referral_hub.audit import operations as audit
from referral_hub.clients.models import Consent
from referral_hub.db import utcnow
from referral_hub.delivery.notifications import notify_referral_cancelled
from referral_hub.delivery.outbox import emit
from referral_hub.extensions import db
from referral_hub.referrals.lifecycle import NOT_STARTED_STATUSES, OPEN_STATUSES
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations.access import reached_recipient
from referral_hub.referrals.operations.gates import still_covered
from referral_hub.referrals.operations.record import add_to_timeline, event_data, portal_link


def _cancel_referrals(actor: Actor, where: Any, statuses: frozenset[str], reason: str) -> None:
    """Cancel the referrals matching `where` in one of `statuses`, for `reason`.

    The hub's own cancellations (not the sender's `cancel` action), each as the party or the
    system whose act caused it: the timeline, the audit log, `referral.cancelled` to both
    organisations, and an e-mail to the recipient with the number and the reason only.
    """
    referrals = db.session.scalars(
        select(Referral)
        .where(where, Referral.status.in_(statuses))
        .order_by(Referral.created_at, Referral.id)
        .with_for_update(of=Referral)
    ).all()
    now = utcnow()
    for referral in referrals:
        before = referral.status
        referral.status = "cancelled"
        referral.status_reason = reason
        referral.updated_at = now
        add_to_timeline(actor, referral, "cancel", before, "cancelled", reason)
        # An override still waiting for its supervisor never reached the recipient: only the
        # sender hears of its end.
        reached = reached_recipient(referral)
        audit.record(
            actor,
            "referral.cancel",
            "referral",
            referral.id,
            {"number": referral.number, "from": before, "reason": reason},
            subject_organization_id=(
                referral.sender_organization_id
                if actor.organization_id == referral.recipient_organization_id or not reached
                else referral.recipient_organization_id
            ),
        )
        told = [referral.sender_organization_id]
        if reached:
            told.append(referral.recipient_organization_id)
        emit(
            actor,
            "referral.cancelled",
            subject_type="referral",
            subject_id=referral.id,
            organizations=told,
            data=event_data(referral, previous_status=before, reason=reason),
        )
        if reached:
            notify_referral_cancelled(
                referral.number, referral.recipient_organization_id, reason, portal_link(referral)
            )


def cancel_referrals_on_withdrawn_consent(consent: Consent, *, actor: Actor) -> None:
    """Open referrals resting on a withdrawn consent are cancelled at once; recipients are told.

    Receives `clients.signals.consent_withdrawn`.
    """
    _cancel_referrals(actor, Referral.consent_id == consent.id, OPEN_STATUSES, "consent_withdrawn")
    # Recipients of closed referrals lose sight too (visible_categories reads the withdrawal);
    # each recipient is told which of its referrals rest on the consent, and nothing else.
    by_recipient: dict[str, list[str]] = {}
    for recipient_id, referral_id in db.session.execute(
        select(Referral.recipient_organization_id, Referral.id)
        .where(Referral.consent_id == consent.id)
        .order_by(Referral.created_at)
    ):
        by_recipient.setdefault(recipient_id, []).append(referral_id)
    for recipient_id, referral_ids in by_recipient.items():
        emit(
            actor,
            "consent.withdrawn",
            subject_type="consent",
            subject_id=consent.id,
            organizations=[consent.organization_id, recipient_id],
            data={"consent_id": consent.id, "referral_ids": referral_ids},
        )


#: Endings the calendar brings (not a party's act): a referral that another agreement in
#: force still covers, typically the renewal, carries on.
_CALENDAR_ENDINGS = ("agreement.expired", "agreement.superseded")


def cancel_referrals_under_ended_agreement(
    agreement: Agreement, *, actor: Actor, how: str, at: dt.datetime | None = None
) -> None:
    """Agreements that end stop what has not started: referrals under it that are not yet
    accepted are cancelled (`agreement_ended`); accepted ones run to their close.

    Receives `agreements.signals.agreement_ended`. Suspension and termination are a party's
    decision and cancel them all; at expiry or supersession, those another agreement in force
    still covers (a renewal) carry on.
    """
    where = Referral.agreement_id == agreement.id
    if how in _CALENDAR_ENDINGS:
        ended = [
            referral.id
            for referral in db.session.scalars(
                select(Referral).where(where, Referral.status.in_(NOT_STARTED_STATUSES))
            )
            if not still_covered(referral, at)
        ]
        where = Referral.id.in_(ended)
    _cancel_referrals(actor, where, NOT_STARTED_STATUSES, "agreement_ended")
