"""Clients of a UPTD PPA, their consents, and the log of who saw their personal data.

Personal data (name, NIK, exact birth date, phone, address, guardian, a consent giver's
name, a withdrawal's reason, a child's reason for refusing assent) is kept only as
ciphertext in the ``*_enc`` columns, read and written through `Encrypted` attributes. In
clear stays only what is not identifying on its own and is needed to query or to share as
demographics: sex, disability, domicile region (down to the district, never the village),
and the pseudonymous client code.

The birth year is deliberately not kept in clear: with sex, disability and a district it
narrows a small town's victims to a handful of children. Age band and `is_child` are derived
from the decrypted birth date when read.
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
    and_,
    exists,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import ColumnElement

from referral_hub.clients.crypto import ClientKey, Encrypted, nik_blind_index, reencrypt
from referral_hub.clients.name_index import padded_rows
from referral_hub.clock import local_date
from referral_hub.db import UTCDateTime, new_id, utcnow
from referral_hub.directory.models import Organization
from referral_hub.extensions import db

#: Indonesia's civil registry and SIMFONI-PPA record two sexes (laki-laki, perempuan).
SEXES = ("female", "male")
#: Kinds of disability of UU 8/2016 Pasal 4 (fisik, intelektual, mental, sensorik).
DISABILITIES = ("physical", "intellectual", "mental", "sensory")
CONSENT_GIVERS = ("client", "parent", "guardian")
CONSENT_METHODS = ("written", "recorded", "electronic")
DISCLOSURE_KINDS = ("read", "share")
#: A person is a child until 18 (UU 35/2014 Pasal 1).
CHILD_AGE = 18
#: From this age a child's refusal of assent blocks sharing on a consent (a legal-basis
#: override remains). The hub's choice, after IRC/UNICEF "Caring for Child Survivors", which
#: gives an adolescent's own wishes more weight with age (DOMAIN.md, "Consent givers").
ASSENT_AGE = 12
#: SIMFONI-PPA age bands: (label, lowest age, highest age or None).
AGE_BANDS = (
    ("0-5", 0, 5),
    ("6-12", 6, 12),
    ("13-17", 13, 17),
    ("18-24", 18, 24),
    ("25-44", 25, 44),
    ("45-59", 45, 59),
    ("60+", 60, None),
)
CHILD_AGE_BANDS = ("0-5", "6-12", "13-17")
#: Why a client was erased (a code, never free text: the audit log keeps it).
ERASURE_REASONS = (
    "data_subject_request",
    "retention_period_ended",
    "consent_withdrawn",
    "unlawful_processing",
    "duplicate_record",
)
#: The client's fields a rectification may correct (UU PDP Pasal 6).
RECTIFIABLE_FIELDS = ("full_name", "nik", "birth_date", "phone", "address", "guardian")


def local_today(at: dt.datetime | None = None) -> dt.date:
    """The calendar date in the hub's time zone (HUB_TIMEZONE) at `at` (default now): one
    clock for every unit, so "is a child" never depends on the server."""
    return local_date(at or utcnow())


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Completed years of age on `day` (born on 29 February: a year older on 1 March)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_band(age: int) -> str:
    """The SIMFONI age band of an age in years."""
    for label, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    raise ValueError(f"no age band for {age}")


class Client(db.Model):
    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: The UPTD PPA that registered the client and owns the record.
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), nullable=False, index=True
    )
    #: Pseudonymous, readable, unique: KL-<unit>-<year>-<number>.
    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    full_name_enc: Mapped[str] = mapped_column(Text, nullable=False)
    nik_enc: Mapped[str | None] = mapped_column(Text)
    #: HMAC of the NIK under a key derived from data key `nik_index_kid` (see crypto).
    nik_index: Mapped[str | None] = mapped_column(String(64))
    nik_index_kid: Mapped[str | None] = mapped_column(String(32))
    birth_date_enc: Mapped[str] = mapped_column(Text, nullable=False)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    address_enc: Mapped[str | None] = mapped_column(Text)
    #: JSON {name, relationship, phone, is_alleged_perpetrator}, encrypted.
    guardian_enc: Mapped[str | None] = mapped_column(Text)
    sex: Mapped[str] = mapped_column(String(8), nullable=False)
    #: Codes of DISABILITIES; empty when none.
    disability: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: Kemendagri code of the regency or district of domicile ("64.09", "64.09.01").
    domicile_region: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The case's reference in SIMFONI-PPA, when the unit has one.
    simfoni_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_by_user_id: Mapped[str | None] = mapped_column(String(32))
    created_by_client_id: Mapped[str | None] = mapped_column(String(64))
    #: Erasure (UU PDP Pasal 8, 16): the client's data key was destroyed at this moment, so
    #: every personal value reads as ERASED; the code, demographics in clear and the age band
    #: at erasure stay for the numbers.
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    erased_by_user_id: Mapped[str | None] = mapped_column(String(32))
    #: One of ERASURE_REASONS (a code: free text could name the person).
    erasure_reason: Mapped[str | None] = mapped_column(String(32))
    erased_age_band: Mapped[str | None] = mapped_column(String(8))

    organization: Mapped[Organization] = relationship(lazy="joined")
    #: The keyed index of the name's terms (name_index.py); rebuilt with the name.
    name_terms: Mapped[list[ClientNameTerm]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="select"
    )
    #: The client's wrapped data key: lists of many clients load it with them (joinedload),
    #: so that decrypting a page's values needs no query per client (crypto finds it loaded).
    key_row: Mapped[ClientKey | None] = relationship(ClientKey, lazy="raise", viewonly=True)

    full_name = Encrypted("full_name_enc", client="id")
    birth_date = Encrypted("birth_date_enc", "date", client="id")
    phone = Encrypted("phone_enc", client="id")
    address = Encrypted("address_enc", client="id")
    guardian = Encrypted("guardian_enc", "json", client="id")
    _nik = Encrypted("nik_enc", client="id")

    __table_args__ = (
        # One registration per person and unit; concurrent duplicates fail here.
        UniqueConstraint("organization_id", "nik_index"),
    )

    def __init__(self, **kwargs: Any) -> None:
        # The id comes first: every encrypted value is bound to it.
        self.id = kwargs.pop("id", None) or new_id()
        super().__init__(**kwargs)

    @property
    def nik(self) -> str | None:
        return self._nik

    @nik.setter
    def nik(self, value: str | None) -> None:
        """Store the NIK encrypted and its blind index under the current key."""
        if not self.organization_id:
            raise ValueError("set organization_id before the NIK: the index is per organisation")
        self._nik = value
        if value is None:
            self.nik_index = self.nik_index_kid = None
        else:
            self.nik_index_kid, self.nik_index = nik_blind_index(value, self.organization_id)

    @classmethod
    def stale_index_clause(cls, kid: str) -> ColumnElement[bool]:
        """Rows whose NIK index or name index is under a key other than `kid`."""
        stale_terms = exists(
            select(ClientNameTerm.id).where(
                ClientNameTerm.client_id == cls.id, ClientNameTerm.kid != kid
            )
        )
        return or_(and_(cls.nik_index.is_not(None), cls.nik_index_kid != kid), stale_terms)

    def index_name(self, kid: str | None = None) -> None:
        """(Re)build the name's index under `kid` (default the current key)."""
        self.name_terms = [
            ClientNameTerm(kind=kind, kid=k, term=value)
            for kind, k, value in padded_rows(self.full_name, self.organization_id, kid)
        ]

    def rotate_keys(self, kid: str) -> tuple[int, int]:
        """Re-encrypt values and recompute the indexes under `kid`: (values, indexes) changed."""
        values = reencrypt(self, kid)
        indexes = 0
        if self.nik_index is not None and self.nik_index_kid != kid:
            self.nik_index_kid, self.nik_index = nik_blind_index(
                self._nik, self.organization_id, kid
            )
            indexes = 1
        if any(term.kid != kid for term in self.name_terms):
            self.index_name(kid)
            indexes += 1
        return values, indexes

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    def age(self, day: dt.date | None = None) -> int | None:
        """Completed years on `day`; None once erased (the birth date is gone)."""
        if self.is_erased:
            return None
        return age_on(self.birth_date, day or local_today())

    def age_band(self, day: dt.date | None = None) -> str:
        if self.is_erased:
            return self.erased_age_band or "unknown"
        return age_band(self.age(day))

    def is_child(self, day: dt.date | None = None) -> bool:
        if self.is_erased:
            return self.erased_age_band in CHILD_AGE_BANDS
        return self.age(day) < CHILD_AGE


