"""The cases' background work (named by delivery/schedule.py)."""

from __future__ import annotations

from referral_hub.cases.operations import sweep_due_follow_ups
from referral_hub.db import utcnow
from referral_hub.extensions import db


def announce_due_follow_ups() -> int:
    """case.follow_up_due, once per note whose follow-up day has come; how many."""
    announced = sweep_due_follow_ups(utcnow())
    db.session.commit()
    return len(announced)
