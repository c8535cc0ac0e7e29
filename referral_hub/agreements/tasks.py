"""The agreement registry's background work (named by delivery/schedule.py)."""

from __future__ import annotations

from referral_hub.agreements import operations
from referral_hub.db import utcnow
from referral_hub.extensions import db


def sweep_agreement_expiry() -> dict[str, list[str]]:
    """Write the statuses the calendar changed and announce agreement.expiring / .expired.

    The ends it writes send `agreement_ended`, whose receivers (the referrals' cancellation)
    run in this job's transaction.
    """
    found = operations.sweep_agreement_expiry(utcnow())
    db.session.commit()
    return found
