"""The scheduled sweep: statuses the calendar changed, and the 30- and 7-day expiry notices."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, or_, select

from referral_hub.actors import Actor
from referral_hub.agreements.models import (
    Agreement,
)
from referral_hub.agreements.operations.access import get_agreement
from referral_hub.agreements.operations.lifecycle import materialise
from referral_hub.agreements.operations.record import audit_change, emit, touch
from referral_hub.agreements.operations.status import (
    LIVE_STATUSES,
    effective_status,
    local_date,
    taken_over_clause,
)
from referral_hub.db import utcnow
from referral_hub.extensions import db

EXPIRY_WINDOWS = (30, 7)


def _expiry_window(agreement: Agreement, now: dt.datetime) -> int | None:
    """The expiry window (30 or 7 days) still to announce for an agreement in force, if any."""
    if effective_status(agreement, now) not in ("active", "suspended"):
        return None
    days_left = (agreement.expires_on - local_date(now)).days
    window = next((w for w in sorted(EXPIRY_WINDOWS) if days_left <= w), None)
    if window is None:
        return None
    if agreement.expiry_notice_days is not None and agreement.expiry_notice_days <= window:
        return None
    return window


def _sweep_has_work(agreement: Agreement, now: dt.datetime) -> bool:
    return (
        effective_status(agreement, now) != agreement.status
        or _expiry_window(agreement, now) is not None
    )


def sweep_agreement_expiry(
    now: dt.datetime | None = None, *, actor: Actor | None = None
) -> dict[str, list[str]]:
    """Write statuses the calendar changed and announce agreements expiring in 30 and 7 days.

    Idempotent: each agreement is announced once per window (the marker column), and a
    status already written is not written again. The caller commits.
    """
    now = now or utcnow()
    actor = actor or Actor.system("scheduler:agreement-expiry")
    day = local_date(now)
    found: dict[str, list[str]] = {
        "expired": [],
        "expiring_30": [],
        "expiring_7": [],
        "activated": [],
        "superseded": [],
    }
    candidates = dict(
        db.session.execute(
            select(Agreement.id, Agreement.status)
            .where(
                or_(
                    Agreement.status.in_(LIVE_STATUSES),
                    and_(Agreement.status == "expired", taken_over_clause(day)),
                )
            )
            .order_by(Agreement.expires_on, Agreement.id)
        ).all()
    )
    for agreement_id in candidates:
        agreement = db.session.get(Agreement, agreement_id)
        if agreement is None or not _sweep_has_work(agreement, now):
            continue
        # Only agreements that change are locked, and each only for this transaction.
        agreement = get_agreement(actor, agreement_id, lock=True)
        materialise(agreement, now, actor)
        window = _expiry_window(agreement, now)
        if window is None:
            continue
        days_left = (agreement.expires_on - day).days
        agreement.expiry_notice_days = window
        touch(agreement, now)
        found[f"expiring_{window}"].append(agreement.id)
        audit_change(
            actor,
            "agreement.expiring",
            agreement,
            {"days_left": days_left, "window_days": window, "expires_on": agreement.expires_on},
        )
        emit("agreement.expiring", agreement, actor)
    # Report what the sweep wrote, including predecessors ended by a renewal's activation.
    for agreement_id, was in candidates.items():
        now_stored = db.session.get(Agreement, agreement_id).status
        if now_stored == was:
            continue
        if now_stored in ("expired", "superseded"):
            found[now_stored].append(agreement_id)
        elif now_stored == "active" and was == "signed":
            found["activated"].append(agreement_id)
    db.session.flush()
    return found
