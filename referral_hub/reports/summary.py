"""The monthly summary of the referrals, and its refresh by a job (why: bench/RESULTS.md).

A year's province report over every referral grows with the referrals stored: 240 ms at
100,000 and ten times that at 1,000,000 on the benchmark machine, as PostgreSQL reads a
third of the table, joins the answers and sorts for the medians; no index can avoid reading
the year's rows, because the report sums all of them. The summary holds one row per month,
sender, recipient and service with the counts and the answer-time buckets
(referral_facts.py), so a year's report sums a number of rows set by the network's shape
(who refers what to whom), not by the number of referrals. The months' rows still grow with
the referrals, as more routes are used in a month (three times the rows for ten times the
referrals on the benchmark), so a period of whole years reads the years' rows
(`report_referral_years`, the months added up, rebuilt with them): one row per route in
use that year, which stops growing once the routes are all in use.

The refresh (`refresh_referral_summary`, every ten minutes from reports/tasks.py) rebuilds
only the months in which a referral changed since its last run: sent, answered, cancelled
or marked overdue (indexes on `updated_at` and `overdue_notified_at` find them). Reports
read the summary for whole months once it has been built at least once, and say as of
when (`as_of`); figures by status or urgency, custom periods that cut a month, and hubs
that never ran the refresh read the referrals themselves (referral_reports.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, insert, or_, select, text

from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from referral_hub.reports.models import (
    BUCKETS,
    ClientMonth,
    ReferralMonth,
    ReferralYear,
    ReportRefresh,
)
from referral_hub.reports.referral_facts import (
    SUMS,
    answers,
    counted,
    first_referrals,
    is_postgres,
    measures,
    month_of,
)

NAME = "referrals"
#: Changes committed a little after the refresh read the clock are taken again next time.
OVERLAP = dt.timedelta(minutes=5)
#: Months rebuilt per statement.
CHUNK = 12
#: A refresh that rebuilt this many months updates the planner's statistics itself.
ANALYZE_AFTER = 6


def summary_state() -> ReportRefresh | None:
    return db.session.get(ReportRefresh, NAME)


def _changed_months(since: dt.datetime | None) -> list[str]:
    statement = select(month_of(Referral.created_at)).distinct()
    if since is not None:
        statement = statement.where(
            or_(Referral.updated_at >= since, Referral.overdue_notified_at >= since)
        )
    return sorted(m for m in db.session.scalars(statement) if m)


def _rebuild(months: list[str], now: dt.datetime) -> None:
    in_months = month_of(Referral.created_at).in_(months)
    ids = select(Referral.id).where(in_months, counted())
    answered = answers(ids)
    month = month_of(Referral.created_at)
    rows = (
        select(
            month.label("month"),
            Referral.sender_organization_id,
            Referral.recipient_organization_id,
            Referral.service_code,
            *measures(now, answered.c.answered_at),
        )
        .outerjoin(answered, answered.c.referral_id == Referral.id)
        .where(in_months, counted())
        .group_by(
            month,
            Referral.sender_organization_id,
            Referral.recipient_organization_id,
            Referral.service_code,
        )
    )
    db.session.execute(delete(ReferralMonth).where(ReferralMonth.month.in_(months)))
    db.session.execute(
        insert(ReferralMonth).from_select(
            [
                "month",
                "sender_organization_id",
                "recipient_organization_id",
                "service_code",
                *SUMS,
            ],
            rows,
        )
    )
    # Clients first referred in these months: only clients with a referral in them can be.
    firsts = first_referrals(select(Referral.client_id).where(in_months, counted()))
    first_month = month_of(firsts.c.first)
    clients = (
        select(first_month.label("month"), firsts.c.organization_id, func.count())
        .where(first_month.in_(months))
        .group_by(first_month, firsts.c.organization_id)
    )
    db.session.execute(delete(ClientMonth).where(ClientMonth.month.in_(months)))
    db.session.execute(
        insert(ClientMonth).from_select(["month", "organization_id", "clients"], clients)
    )


def _rebuild_years(years: list[str]) -> None:
    """The months of these years added up, by sender, recipient and service."""
    year = func.substr(ReferralMonth.month, 1, 4)
    rows = (
        select(
            year.label("year"),
            ReferralMonth.sender_organization_id,
            ReferralMonth.recipient_organization_id,
            ReferralMonth.service_code,
            *(func.sum(getattr(ReferralMonth, name)) for name in SUMS),
        )
        .where(year.in_(years))
        .group_by(
            year,
            ReferralMonth.sender_organization_id,
            ReferralMonth.recipient_organization_id,
            ReferralMonth.service_code,
        )
    )
    db.session.execute(delete(ReferralYear).where(ReferralYear.year.in_(years)))
    db.session.execute(
        insert(ReferralYear).from_select(
            [
                "year",
                "sender_organization_id",
                "recipient_organization_id",
                "service_code",
                *SUMS,
            ],
            rows,
        )
    )


def refresh_referral_summary(now: dt.datetime | None = None, *, full: bool = False) -> int:
    """Rebuild the months changed since the last refresh (all of them the first time, or
    with `full`: after referrals were loaded in bulk, whose rows carry their own times); the
    caller commits. Returns how many months were rebuilt."""
    now = now or utcnow()
    state = summary_state()
    since = None if state is None or full else state.watermark - OVERLAP
    months = _changed_months(since)
    if since is None:
        # Months no referral is left in (all entered in error, say) are dropped too.
        db.session.execute(delete(ReferralMonth).where(ReferralMonth.month.not_in(months)))
        db.session.execute(delete(ClientMonth).where(ClientMonth.month.not_in(months)))
        db.session.execute(
            delete(ReferralYear).where(ReferralYear.year.not_in({m[:4] for m in months}))
        )
    for start in range(0, len(months), CHUNK):
        _rebuild(months[start : start + CHUNK], now)
    if months:
        _rebuild_years(sorted({m[:4] for m in months}))
    if state is None:
        if not months:
            # Nothing to summarise yet: the reports keep reading the (few) referrals.
            return 0
        state = ReportRefresh(name=NAME, watermark=now, refreshed_at=utcnow(), months=0)
        db.session.add(state)
    state.watermark, state.refreshed_at, state.months = now, utcnow(), len(months)
    if is_postgres() and len(months) >= ANALYZE_AFTER:
        # Rebuilt wholesale: the planner's row counts would otherwise wait for autovacuum
        # (a year's report planned for a hundred rows sorts twenty thousand).
        db.session.execute(
            text("ANALYZE report_referral_months, report_referral_years, report_client_months")
        )
    return len(months)


__all__ = ["BUCKETS", "refresh_referral_summary", "summary_state"]
