"""Summary tables of the reports, refreshed by a job (reports/tasks.py): the figures of a
month, by sender, recipient and service, so that a year's province report reads a few
thousand summary rows instead of every referral of the year (summary.py says how)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from referral_hub.db import UTCDateTime
from referral_hub.extensions import db

#: Upper ends (hours) of the answer-time buckets; the last bucket is open. The median is
#: read from them (summary.median_from_buckets), by the live query and the summary alike.
ANSWER_BUCKET_HOURS = (1, 2, 4, 8, 12, 24, 48, 72, 120, 168, 336)
BUCKETS = tuple(f"answered_{i}" for i in range(len(ANSWER_BUCKET_HOURS) + 1))


class ReferralMonth(db.Model):
    """Referrals sent in one month (WITA) by one organisation to another for one service."""

    __tablename__ = "report_referral_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    sender_organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    recipient_organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    service_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    accepted: Mapped[int] = mapped_column(Integer, nullable=False)
    completed: Mapped[int] = mapped_column(Integer, nullable=False)
    overdue: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_0: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_1: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_2: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_3: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_4: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_5: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_6: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_7: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_8: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_9: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_10: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_11: Mapped[int] = mapped_column(Integer, nullable=False)


class ReferralYear(db.Model):
    """The months of one year added up (summary.py: a year's report reads these, whose
    number is set by the routes in use, not by how often they are used)."""

    __tablename__ = "report_referral_years"

    year: Mapped[str] = mapped_column(String(4), primary_key=True)
    sender_organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    recipient_organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    service_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    accepted: Mapped[int] = mapped_column(Integer, nullable=False)
    completed: Mapped[int] = mapped_column(Integer, nullable=False)
    overdue: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_0: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_1: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_2: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_3: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_4: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_5: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_6: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_7: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_8: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_9: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_10: Mapped[int] = mapped_column(Integer, nullable=False)
    answered_11: Mapped[int] = mapped_column(Integer, nullable=False)


class ClientMonth(db.Model):
    """Clients first referred in one month, by the unit holding their record."""

    __tablename__ = "report_client_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    clients: Mapped[int] = mapped_column(Integer, nullable=False)


class ReportRefresh(db.Model):
    """How far a summary is refreshed: every change before `watermark` is in it."""

    __tablename__ = "report_refreshes"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    watermark: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    refreshed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    months: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class CaseFact(db.Model):
    """A case as the case report counts it (case_summary.py): one row per violence type
    (`first` marks one row a case), with the client's age band at opening worked out once,
    so that a report groups rows in SQL instead of loading and decrypting every case."""

    __tablename__ = "report_case_facts"

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: A violence type of the case; "" for a case without one (reported as none).
    violence_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    first: Mapped[bool] = mapped_column(Boolean, nullable=False)
    organization_id: Mapped[str] = mapped_column(String(32), nullable=False)
    client_id: Mapped[str] = mapped_column(String(32), nullable=False)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    month: Mapped[str] = mapped_column(String(7), nullable=False)
    age_band: Mapped[str | None] = mapped_column(String(8))
    sex: Mapped[str | None] = mapped_column(String(8))
    place_type: Mapped[str | None] = mapped_column(String(32))
    perpetrator_relationship: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    risk_level: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        Index("ix_report_case_facts_unit", "organization_id", "opened_at"),
        Index("ix_report_case_facts_opened", "opened_at"),
    )
