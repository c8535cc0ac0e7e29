"""Referrals, their timeline and their appointments. Free text is encrypted at rest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from referral_hub.accounts.models import User
from referral_hub.agreements.models import Agreement
from referral_hub.clients.crypto import Encrypted
from referral_hub.clients.models import Client, Consent
from referral_hub.db import UTCDateTime, new_id, utcnow
from referral_hub.directory.models import Organization
from referral_hub.extensions import db


def referral_client_id(obj: Any) -> str | None:
    """The client of the referral a timeline line or an appointment belongs to: what they say
    of the client is under that client's key (the referral may not be flushed yet)."""
    referral = None
    if obj.referral_id:
        with db.session.no_autoflush:
            referral = db.session.get(Referral, obj.referral_id)
    if referral is None:
        referral = next(
            (o for o in db.session.new if isinstance(o, Referral) and o.id == obj.referral_id),
            None,
        )
    return referral.client_id if referral is not None else None


class Referral(db.Model):
    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: Readable and unique: RJ-<sender unit>-<year>-<number>.
    number: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    sender_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    recipient_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), nullable=False, index=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"), nullable=False)
    #: The agreement in force when the referral was sent; it stays the referral's basis.
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), nullable=False)
    consent_id: Mapped[str | None] = mapped_column(ForeignKey("consents.id"), index=True)
    #: "consent", or an override: "legal_obligation" | "vital_interest" (marked for ever).
    legal_basis: Mapped[str] = mapped_column(String(24), nullable=False)
    override_justification_enc: Mapped[str | None] = mapped_column(Text)
    #: The supervisor who approved the override (set once approved, never merely named).
    override_approved_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    #: An override's approval: "pending" (a draft the recipient cannot see), "approved",
    #: "declined"; None for a referral on consent.
    approval_status: Mapped[str | None] = mapped_column(String(16))
    #: The supervisor who approved or declined, and when.
    approval_decided_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    approval_decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    urgency: Mapped[str] = mapped_column(String(16), nullable=False)
    reason_enc: Mapped[str] = mapped_column(Text, nullable=False)
    #: What the sender chose to share (within agreement and consent); demographics always.
    data_categories: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: {category: data} for case_summary, health, legal, perpetrator; encrypted.
    case_data_enc: Mapped[str | None] = mapped_column(Text)
    sender_reference: Mapped[str | None] = mapped_column(String(100))
    #: The case whose plan item this referral carries (cases/): its number is the sender's.
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    status_reason_enc: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_summary_enc: Mapped[str | None] = mapped_column(Text)
    respond_by: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    #: When referral.overdue was announced (once).
    overdue_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by_user_id: Mapped[str | None] = mapped_column(String(32))
    created_by_client_id: Mapped[str | None] = mapped_column(String(64))
    #: Optimistic lock: a concurrent change of the same row fails instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    sender: Mapped[Organization] = relationship(
        foreign_keys=[sender_organization_id], lazy="joined"
    )
    recipient: Mapped[Organization] = relationship(
        foreign_keys=[recipient_organization_id], lazy="joined"
    )
    client: Mapped[Client] = relationship(lazy="joined")
    agreement: Mapped[Agreement] = relationship(lazy="joined")
    consent: Mapped[Consent | None] = relationship(lazy="joined")
    override_approved_by: Mapped[User | None] = relationship(
        foreign_keys=[override_approved_by_id], lazy="joined"
    )
    approval_decided_by: Mapped[User | None] = relationship(
        foreign_keys=[approval_decided_by_id], lazy="select"
    )
    appointments: Mapped[list[Appointment]] = relationship(
        back_populates="referral", order_by="Appointment.starts_at", lazy="selectin"
    )
    #: Named by string: cases/ builds on referrals, never the other way round.
    case: Mapped[Any] = relationship("Case", foreign_keys=[case_id], lazy="select")

    reason = Encrypted("reason_enc", client="client_id")
    override_justification = Encrypted("override_justification_enc", client="client_id")
    case_data = Encrypted("case_data_enc", "json", client="client_id")
    status_reason = Encrypted("status_reason_enc", client="client_id")
    outcome_summary = Encrypted("outcome_summary_enc", client="client_id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_referrals_inbox", "recipient_organization_id", "status", "created_at"),
        Index("ix_referrals_outbox", "sender_organization_id", "status", "created_at"),
        Index("ix_referrals_due", "status", "respond_by"),
        # The lists' order (operations.referrals_query): a page is an index range scan,
        # not a sort of the whole box.
        Index("ix_referrals_received_order", "recipient_organization_id", "respond_by"),
        Index("ix_referrals_sent_order", "sender_organization_id", "respond_by"),
        # GET /api/v1/referrals?sender_reference=: a sender's own reference, in its box.
        Index("ix_referrals_sender_reference", "sender_organization_id", "sender_reference"),
        # The reports' summary refresh: what changed since its last run (reports/summary.py).
        Index("ix_referrals_updated", "updated_at"),
        Index("ix_referrals_overdue_notified", "overdue_notified_at"),
    )

    def __init__(self, **kwargs: Any) -> None:
        # The id comes first: every encrypted value is bound to it.
        super().__init__(id=kwargs.pop("id", None) or new_id())
        for key, value in kwargs.items():
            setattr(self, key, value)


class ReferralEvent(db.Model):
    """One line of a referral's timeline."""

    __tablename__ = "referral_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    referral_id: Mapped[str] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[str | None] = mapped_column(String(32))
    oauth_client_id: Mapped[str | None] = mapped_column(String(64))
    note_enc: Mapped[str | None] = mapped_column(Text)
    #: Recorded by the sender on the recipient's behalf (a partner not on the hub answered
    #: by phone or letter); `on_behalf_note` says how the answer came.
    on_behalf: Mapped[bool] = mapped_column(default=False, server_default=false(), nullable=False)
    on_behalf_note_enc: Mapped[str | None] = mapped_column(Text)

    organization: Mapped[Organization | None] = relationship(lazy="joined")
    #: Never loaded through here; it tells the unit of work to insert a new referral before
    #: its first timeline line, so that sending needs no flush of its own.
    referral: Mapped[Referral] = relationship(lazy="raise")

    note = Encrypted("note_enc", client=referral_client_id)
    on_behalf_note = Encrypted("on_behalf_note_enc", client=referral_client_id)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(id=kwargs.pop("id", None) or new_id())
        for key, value in kwargs.items():
            setattr(self, key, value)


class Appointment(db.Model):
    """A session the recipient schedules for the client (e.g. one of a counselling series)."""

    __tablename__ = "appointments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    referral_id: Mapped[str] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False, index=True
    )
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16), nullable=False)
    location_enc: Mapped[str | None] = mapped_column(Text)
    practitioner: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="scheduled")
    note_enc: Mapped[str | None] = mapped_column(Text)
    #: Scheduled by the sender for a recipient not on the hub (the timeline says how it came).
    recorded_on_behalf: Mapped[bool] = mapped_column(
        default=False, server_default=false(), nullable=False
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    referral: Mapped[Referral] = relationship(back_populates="appointments")

    location = Encrypted("location_enc", client=referral_client_id)
    note = Encrypted("note_enc", client=referral_client_id)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(id=kwargs.pop("id", None) or new_id())
        for key, value in kwargs.items():
            setattr(self, key, value)
