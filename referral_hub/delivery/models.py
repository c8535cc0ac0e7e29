"""Outbox events, webhook subscriptions and deliveries, and e-mail notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from referral_hub.clients.crypto import Encrypted
from referral_hub.db import UTCDateTime, new_id, utcnow
from referral_hub.extensions import db

BIGINT = BigInteger().with_variant(Integer, "sqlite")

DELIVERY_STATUSES = ("pending", "retrying", "delivered", "dead", "cancelled")
NOTIFICATION_STATUSES = ("pending", "retrying", "sent", "dead")


class Event(db.Model):
    """Something that happened, written in the transaction of the change it reports."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    #: Feed position, assigned at commit under a lock, so commit order = feed order
    #: (an event that commits late still gets a position after everything already visible).
    seq: Mapped[int | None] = mapped_column(BIGINT, unique=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    #: When the transaction that wrote it committed (set just before the commit).
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    subject_type: Mapped[str] = mapped_column(String(32), nullable=False)
    subject_id: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_organization_id: Mapped[str | None] = mapped_column(String(32))
    #: Ids, numbers, statuses and links only: never personal data (checked by emit()).
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    #: Set when the deliveries of this event were created; NULL rows are swept.
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    audiences: Mapped[list[EventAudience]] = relationship(
        back_populates="event", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        Index(
            "ix_events_undispatched",
            "recorded_at",
            postgresql_where=text("dispatched_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL"),
        ),
    )

    @property
    def organization_ids(self) -> list[str]:
        return [a.organization_id for a in self.audiences]


class EventAudience(db.Model):
    """An organisation that may see an event; the feed reads by (organisation, position)."""

    __tablename__ = "event_audiences"

    event_id: Mapped[str] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    #: Copy of the event's position so the feed is one index range scan.
    event_seq: Mapped[int | None] = mapped_column(BIGINT)

    event: Mapped[Event] = relationship(back_populates="audiences")

    __table_args__ = (Index("ix_event_audiences_feed", "organization_id", "event_seq"),)


class Webhook(db.Model):
    """An organisation's subscription: where to POST which event types."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), nullable=False, index=True
    )
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    #: Event types; empty means every type.
    events: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: The signing secret, AES-GCM encrypted under the data key ring (see signing.py).
    secret_ciphertext: Mapped[str] = mapped_column(String(300), nullable=False)

    #: Read through signing.decrypt_secret; declared here so `flask hub rotate-keys`
    #: re-encrypts webhook secrets with every other encrypted value.
    _secret = Encrypted("secret_ciphertext")
    #: After a rotation, the secret it replaced, kept (encrypted the same way) so deliveries
    #: carry a signature under it too until `previous_secret_expires_at`; then destroyed.
    previous_secret_ciphertext: Mapped[str | None] = mapped_column(String(300))
    _previous_secret = Encrypted("previous_secret_ciphertext")
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    secret_rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    #: Who created it: a user id, an OAuth client id or a system label.
    created_by: Mapped[str | None] = mapped_column(String(64))
    #: Deleted subscriptions keep their delivery history but receive nothing.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class WebhookDelivery(db.Model):
    """One event to one subscription: its state survives workers, so retries do too."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    webhook_id: Mapped[str] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event_id: Mapped[str] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    #: pending | retrying | delivered | dead | cancelled
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    #: Attempts ever made, and those since the last (re)delivery request (drive the backoff).
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cycle_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cycle_started_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow
    )
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: An attempt in flight holds a lease; a lease that runs out means its worker died.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    webhook: Mapped[Webhook] = relationship(lazy="joined")
    event: Mapped[Event] = relationship(lazy="joined")
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery",
        order_by="DeliveryAttempt.number",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    @property
    def message_id(self) -> str:
        """The `webhook-id`: the same for every retry and redelivery of this event here."""
        return f"msg_{self.id}"


class DeliveryAttempt(db.Model):
    """One HTTP attempt of a delivery: what the receiver answered, or what went wrong."""

    __tablename__ = "webhook_delivery_attempts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False, index=True
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    #: delivered | failed
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    #: When the next attempt was scheduled after this one (NULL: none, delivered or dead).
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")


class Notification(db.Model):
    """An e-mail to an organisation's users, written with the change and sent by a job."""

    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    #: Template name: referral_received | referral_answered | referral_overdue
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id"), nullable=False, index=True
    )
    #: The roles of the organisation's users who receive it.
    roles: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    #: Template values: referral number, status, link; no personal data.
    context: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: pending | retrying | sent | dead
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: User ids already sent to, so a retry after a partial failure sends no duplicates.
    sent_to: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)
