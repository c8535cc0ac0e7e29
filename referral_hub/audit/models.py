"""Audit entries: each one's hash covers the previous hash and its own canonical content."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from referral_hub.db import UTCDateTime
from referral_hub.extensions import db

GENESIS_HASH = "0" * 64


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    #: Position in the chain, 1, 2, 3 ... without gaps; unique so the chain cannot fork.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_user_id: Mapped[str | None] = mapped_column(String(32), index=True)
    actor_client_id: Mapped[str | None] = mapped_column(String(64))
    actor_label: Mapped[str | None] = mapped_column(String(200))
    #: The acting organisation.
    organization_id: Mapped[str | None] = mapped_column(String(32), index=True)
    #: Another organisation the entry concerns (a referral's recipient, a co-party); it sees it too.
    subject_organization_id: Mapped[str | None] = mapped_column(String(32), index=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    object_type: Mapped[str] = mapped_column(String(32), nullable=False)
    object_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)

    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),)


class AuditCheckpoint(db.Model):
    """The chain's length and head, signed by the hub (Ed25519): see audit/checkpoints.py.

    Append-only (a trigger on PostgreSQL) and chained: each names the digest of the one
    before it, so that one removed or altered in the middle breaks the link to the next.
    """

    __tablename__ = "audit_checkpoints"

    #: 1, 2, 3 ... without gaps, in the order they were signed.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    #: How many entries the chain had: the signed head is the hash of entry `entries`.
    entries: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), nullable=False
    )
    head: Mapped[str] = mapped_column(String(64), nullable=False)
    #: When it was signed, to the second (the signed text holds it as RFC 3339 UTC).
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    key_id: Mapped[str] = mapped_column(String(32), nullable=False)
    #: The digest of the checkpoint before it; none for the first. Unique: no fork.
    previous: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Base64 of the 64-byte Ed25519 signature of the signed text.
    signature: Mapped[str] = mapped_column(String(100), nullable=False)
