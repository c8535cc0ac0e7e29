"""An agreement's status at a moment: the calendar and renewals applied to what is stored.

Dates: `effective_from` and `expires_on` are calendar days in the hub's time zone
(HUB_TIMEZONE, see referral_hub/clock.py), both inclusive: an agreement expiring on 31 March
covers referrals until the end of 31 March there and is `expired` from 1 April.

Status: the stored status is what the last change or sweep wrote; what every reader and
every check uses is `effective_status()`, which also applies the calendar (a `signed`
agreement whose start date has come is `active`; anything past `expires_on` is `expired`)
and renewals (an agreement whose renewal has come into force is `superseded`). So an
agreement past its end never covers a referral, whether or not the sweep has run.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, false, not_, or_
from sqlalchemy.orm import aliased

from referral_hub.agreements.models import (
    Agreement,
)

# The hub's calendar, re-exported for the agreement operations.
from referral_hub.clock import local_date as local_date
from referral_hub.clock import start_of_day as start_of_day

LIVE_STATUSES = ("signed", "active", "suspended")


def has_taken_over(renewal: Agreement, day: dt.date) -> bool:
    """A renewal has taken over once all parties signed it and its start date has come."""
    if renewal.fully_signed_at is None or renewal.effective_from > day:
        return False
    # Terminated before it ever came into force: the old agreement carries on.
    return not (renewal.status == "terminated" and renewal.activated_at is None)


def effective_status(agreement: Agreement, at: dt.datetime | dt.date | None = None) -> str:
    """The status at a moment (now by default), whatever the stored status lags behind."""
    stored = agreement.status
    if stored in ("draft", "terminated", "superseded"):
        return stored
    day = local_date(at)
    if any(has_taken_over(r, day) for r in agreement.renewals):
        return "superseded"
    if stored == "expired" or day > agreement.expires_on:
        return "expired"
    if stored == "suspended":
        return "suspended"
    if day < agreement.effective_from:
        return "signed"
    return "active"


def covers_at(agreement: Agreement, at: dt.datetime | dt.date | None = None) -> bool:
    """True when the agreement is in force at the moment (and so may carry referrals)."""
    return effective_status(agreement, at) == "active"


def taken_over_clause(day: dt.date):
    renewal = aliased(Agreement)
    return exists().where(
        renewal.supersedes_id == Agreement.id,
        renewal.fully_signed_at.is_not(None),
        renewal.effective_from <= day,
        not_(and_(renewal.status == "terminated", renewal.activated_at.is_(None))),
    )


def effective_status_clause(status: str, day: dt.date):
    """SQL condition equivalent to `effective_status(a, day) == status`."""
    taken_over = taken_over_clause(day)
    live = Agreement.status.in_(LIVE_STATUSES)
    if status in ("draft", "terminated"):
        return Agreement.status == status
    if status == "superseded":
        return or_(
            Agreement.status == "superseded",
            and_(Agreement.status.in_((*LIVE_STATUSES, "expired")), taken_over),
        )
    not_over = not_(taken_over)
    if status == "expired":
        return and_(
            or_(Agreement.status == "expired", and_(live, Agreement.expires_on < day)), not_over
        )
    in_dates = Agreement.expires_on >= day
    if status == "suspended":
        return and_(Agreement.status == "suspended", in_dates, not_over)
    running = and_(Agreement.status.in_(("signed", "active")), in_dates, not_over)
    if status == "signed":
        return and_(running, Agreement.effective_from > day)
    if status == "active":
        return and_(running, Agreement.effective_from <= day)
    return false()
