"""The Idempotency-Key store: one row per (caller, key), kept 24 hours."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from referral_hub.clients.crypto import Encrypted
from referral_hub.db import UTCDateTime, new_id, utcnow
from referral_hub.extensions import db

#: in_flight: claimed, its handler running (or its process dead: see lease_expires_at);
#: committed: the handler's transaction committed, its response not stored (yet, or lost);
#: completed: the response is stored and replayed.
STATES = ("in_flight", "committed", "completed")


class IdempotencyKey(db.Model):
    """A POST's Idempotency-Key, claimed before its handler runs, then its response.

    Written in transactions of its own, never in the handler's, except the switch to
    `committed`, which commits or rolls back with the handler's change.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    #: Whose key space: "client:<client_id>", "client:<client_id>/user:<user_id>" (a token
    #: acting for a user) or "user:<user_id>" (a portal user). Another caller's key is another.
    caller: Mapped[str] = mapped_column(String(120), nullable=False)
    #: The header's value (1 to 255 printable ASCII characters).
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    path: Mapped[str] = mapped_column(String(2000), nullable=False)
    #: SHA-256 (hex) of method, path, query and the canonical body: a reuse of the key for
    #: another request differs here.
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    #: Random per claim: only the request holding the claim settles or releases it, so a
    #: request whose claim was taken over after its lease cannot overwrite its successor.
    claim_token: Mapped[str] = mapped_column(String(32), nullable=False)
    #: Until then the claim's holder is taken to be alive; after it a claim still in flight
    #: (its process died) may be taken over. None: nobody works on it any more.
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer)
    #: The response headers a replay repeats: Location, Content-Type, ETag.
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The response body (it may hold personal data), encrypted under the data key ring.
    response_body_ciphertext: Mapped[str | None] = mapped_column(Text)
    response_body = Encrypted("response_body_ciphertext")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    #: After this the key is forgotten: a new request may use it, and the purge deletes it.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
