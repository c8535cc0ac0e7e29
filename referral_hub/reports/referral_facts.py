"""What the referral reports count, as SQL: written once for the live query
(referral_reports.py) and the monthly summary's refresh (summary.py), so both count alike.

- A referral belongs to the month and period of the day it was sent (WITA); overrides
  waiting for approval (`draft`) and referrals `entered-in-error` are not counted.
- `accepted`: the recipient accepted it (accepted, in progress, on hold, completed, failed);
  `completed`: completed.
- `overdue`: left unanswered past `respond_by`, still waiting or answered late (the overdue
  sweep marks every one it announces: `overdue_notified_at`).
- Answer time: from sending to the recipient's first answer (accept or reject), counted in
  the buckets of models.ANSWER_BUCKET_HOURS; the median is read from them
  (`median_from_buckets`), so the live figures and the summary's agree.
- Clients: a client counts once, in the month of its first referral, for the unit holding
  its record (the sender of all its referrals), however many referrals, services and
  partners follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from referral_hub.extensions import db
from referral_hub.referrals.models import Referral, ReferralEvent
from referral_hub.reports.models import ANSWER_BUCKET_HOURS, BUCKETS

ACCEPTED_STATUSES = ("accepted", "in-progress", "on-hold", "completed", "failed")
NOT_COUNTED = ("draft", "entered-in-error")
ANSWERS = ("accepted", "rejected")
SUMS = ("count", "accepted", "completed", "overdue", *BUCKETS)


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def month_of(column):
    """The WITA month (YYYY-MM) of a stored instant, in the database's own dialect."""
    if is_postgres():
        return func.to_char(func.timezone("Asia/Makassar", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")


def counted():
    return Referral.status.not_in(NOT_COUNTED)


def answers(referrals):
    """Each referral's first answer (accept or reject), for the referrals `referrals` (a
    SELECT of ids) names."""
    return (
        select(ReferralEvent.referral_id, func.min(ReferralEvent.at).label("answered_at"))
        .where(ReferralEvent.to_status.in_(ANSWERS), ReferralEvent.referral_id.in_(referrals))
        .group_by(ReferralEvent.referral_id)
        .subquery()
    )


def _hours(answered_at):
    if is_postgres():
        return func.extract("epoch", answered_at - Referral.created_at) / 3600.0
    return (func.julianday(answered_at) - func.julianday(Referral.created_at)) * 24.0


def measures(now, answered_at) -> list[Any]:
    """The summed columns of SUMS, over referrals joined to their answer time."""
    late = or_(
        Referral.overdue_notified_at.is_not(None),
        and_(Referral.status == "requested", Referral.respond_by < now),
    )
    hours = _hours(answered_at)
    columns = [
        func.count().label("count"),
        func.sum(case((Referral.status.in_(ACCEPTED_STATUSES), 1), else_=0)).label("accepted"),
        func.sum(case((Referral.status == "completed", 1), else_=0)).label("completed"),
        func.sum(case((late, 1), else_=0)).label("overdue"),
    ]
    edges = (0, *ANSWER_BUCKET_HOURS)
    for index, name in enumerate(BUCKETS):
        low = edges[index]
        condition = answered_at.is_not(None) & (hours >= low)
        if index < len(ANSWER_BUCKET_HOURS):
            condition = condition & (hours < ANSWER_BUCKET_HOURS[index])
        columns.append(func.sum(case((condition, 1), else_=0)).label(name))
    return columns


def median_from_buckets(counts: Sequence[int]) -> float | None:
    """The median answer time (hours), interpolated within its bucket; None if none was
    answered. The open last bucket is read as twice as wide as the one before it."""
    total = sum(counts)
    if not total:
        return None
    edges = (0, *ANSWER_BUCKET_HOURS, 2 * ANSWER_BUCKET_HOURS[-1])
    half = total / 2
    seen = 0
    for index, n in enumerate(counts):
        if n and seen + n >= half:
            low, high = edges[index], edges[index + 1]
            return low + (high - low) * (half - seen) / n
        seen += n
    return float(edges[-1])


def first_referrals(client_filter=None):
    """(client_id, organization_id, first) of each client's first counted referral; only of
    the clients `client_filter` (a SELECT of client ids) names, when given."""
    statement = select(
        Referral.client_id,
        Referral.sender_organization_id.label("organization_id"),
        func.min(Referral.created_at).label("first"),
    ).where(counted())
    if client_filter is not None:
        statement = statement.where(Referral.client_id.in_(client_filter))
    return statement.group_by(Referral.client_id, Referral.sender_organization_id).subquery()
