"""What every change of an agreement leaves behind: a new revision, audit entries that
every party sees, and the signals of agreements/signals.py in the same transaction.

Partners hear of agreement events through the delivery outbox (events feed, webhooks):
`events.publish` receives `agreement_changed`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from referral_hub.actors import Actor
from referral_hub.agreements.models import Agreement
from referral_hub.agreements.signals import EVENT_TYPES, agreement_changed, agreement_ended
from referral_hub.audit import operations as audit

__all__ = ["ENDING_EVENT_TYPES", "EVENT_TYPES", "audit_change", "emit", "touch"]

#: The events after which an agreement covers no new work: `agreement_ended` is sent.
ENDING_EVENT_TYPES = frozenset(
    {"agreement.suspended", "agreement.terminated", "agreement.expired", "agreement.superseded"}
)


def emit(event_type: str, agreement: Agreement, actor: Actor) -> None:
    """Announce a change inside its transaction: `agreement_changed`, then for an ending
    `agreement_ended` (agreements/signals.py says who hears them)."""
    agreement_changed.send(agreement, actor=actor, how=event_type)
    if event_type in ENDING_EVENT_TYPES:
        # Every change stamps updated_at with its moment (touch) before announcing it.
        agreement_ended.send(agreement, actor=actor, how=event_type, at=agreement.updated_at)


def audit_change(
    actor: Actor, action: str, agreement: Agreement, detail: dict[str, Any] | None = None
) -> None:
    """Record a change so that every party sees it in its audit log.

    An entry names one subject organisation; for agreements of three or more parties the
    other parties get a copy (marked `copy_for`), which the agreement's history leaves out.
    """
    base = {"number": agreement.number, **(detail or {})}
    others = [pid for pid in agreement.party_ids if pid != actor.organization_id]
    audit.record(
        actor,
        action,
        "agreement",
        agreement.id,
        base,
        subject_organization_id=others[0] if others else None,
    )
    for pid in others[1:]:
        audit.record(
            actor,
            action,
            "agreement",
            agreement.id,
            {**base, "copy_for": pid},
            subject_organization_id=pid,
        )


def touch(agreement: Agreement, now: dt.datetime) -> None:
    agreement.revision = (agreement.revision or 0) + 1
    agreement.updated_at = now
