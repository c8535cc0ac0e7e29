"""The scheduled sweep: every referral still unanswered after respond_by, announced once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.db import utcnow
from referral_hub.delivery.notifications import notify_referral_overdue
from referral_hub.delivery.outbox import emit
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations.record import event_data, portal_link


def sweep_overdue_referrals(now: dt.datetime | None = None) -> list[str]:
    """Announce, once, every referral still unanswered after respond_by."""
    now = now or utcnow()
    actor = Actor.system("scheduler:overdue")
    due = db.session.scalars(
        select(Referral)
        .where(
            Referral.status == "requested",
            Referral.respond_by < now,
            Referral.overdue_notified_at.is_(None),
        )
        .order_by(Referral.respond_by)
        .limit(500)
        .with_for_update(of=Referral, skip_locked=True)
    ).all()
    for referral in due:
        claimed = db.session.execute(
            update(Referral)
            .where(Referral.id == referral.id, Referral.overdue_notified_at.is_(None))
            .values(overdue_notified_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        audit.record(
            actor,
            "referral.overdue",
            "referral",
            referral.id,
            {"number": referral.number, "respond_by": referral.respond_by.isoformat()},
            subject_organization_id=referral.recipient_organization_id,
        )
        emit(
            actor,
            "referral.overdue",
            subject_type="referral",
            subject_id=referral.id,
            organizations=[referral.sender_organization_id, referral.recipient_organization_id],
            data=event_data(referral),
        )
        notify_referral_overdue(
            referral.number,
            sender_org_id=referral.sender_organization_id,
            recipient_org_id=referral.recipient_organization_id,
            link=portal_link(referral),
            respond_by=referral.respond_by,
        )
    return [r.number for r in due]