class ClientNameTerm(db.Model):
    """One keyed HMAC of a term of a client's name (name_index.py), or a random pad value."""

    __tablename__ = "client_name_terms"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    #: "token", "sound" or "prefix" (name_index.KINDS).
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    #: HMAC-SHA256 hex under a key derived from data key `kid`.
    term: Mapped[str] = mapped_column(String(64), nullable=False)
    kid: Mapped[str] = mapped_column(String(32), nullable=False)

    __table_args__ = (Index("ix_client_name_terms_term", "term", "kind"),)


class CodeCounter(db.Model):
    """The last number handed out per (prefix, organisation, year): KL-PPU-2026-000042."""

    __tablename__ = "code_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer, nullable=False)


class Consent(db.Model):
    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), nullable=False, index=True)
    #: The client's organisation (the one that recorded the consent).
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False)
    given_by: Mapped[str] = mapped_column(String(16), nullable=False)
    giver_name_enc: Mapped[str | None] = mapped_column(Text)
    giver_relationship: Mapped[str | None] = mapped_column(String(64))
    giver_is_alleged_perpetrator: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False
    )
    #: Whether the client was a child when consent was given (then child_assent is recorded).
    client_was_child: Mapped[bool] = mapped_column(Boolean, nullable=False)
    child_assent: Mapped[bool | None] = mapped_column(Boolean)
    #: Why the child did not agree, in the words recorded (only when child_assent is false).
    child_assent_refusal_reason_enc: Mapped[str | None] = mapped_column(Text)
    #: The supervisor who cleared a giver resembling the guardian flagged as the alleged
    #: perpetrator (a close spelling of the name, or the same relationship).
    giver_cleared_by_user_id: Mapped[str | None] = mapped_column(String(32))
    services: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    #: Category codes, always including "demographics".
    data_categories: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    #: SHA-256 (hex) of the signed form, recording or electronic record.
    evidence_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: Last day (local time) on which the consent holds.
    valid_until: Mapped[dt.date] = mapped_column(Date, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    recorded_by_user_id: Mapped[str | None] = mapped_column(String(32))
    recorded_by_client_id: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason_enc: Mapped[str | None] = mapped_column(Text)
    withdrawn_by_user_id: Mapped[str | None] = mapped_column(String(32))
    withdrawn_by_client_id: Mapped[str | None] = mapped_column(String(64))

    client: Mapped[Client] = relationship(lazy="joined")
    #: The organisations the client's data may go to.
    recipients: Mapped[list[Organization]] = relationship(
        secondary="consent_recipients", lazy="selectin", order_by=Organization.code
    )

    giver_name = Encrypted("giver_name_enc", client="client_id")
    #: Free text a caseworker writes often names people: kept encrypted, out of the audit log.
    withdrawal_reason = Encrypted("withdrawal_reason_enc", client="client_id")
    child_assent_refusal_reason = Encrypted("child_assent_refusal_reason_enc", client="client_id")

    def __init__(self, **kwargs: Any) -> None:
        self.id = kwargs.pop("id", None) or new_id()
        super().__init__(**kwargs)

    @property
    def recipient_ids(self) -> set[str]:
        return {org.id for org in self.recipients}

    def status(self, at: dt.datetime | None = None) -> str:
        """active, expired or withdrawn, at a moment (default now)."""
        if self.withdrawn_at is not None and self.withdrawn_at <= (at or utcnow()):
            return "withdrawn"
        if local_today(at) > self.valid_until:
            return "expired"
        return "active"


class ConsentRecipient(db.Model):
    """An organisation a consent lets the client's data go to."""

    __tablename__ = "consent_recipients"

    consent_id: Mapped[str] = mapped_column(
        ForeignKey("consents.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), primary_key=True, index=True
    )


class Disclosure(db.Model):
    """One read or share of a client's personal data (UU PDP Pasal 32: history of processing)."""

    __tablename__ = "disclosures"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), nullable=False)
    #: The client's organisation, which may list the disclosures.
    owner_organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), nullable=False
    )
    #: The organisation whose people or system saw the data (None: the hub itself).
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(32))
    oauth_client_id: Mapped[str | None] = mapped_column(String(64))
    actor_label: Mapped[str | None] = mapped_column(String(200))
    #: "read": someone saw decrypted data; "share": data was made available to another party.
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    categories: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    #: "owner", "consent:<id>", "legal_obligation", "vital_interest".
    basis: Mapped[str] = mapped_column(String(64), nullable=False)
    #: What the data was seen for, e.g. "referral:<id> read" or "GET /api/v1/clients/<id>".
    context: Mapped[str] = mapped_column(String(200), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    organization: Mapped[Organization | None] = relationship(
        foreign_keys=[organization_id], lazy="joined"
    )

    __table_args__ = (Index("ix_disclosures_client_at", "client_id", "at"),)


class Rectification(db.Model):
    """A correction of a client's record (UU PDP Pasal 6): which fields, by whom, when, and the
    values before and after, kept under the client's key (erased with the client)."""

    __tablename__ = "rectifications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), nullable=False, index=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False)
    #: The names of the fields corrected (never their values).
    fields: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    before_enc: Mapped[str] = mapped_column(Text, nullable=False)
    after_enc: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(32))
    oauth_client_id: Mapped[str | None] = mapped_column(String(64))

    before = Encrypted("before_enc", "json", client="client_id")
    after = Encrypted("after_enc", "json", client="client_id")

    def __init__(self, **kwargs: Any) -> None:
        self.id = kwargs.pop("id", None) or new_id()
        super().__init__(**kwargs)
