"""The cases as the case report counts them, refreshed by the reports' job (why:
bench/RESULTS.md, *Case report*).

Read live, the case report loads every case of the period with its client and decrypts each
client's birth date for the age band: a unit's year of 1,700 cases, or the province's
67,000, is seconds of Python, and no index helps, because the report counts them all. The
facts table (`report_case_facts`) holds each case once per violence type with the values
the report groups by, the age band at opening worked out once, so a report is one SQL
GROUP BY over the period's rows (an index on unit and opening finds them), with the
distinct clients counted by PostgreSQL.

Its grain stays the case, not a month's counts as for referrals: the report counts each
client once in a row and in the total, and distinct clients do not add up across months.

`refresh_case_summary` (every ten minutes from reports/tasks.py) rewrites the facts of the
cases changed since its last run (opened, edited, closed, reopened: `updated_at`) and of the
cases of clients erased or rectified since (the age band may change). Reports read the
facts once they have been built, and say as of when (`as_of`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, or_, select, text
from sqlalchemy.orm import joinedload, lazyload

from referral_hub.cases.models import Case
from referral_hub.clients.models import Client, Rectification
from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.reports.models import CaseFact, ReportRefresh
from referral_hub.reports.referral_facts import is_postgres
from referral_hub.reports.registry import WITA

NAME = "cases"
#: Changes committed a little after the refresh read the clock are taken again next time.
OVERLAP = dt.timedelta(minutes=5)
#: Cases loaded and written per round.
BATCH = 2000
#: A refresh that rewrote this many cases updates the planner's statistics itself.
ANALYZE_AFTER = 5000


def case_summary_state() -> ReportRefresh | None:
    return db.session.get(ReportRefresh, NAME)


def fact_rows(case: Case) -> list[dict]:
    """The facts of one case: a row per violence type, the first marked."""
    opened = case.opened_at.astimezone(WITA)
    common = {
        "case_id": case.id,
        "organization_id": case.organization_id,
        "client_id": case.client_id,
        "opened_at": case.opened_at,
        "month": opened.strftime("%Y-%m"),
        "age_band": case.client.age_band(opened.date()),
        "sex": case.client.sex,
        "place_type": case.incident_place_type,
        "perpetrator_relationship": case.perpetrator_relationship,
        "region": case.incident_region_code,
        "status": case.status,
        "risk_level": case.risk_level,
    }
    kinds = list(dict.fromkeys(case.violence_types or [])) or [""]
    return [
        {**common, "violence_type": kind, "first": index == 0} for index, kind in enumerate(kinds)
    ]


def _changed_cases(since: dt.datetime) -> list[str]:
    clients = (
        select(Client.id)
        .where(Client.erased_at >= since)
        .union(select(Rectification.client_id).where(Rectification.at >= since))
    )
    statement = select(Case.id).where(
        or_(Case.updated_at >= since, Case.client_id.in_(clients.scalar_subquery()))
    )
    return list(db.session.scalars(statement))


def _write(ids: list[str] | None) -> int:
    """Rewrite the facts of these cases (every case when None); returns how many."""
    if ids is None:
        db.session.execute(delete(CaseFact))
        ids = list(db.session.scalars(select(Case.id).order_by(Case.id)))
        fresh = True
    else:
        fresh = False
    written = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        if not fresh:
            db.session.execute(delete(CaseFact).where(CaseFact.case_id.in_(chunk)))
        query = (
            select(Case).options(lazyload("*"), joinedload(Case.client)).where(Case.id.in_(chunk))
        )
        rows = [row for case in db.session.scalars(query) for row in fact_rows(case)]
        if rows:
            db.session.execute(insert(CaseFact), rows)
        written += len({row["case_id"] for row in rows})
        db.session.expunge_all()  # a full rebuild holds no more than a batch in memory
    return written


def refresh_case_summary(now: dt.datetime | None = None, *, full: bool = False) -> int:
    """Rewrite the facts of the cases changed since the last refresh (every case the first
    time, or with `full`: after cases were loaded in bulk, whose rows carry their own
    times); the caller commits. Returns how many cases were rewritten."""
    now = now or utcnow()
    state = case_summary_state()
    if state is None or full:
        written = _write(None)
    else:
        written = _write(_changed_cases(state.watermark - OVERLAP))
    state = case_summary_state()  # expunged while writing
    if state is None:
        if not written:
            return 0  # nothing to hold yet: the report keeps reading the (few) cases
        state = ReportRefresh(name=NAME, watermark=now, refreshed_at=utcnow(), months=0)
        db.session.add(state)
    state.watermark, state.refreshed_at, state.months = now, utcnow(), written
    if is_postgres() and written >= ANALYZE_AFTER:
        db.session.execute(text("ANALYZE report_case_facts"))
    return written
