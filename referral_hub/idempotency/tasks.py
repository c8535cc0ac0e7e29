"""The idempotency keys' background work (named by delivery/schedule.py)."""

from __future__ import annotations

from referral_hub.extensions import db
from referral_hub.idempotency.operations import purge_expired_keys


def purge_idempotency_keys() -> int:
    """Idempotency keys past their 24 hours, with the responses kept under them."""
    deleted = purge_expired_keys()
    db.session.commit()
    return deleted
