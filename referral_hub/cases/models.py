"""A case around a client, its service plan and its notes. Free text is encrypted at rest.

What a report counts stays in clear (risk level, violence types, the incident's date, place
type and region, the relationship to the alleged perpetrator: codes of DOMAIN.md); what a
caseworker writes (the summary, notes, a plan item's note, the closing summary) names people
and is kept only as ciphertext under the client's own data key (clients/crypto.py), so that
erasing the client makes it unreadable too; reads after erasure give the erased marker.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from referral_hub.accounts.models import User
from referral_hub.clients.crypto import Encrypted
from referral_hub.clients.models import Client
from referral_hub.db import UTCDateTime, new_id, utcnow
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral

STATUSES = ("open", "closed")
RISK_LEVELS = ("low", "medium", "high")
CLOSE_REASONS = ("goals_met", "transferred", "client_withdrew", "unreachable", "other")
#: SIMFONI-PPA's relationship of the victim to the alleged perpetrator (DOMAIN.md, Reports).
PERPETRATOR_RELATIONSHIPS = (
    "spouse",
    "partner_friend",
    "parent",
    "family",
    "neighbour",
    "employer",
    "coworker",
    "teacher",
    "stranger",
    "other",
)
PLAN_STATUSES = ("planned", "in_progress", "done", "cancelled")
#: The six services every UPTD PPA gives itself (Permen PPPA 4/2018; DOMAIN.md): a plan item
#: the unit carries out names one of these.
UNIT_SERVICES = (
    "complaint_intake",
    "outreach",
    "case_management",
    "temporary_shelter",
    "mediation",
    "accompaniment",
)


def case_client_id(obj: Any) -> str | None:
    """The client of the case a plan item or a note belongs to: what it says is under that
    client's key (the case may not be flushed yet)."""
    case = None
    if obj.case_id:
        with db.session.no_autoflush:
            case = db.session.get(Case, obj.case_id)
    if case is None:
        case = next(
            (o for o in db.session.new if isinstance(o, Case) and o.id == obj.case_id), None
        )
    return case.client_id if case is not None else None


class _WithId:
    def __init__(self, **kwargs: Any) -> None:
        # The id comes first: every encrypted value is bound to it.
        super().__init__(id=kwargs.pop("id", None) or new_id())  # type: ignore[call-arg]
        for key, value in kwargs.items():
            setattr(self, key, value)


class Case(_WithId, db.Model):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: Readable and unique: KS-<unit>-<year>-<number>.
    number: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    #: The UPTD PPA that holds the case; nobody else learns it exists.
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), nullable=False, index=True
    )
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), nullable=False, index=True)
    #: The intake the case was opened from (intake arrives with the next issue: no key yet).
    intake_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    risk_level: Mapped[str] = mapped_column(String(16), nullable=False)
    #: SIMFONI-PPA violence type codes.
    violence_types: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    incident_occurred_on: Mapped[dt.date | None] = mapped_column(Date)
    incident_place_type: Mapped[str | None] = mapped_column(String(32))
    #: Kemendagri code of where it happened.
    incident_region_code: Mapped[str | None] = mapped_column(String(16))
    perpetrator_relationship: Mapped[str | None] = mapped_column(String(32))
    summary_enc: Mapped[str | None] = mapped_column(Text)
    caseworker_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    supervisor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    close_reason: Mapped[str | None] = mapped_column(String(24))
    close_summary_enc: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by_user_id: Mapped[str | None] = mapped_column(String(32))
    created_by_client_id: Mapped[str | None] = mapped_column(String(64))
    #: Optimistic lock, and the ETag's seed: a stale change fails instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    organization: Mapped[Organization] = relationship(lazy="joined")
    client: Mapped[Client] = relationship(lazy="joined")
    caseworker: Mapped[User | None] = relationship(foreign_keys=[caseworker_id], lazy="joined")
    supervisor: Mapped[User | None] = relationship(foreign_keys=[supervisor_id], lazy="joined")
    plan_items: Mapped[list[PlanItem]] = relationship(
        back_populates="case", order_by="PlanItem.created_at", lazy="selectin"
    )

    summary = Encrypted("summary_enc", client="client_id")
    close_summary = Encrypted("close_summary_enc", client="client_id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_cases_unit_status", "organization_id", "status", "opened_at"),)


class PlanItem(_WithId, db.Model):
    """One step of the service plan: a service by the unit itself or by a partner."""

    __tablename__ = "case_plan_items"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True
    )
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"), nullable=False)
    #: Who provides it: a partner organisation, or the case's own unit.
    provider_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    note_enc: Mapped[str | None] = mapped_column(Text)
    #: The status as set by the unit; an item referred follows its referral instead
    #: (`operations.plan_item_status`).
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="planned")
    #: The referral that carries the item to its partner (the latest, if referred again).
    referral_id: Mapped[str | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by_user_id: Mapped[str | None] = mapped_column(String(32))

    case: Mapped[Case] = relationship(back_populates="plan_items")
    provider: Mapped[Organization] = relationship(lazy="joined")
    referral: Mapped[Referral | None] = relationship(lazy="joined")

    note = Encrypted("note_enc", client=case_client_id)

    __table_args__ = (Index("ix_case_plan_items_due", "status", "due_on"),)


class CaseNote(_WithId, db.Model):
    """A note on the case, optionally asking for a follow-up on a day."""

    __tablename__ = "case_notes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True
    )
    text_enc: Mapped[str] = mapped_column(Text, nullable=False)
    follow_up_on: Mapped[dt.date | None] = mapped_column(Date)
    #: When the follow-up was marked done (it stops showing as due).
    follow_up_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: When case.follow_up_due was announced (once).
    follow_up_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_by_client_id: Mapped[str | None] = mapped_column(String(64))

    author: Mapped[User | None] = relationship(lazy="joined")

    text = Encrypted("text_enc", client=case_client_id)

    __table_args__ = (Index("ix_case_notes_follow_up", "follow_up_on", "follow_up_done_at"),)
