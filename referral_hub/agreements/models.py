"""The MoU registry: agreements, their parties, covered services, signatures and documents."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from referral_hub.db import UTCDateTime, new_id, utcnow
from referral_hub.directory.models import Organization
from referral_hub.extensions import db

KINDS = ("mou", "pks", "contract")
#: Stored statuses. What a reader sees is the effective status (operations.effective_status),
#: which also accounts for the calendar: a stored status may lag until the sweep runs.
STATUSES = ("draft", "signed", "active", "suspended", "terminated", "expired", "superseded")


class Agreement(db.Model):
    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    number: Mapped[str] = mapped_column(String(100), nullable=False)
    #: The number case-folded: what the uniqueness rule compares.
    number_key: Mapped[str] = mapped_column(String(100), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    #: Codes from DATA_CATEGORIES, sorted; always holds `demographics`.
    data_categories: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: First and last calendar day (inclusive) on which the agreement is in force, local time.
    effective_from: Mapped[dt.date] = mapped_column(Date, nullable=False)
    expires_on: Mapped[dt.date] = mapped_column(Date, nullable=False, index=True)
    #: How many hours a provider has to answer a routine referral under this agreement.
    response_hours: Mapped[int] = mapped_column(Integer, nullable=False)
    #: [{"name": str|None, "title": str, "organization_id": str}] as written in the document.
    signatories: Mapped[list[dict]] = mapped_column(JSON, nullable=False, default=list)
    notes: Mapped[str | None] = mapped_column(Text)

    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft", index=True)
    #: 1 for a first agreement, +1 for each renewal in its line.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: The agreement this one renews; it ends (superseded) when this one comes into force.
    supersedes_id: Mapped[str | None] = mapped_column(ForeignKey("agreements.id"), index=True)
    #: Sorted party ids joined by ","; a number may not repeat among the same parties.
    parties_key: Mapped[str] = mapped_column(String(700), nullable=False)
    #: Bumped on every change; part of the ETag.
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    fully_signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: When the agreement first came into force (None if it never did).
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    termination_reason: Mapped[str | None] = mapped_column(Text)
    status_reason: Mapped[str | None] = mapped_column(Text)
    #: The smallest expiry window (30, then 7 days) already announced; keeps the sweep idempotent.
    expiry_notice_days: Mapped[int | None] = mapped_column(Integer)

    created_by_organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    created_by_user_id: Mapped[str | None] = mapped_column(String(32))
    created_by_client_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    parties: Mapped[list[AgreementParty]] = relationship(
        back_populates="agreement",
        cascade="all, delete-orphan",
        order_by="AgreementParty.position",
        lazy="selectin",
    )
    services: Mapped[list[AgreementService]] = relationship(
        back_populates="agreement",
        cascade="all, delete-orphan",
        order_by="AgreementService.position",
        lazy="selectin",
    )
    signatures: Mapped[list[AgreementSignature]] = relationship(
        back_populates="agreement",
        cascade="all, delete-orphan",
        order_by="AgreementSignature.signed_at",
        lazy="selectin",
    )
    documents: Mapped[list[AgreementDocument]] = relationship(
        back_populates="agreement",
        cascade="all, delete-orphan",
        order_by="AgreementDocument.uploaded_at",
        lazy="selectin",
    )
    supersedes: Mapped[Agreement | None] = relationship(
        remote_side=[id], back_populates="renewals", lazy="select"
    )
    renewals: Mapped[list[Agreement]] = relationship(
        back_populates="supersedes", lazy="select", order_by="Agreement.version"
    )

    __table_args__ = (
        CheckConstraint("expires_on > effective_from", name="dates_in_order"),
        CheckConstraint("response_hours > 0", name="response_hours_positive"),
    )

    @property
    def party_ids(self) -> list[str]:
        return [p.organization_id for p in self.parties]

    @property
    def signed_party_ids(self) -> set[str]:
        """Parties whose signature counts: on the hub, or on paper and not disputed."""
        return {s.organization_id for s in self.signatures if s.counts}

    @property
    def disputed_signatures(self) -> list[AgreementSignature]:
        return [s for s in self.signatures if s.confirmation == "disputed"]


#: The database's guard for the number rule (also against two simultaneous requests): one
#: live agreement per parties, number (case-insensitive) and version; withdrawn
#: (terminated) agreements free their number.
Index(
    "uq_agreements_parties_number_version",
    Agreement.parties_key,
    Agreement.number_key,
    Agreement.version,
    unique=True,
    postgresql_where=Agreement.status != "terminated",
    sqlite_where=Agreement.status != "terminated",
)


class AgreementParty(db.Model):
    __tablename__ = "agreement_parties"

    agreement_id: Mapped[str] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    agreement: Mapped[Agreement] = relationship(back_populates="parties")
    organization: Mapped[Organization] = relationship(lazy="joined")


class AgreementService(db.Model):
    """A service the agreement covers, and the party that provides it."""

    __tablename__ = "agreement_services"

    agreement_id: Mapped[str] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True
    )
    service_code: Mapped[str] = mapped_column(
        ForeignKey("services.code"), primary_key=True, index=True
    )
    provider_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    agreement: Mapped[Agreement] = relationship(back_populates="services")
    provider: Mapped[Organization] = relationship(lazy="joined")


SIGNATURE_METHODS = ("hub", "paper")
#: A paper signature's standing with its party: not yet answered, confirmed, disputed.
CONFIRMATIONS = ("pending", "confirmed", "disputed")


class AgreementSignature(db.Model):
    """One party's signature: who signed for it, when, and what content they signed.

    On the hub (`method` "hub") the actor is the party's own user or client. On paper
    (`method` "paper") the actor is who recorded it (an admin of another party or of the hub
    operator, `recorded_by_organization_id`), with the signed scan (`document_id`), the date
    on the paper (`signed_on`) and who signed it; the party answers it once on the hub
    (`confirmation`): a disputed paper signature no longer counts.
    """

    __tablename__ = "agreement_signatures"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    agreement_id: Mapped[str] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False
    )
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False)
    #: "user" or "client" (an OAuth client acting for its organisation), or "system".
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(32))
    client_id: Mapped[str | None] = mapped_column(String(64))
    actor_label: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    #: SHA-256 of the agreement's canonical content at the moment of signing (or recording).
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)

    method: Mapped[str] = mapped_column(
        String(8), nullable=False, default="hub", server_default="hub"
    )
    recorded_by_organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    document_id: Mapped[str | None] = mapped_column(ForeignKey("agreement_documents.id"))
    #: The date written on the paper.
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    signatory_name: Mapped[str | None] = mapped_column(String(200))
    signatory_title: Mapped[str | None] = mapped_column(String(200))
    #: None on the hub; for paper one of CONFIRMATIONS.
    confirmation: Mapped[str | None] = mapped_column(String(16))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answered_by_user_id: Mapped[str | None] = mapped_column(String(32))
    answered_by_client_id: Mapped[str | None] = mapped_column(String(64))
    answered_by_label: Mapped[str | None] = mapped_column(String(200))
    dispute_reason: Mapped[str | None] = mapped_column(Text)

    agreement: Mapped[Agreement] = relationship(back_populates="signatures")
    organization: Mapped[Organization] = relationship(lazy="joined", foreign_keys=[organization_id])
    recorded_by: Mapped[Organization | None] = relationship(
        lazy="joined", foreign_keys=[recorded_by_organization_id]
    )
    document: Mapped[AgreementDocument | None] = relationship(lazy="joined")

    @property
    def counts(self) -> bool:
        """Whether it counts toward the agreement coming into force."""
        return self.confirmation != "disputed"

    __table_args__ = (
        UniqueConstraint("agreement_id", "organization_id"),
        CheckConstraint("method IN ('hub', 'paper')", name="signature_method_known"),
        CheckConstraint(
            "(method = 'hub' AND confirmation IS NULL) OR "
            "(method = 'paper' AND document_id IS NOT NULL AND signed_on IS NOT NULL "
            "AND confirmation IN ('pending', 'confirmed', 'disputed'))",
            name="paper_signature_complete",
        ),
    )


class AgreementDocument(db.Model):
    """A PDF kept with an agreement (the signed scan, annexes); bytes live in the store."""

    __tablename__ = "agreement_documents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    agreement_id: Mapped[str] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False, index=True
    )
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: Key in the document store (content-addressed: the SHA-256 itself by default).
    storage_key: Mapped[str] = mapped_column(String(200), nullable=False)
    uploaded_by_organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    uploaded_by_user_id: Mapped[str | None] = mapped_column(String(32))
    uploaded_by_client_id: Mapped[str | None] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    agreement: Mapped[Agreement] = relationship(back_populates="documents")
