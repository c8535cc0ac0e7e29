"""The reports' background work (named by delivery/schedule.py)."""

from __future__ import annotations

from referral_hub.extensions import db
from referral_hub.reports.case_summary import refresh_case_summary
from referral_hub.reports.summary import refresh_referral_summary


def refresh_report_summaries() -> int:
    """Rebuild the months of the referral summary that changed since the last run, and the
    facts of the cases changed since."""
    months = refresh_referral_summary()
    db.session.commit()
    refresh_case_summary()
    db.session.commit()
    return months
