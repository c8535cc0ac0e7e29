"""Users: staff of one organisation, with one role."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from referral_hub.clients.crypto import Encrypted
from referral_hub.db import UTCDateTime, new_id, utcnow
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from referral_hub.permissions import ROLES

__all__ = ["LOCALES", "ROLES", "SECOND_FACTOR_ROLES", "Invitation", "User"]
#: Roles that must sign in with a second factor (TOTP): they manage accounts or read
#: every organisation's audit trail.
SECOND_FACTOR_ROLES = ("org_admin", "auditor")
#: Portal languages: Bahasa Indonesia (the default) and English.
LOCALES = ("id", "en")


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), nullable=False)
    #: Stored lower-case; unique across the hub.
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    #: argon2id hash.
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    active: Mapped[bool] = mapped_column(default=True, nullable=False)
    locale: Mapped[str | None] = mapped_column(String(8))
    #: A work phone: shown, with the name, to partner organisations that share an agreement
    #: with the user's (referrals.operations.contacts); a staff contact, never a client's.
    work_phone: Mapped[str | None] = mapped_column(String(32))
    failed_logins: Mapped[int] = mapped_column(default=0, nullable=False)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    #: The TOTP secret (base32), encrypted under the data key ring so rotation covers it.
    totp_secret_enc: Mapped[str | None] = mapped_column(Text)
    totp_enrolled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The last time step a code was accepted for: the same code is never taken twice.
    totp_last_step: Mapped[int | None] = mapped_column()
    #: SHA-256 hashes of the unused single-use recovery codes.
    totp_recovery_hashes: Mapped[list[str] | None] = mapped_column(JSON)
    #: Sessions carry the value they started under; raising it (signing out) ends every
    #: session of the user, also copies of a session cookie.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0", nullable=False)

    totp_secret = Encrypted("totp_secret_enc")

    organization: Mapped[Organization] = relationship(lazy="joined")

    @property
    def needs_second_factor(self) -> bool:
        """Whether signing in takes a TOTP code after the password."""
        return self.role in SECOND_FACTOR_ROLES

    def get_user_id(self) -> str:
        """Authlib's hook: the id that tokens issued for this user carry."""
        return self.id


class Invitation(db.Model):
    """An invitation to join an organisation with a role, by a single-use e-mailed link.

    Only the SHA-256 of the link's token is kept: a copy of the database opens no account.
    Its state is read from the moments: accepted, revoked, expired, else open.
    """

    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), nullable=False, index=True
    )
    #: Stored lower-case.
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    invited_by_organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    invited_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    accepted_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship(lazy="joined", foreign_keys=[organization_id])

    def status_at(self, now: dt.datetime) -> str:
        """accepted | revoked | expired | open"""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "open"
