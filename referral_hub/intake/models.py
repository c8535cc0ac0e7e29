"""Intakes: a report of violence from a community organisation, an app, or the unit's own
walk-ins, hotline and outreach, with the steps it went through.

What routing, triage and reports need stays in clear (channel, the victim's district code,
violence types, place type, the date, risk level, the clock); who reported and who is hurt
(names, phone, age, sex, where to find them), the summary and the unit's notes are kept only
as ciphertext through the clients' key ring (`Encrypted`; `rotate-keys` walks it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from referral_hub.clients.crypto import Encrypted
from referral_hub.db import UTCDateTime, new_id, utcnow
from referral_hub.directory.models import Organization
from referral_hub.extensions import db

CHANNELS = ("patbm", "poscinta", "puspaga", "app", "hotline", "walk_in", "outreach", "other")
#: Channels by which a unit records a report itself: no agreement is needed for these.
OWN_CHANNELS = ("walk_in", "hotline", "outreach", "other")
#: A walk-in is someone at the unit's own desk: no other organisation reports one.
UNIT_ONLY_CHANNELS = ("walk_in",)
STATUSES = ("received", "triaged", "accepted", "declined", "forwarded")
#: Statuses in which the unit still owes an answer (accept, decline or forward).
OPEN_STATUSES = ("received", "triaged", "forwarded")
RISK_LEVELS = ("high", "medium", "low")
#: Hours to answer by risk, unless the unit set its own (`IntakeClock`).
DEFAULT_HOURS = {"high": 1, "medium": 6, "low": 72}
RELATIONSHIPS = ("self", "family", "neighbour", "teacher", "volunteer", "official", "other")
STEP_KINDS = ("received", "triaged", "forwarded", "accepted", "declined", "overdue")


class Intake(db.Model):
    __tablename__ = "intakes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: ADU-<unit>-<year>-<number>, of the unit that first received it.
    number: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    #: The UPTD PPA that owns it now (the receiving one after a forward).
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), nullable=False, index=True
    )
    #: Who reported it: a community organisation, an app's office, or the unit itself.
    reporting_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), nullable=False, index=True
    )
    #: The agreement under which it came in (none for the unit's own records).
    agreement_id: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="received")
    immediate_danger: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reporter_may_be_contacted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    external_reference: Mapped[str | None] = mapped_column(String(100))
    #: The portal form's one-time token: a retried submit finds the intake it made.
    form_token: Mapped[str | None] = mapped_column(String(64))
    #: Kemendagri code of the victim's district or village: where jurisdiction lies.
    victim_region_code: Mapped[str] = mapped_column(String(16), nullable=False)
    violence_types: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    place_type: Mapped[str | None] = mapped_column(String(32))
    occurred_on: Mapped[dt.date | None] = mapped_column(Date)
    reporter_enc: Mapped[str | None] = mapped_column(Text)
    victim_enc: Mapped[str | None] = mapped_column(Text)
    summary_enc: Mapped[str | None] = mapped_column(Text)
    risk_level: Mapped[str | None] = mapped_column(String(8))
    triage_note_enc: Mapped[str | None] = mapped_column(Text)
    triaged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: When the owning unit must have answered (accepted, declined or forwarded it).
    respond_by: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    #: When the owning unit got it (its receipt, or the forward).
    arrived_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    #: When intake.overdue was announced for the current clock (once).
    overdue_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decline_reason_enc: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(ForeignKey("clients.id"))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by_user_id: Mapped[str | None] = mapped_column(String(32))
    created_by_client_id: Mapped[str | None] = mapped_column(String(64))

    organization: Mapped[Organization] = relationship(foreign_keys=[organization_id], lazy="joined")
    reporting_organization: Mapped[Organization] = relationship(
        foreign_keys=[reporting_organization_id], lazy="joined"
    )
    steps: Mapped[list[IntakeStep]] = relationship(
        back_populates="intake", order_by="IntakeStep.at", lazy="selectin"
    )

    #: {name, phone, relationship, is_victim}
    reporter = Encrypted("reporter_enc", "json")
    #: {name, age_years, sex, location_hint}
    victim = Encrypted("victim_enc", "json")
    summary = Encrypted("summary_enc")
    triage_note = Encrypted("triage_note_enc")
    decline_reason = Encrypted("decline_reason_enc")

    def __init__(self, **kwargs: Any) -> None:
        # The id comes first: every encrypted value is bound to it.
        super().__init__(id=kwargs.pop("id", None) or new_id())
        for key, value in kwargs.items():
            setattr(self, key, value)

    __table_args__ = (
        Index("ix_intakes_unit_open", "organization_id", "status", "respond_by"),
        Index("ix_intakes_due", "status", "respond_by", "overdue_notified_at"),
        UniqueConstraint("reporting_organization_id", "form_token", name="uq_intakes_form_token"),
        # One intake per reference of the reporting organisation (a retry without an
        # Idempotency-Key finds it: 409 intake-already-reported); none given, no limit.
        Index(
            "uq_intakes_external_reference",
            "reporting_organization_id",
            "external_reference",
            unique=True,
        ),
    )


class IntakeStep(db.Model):
    """One step of an intake's history: who did what, where; codes only, no personal data."""

    __tablename__ = "intake_steps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    intake_id: Mapped[str] = mapped_column(
        ForeignKey("intakes.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The unit (or reporting organisation) that took the step.
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False)
    #: A forward's receiving unit.
    to_organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    agreement_id: Mapped[str | None] = mapped_column(String(32))
    risk_level: Mapped[str | None] = mapped_column(String(8))
    user_id: Mapped[str | None] = mapped_column(String(32))

    intake: Mapped[Intake] = relationship(back_populates="steps")
    organization: Mapped[Organization] = relationship(foreign_keys=[organization_id], lazy="joined")
    to_organization: Mapped[Organization | None] = relationship(
        foreign_keys=[to_organization_id], lazy="joined"
    )


class IntakeClock(db.Model):
    """A unit's own hours to answer an intake of a risk level (else `DEFAULT_HOURS`)."""

    __tablename__ = "intake_clocks"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    risk_level: Mapped[str] = mapped_column(String(8), primary_key=True)
    hours: Mapped[int] = mapped_column(Integer, nullable=False)
