"""The intakes' background work (named by delivery/schedule.py)."""

from __future__ import annotations

from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.intake.operations import sweep_overdue_intakes


def announce_overdue_intakes() -> int:
    """intake.overdue and the supervisors' e-mail, once per intake past its time; how many."""
    numbers = sweep_overdue_intakes(utcnow())
    db.session.commit()
    return len(numbers)
