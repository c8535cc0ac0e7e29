"""The sign-in side's background work (named by delivery/schedule.py).

The attempt counters (referral_hub/attempts.py) throttle failed sign-ins and failed OAuth
client authentications alike; their purge is kept here, with the accounts that sign in.
"""

from __future__ import annotations

from referral_hub.attempts import purge_attempt_counters as purge
from referral_hub.extensions import db


def purge_attempt_counters() -> int:
    """Counters of failed attempts an hour quiet and holding nothing: they count no more."""
    deleted = purge()
    db.session.commit()
    return deleted
