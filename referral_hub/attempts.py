"""Counters of failed attempts, kept in the database: sign-in holds, rate-safe audit of failures.

Several app processes on several machines must agree on a count, and a count must survive a
restart: an attacker spreading guesses over the workers, or waiting for a deploy, gains
nothing. The database is what every process already shares and what the embedded mode has
too (Flask-Limiter's storage is memory there, and falls back to memory when Redis is away).

A counter is one row, found by a digest of what it counts (its `kind` and parts, such as an
e-mail address and a source address), so the table holds neither. `lock_counters` takes the
rows for update: attempts racing on the same counter are counted one after the other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import Index, String, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from referral_hub.db import UTCDateTime, utcnow
from referral_hub.extensions import db

#: A counter untouched this long is forgotten (and purged); also the longest window.
QUIET_RESET = dt.timedelta(hours=1)


class AttemptCounter(db.Model):
    __tablename__ = "attempt_counters"

    #: SHA-256 of the kind and the parts counted (see `counter_key`).
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: What is counted: signin_address, signin_source, client_auth, client_auth_source.
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    #: SHA-256 of the e-mail address a sign-in counter is about (to lift its holds).
    subject: Mapped[str | None] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(default=0, nullable=False)
    #: Attempts not acted on in full: sign-ins refused while held (the first of each hold is
    #: audited), or failed client authentications left out of the audit log in a window.
    refused: Mapped[int] = mapped_column(default=0, nullable=False)
    #: The first attempt of the current count (a window starts here).
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    last_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    held_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_attempt_counters_subject", "subject"),
        Index("ix_attempt_counters_last_at", "last_at"),
    )

    def held(self, now: dt.datetime) -> bool:
        """Whether attempts are refused now."""
        return self.held_until is not None and self.held_until > now

    def restart(self, now: dt.datetime) -> None:
        """Forget the count: a new window starts with the next attempt."""
        self.count = 0
        self.refused = 0
        self.started_at = now
        self.held_until = None


def digest(*parts: str) -> str:
    """SHA-256 of parts joined unambiguously."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class CounterRef:
    """Which counter: its kind, the parts it counts, and (sign-in) the e-mail it is about."""

    kind: str
    parts: tuple[str, ...]
    subject: str | None = None

    @property
    def key(self) -> str:
        return digest(self.kind, *self.parts)


def lock_counters(refs: list[CounterRef], now: dt.datetime | None = None) -> list[AttemptCounter]:
    """The counters of `refs` (created at zero if new), locked until the transaction ends.

    Rows are taken in key order, so two transactions locking the same counters never wait on
    each other in a cycle. On SQLite the insert takes the database's write lock, which
    serialises the same way.
    """
    now = now or utcnow()
    ordered = sorted(refs, key=lambda ref: ref.key)
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(AttemptCounter)
        .values(
            [
                {
                    "key": ref.key,
                    "kind": ref.kind,
                    "subject": ref.subject,
                    "count": 0,
                    "refused": 0,
                    "started_at": now,
                    "last_at": now,
                }
                for ref in ordered
            ]
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    rows = {
        row.key: row
        for row in db.session.scalars(
            select(AttemptCounter)
            .where(AttemptCounter.key.in_([ref.key for ref in ordered]))
            .order_by(AttemptCounter.key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    return [rows[ref.key] for ref in refs]


def purge_attempt_counters(now: dt.datetime | None = None) -> int:
    """Delete the counters untouched for QUIET_RESET and not holding anything. The caller
    commits; returns how many were deleted."""
    now = now or utcnow()
    return db.session.execute(
        delete(AttemptCounter)
        .where(
            AttemptCounter.last_at < now - QUIET_RESET,
            or_(AttemptCounter.held_until.is_(None), AttemptCounter.held_until <= now),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
