"""The referrals' background work (named by delivery/schedule.py)."""

from __future__ import annotations

from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.referrals.operations import sweep_overdue_referrals as sweep


def sweep_overdue_referrals() -> int:
    """referral.overdue, once per referral past respond_by, and its e-mail; how many."""
    numbers = sweep(utcnow())
    db.session.commit()
    return len(numbers)
