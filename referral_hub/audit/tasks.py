"""The audit trail's background work (named by delivery/schedule.py)."""

from __future__ import annotations

import logging

from referral_hub.actors import Actor
from referral_hub.audit.checkpoints import sign_checkpoint
from referral_hub.extensions import db
from referral_hub.problems import Problem

log = logging.getLogger(__name__)


def sign_audit_checkpoint() -> int | None:
    """Sign the audit chain's head if it moved since the last checkpoint; its entry count.

    A chain that no longer extends the last checkpoint is not signed: that is logged as an
    error for the operators (and stays visible to `flask hub audit-verify`).
    """
    try:
        checkpoint = sign_checkpoint(Actor.system("job:audit-checkpoint"), only_if_moved=True)
        entries = checkpoint.entries if checkpoint is not None else None
        db.session.commit()
    except Problem as problem:
        db.session.rollback()
        log.error("audit checkpoint not signed: %s", problem.detail)
        return None
    return entries
