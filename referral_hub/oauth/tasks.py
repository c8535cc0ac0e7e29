"""The OAuth server's background work (named by delivery/schedule.py)."""

from __future__ import annotations

from referral_hub.extensions import db
from referral_hub.oauth.operations import purge_authorization_codes as purge


def purge_authorization_codes() -> int:
    """Used and expired OAuth authorization codes, a day on: nothing keeps them longer."""
    deleted = purge()
    db.session.commit()
    return deleted
