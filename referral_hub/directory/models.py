"""The partner directory: organisations and the services they offer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from referral_hub.db import UTCDateTime, new_id
from referral_hub.extensions import db

PARTNER_TYPES = (
    "police",
    "prosecutor",
    "district_court",
    "religious_court",
    "social_service",
    "lpsk",
    "health",
    "legal_aid",
    "religious_affairs",
    "uptd_ppa",
    "community",
    "government_office",
    "university",
    "hub_operator",
)
CAPACITY_STATUSES = ("available", "limited", "unavailable")


class Service(db.Model):
    __tablename__ = "services"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_id: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The SIMFONI-PPA service group this code maps to, where one fits.
    simfoni_group: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    #: Kemendagri region code ("64.09"); None for national bodies.
    region_code: Mapped[str | None] = mapped_column(String(16), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    notes: Mapped[str | None] = mapped_column(String(1000))
    #: A UPTD PPA's own retention of closed clients' records, in years after the last open
    #: work ended; None: HUB_CLIENT_RETENTION_YEARS (docs/data-retention.md).
    client_retention_years: Mapped[int | None] = mapped_column(Integer)
    #: Work contacts (focal points): [{"name", "title", "phone", "email"}]; staff, never clients.
    contacts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: The organisation whose admin added this one in the hub (None: from the partners file).
    added_by_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    #: When the entry was last added or changed in the hub (portal or API). From then on the
    #: hub keeps it: `load-partners` no longer changes it (directory.operations.load_partners).
    maintained_in_hub_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    parent: Mapped[Organization | None] = relationship(
        remote_side=[id], lazy="joined", foreign_keys=[parent_id]
    )
    #: Loaded when read, not with every organisation: the token check, referral lists and
    #: coverage load organisations by the dozen and never show their services. Lists that
    #: do show them load them with selectinload (directory API, partners loading, matrix).
    services: Mapped[list[OrganizationService]] = relationship(
        back_populates="organization",
        cascade="all, delete-orphan",
        order_by="OrganizationService.service_code",
        lazy="select",
    )

    #: Set by the directory's readers, not stored: whether anyone answers for it on the hub
    #: (directory.operations.on_hub_ids), and the focal points the reader may see.
    on_hub = None
    visible_contacts = None

    def offers(self, service_code: str) -> bool:
        return any(s.service_code == service_code for s in self.services)


class OrganizationService(db.Model):
    __tablename__ = "organization_services"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"), primary_key=True)
    capacity_status: Mapped[str] = mapped_column(String(16), default="available", nullable=False)

    organization: Mapped[Organization] = relationship(back_populates="services")
    service: Mapped[Service] = relationship(lazy="joined")
    # (organization_id, service_code) is the primary key, hence unique: a separate unique
    # constraint on it would exist on SQLite but be folded into the key by PostgreSQL.
