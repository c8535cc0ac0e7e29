"""Writing and verifying the audit chain.

`record()` only queues an entry on the session; just before the transaction commits the
queued entries are numbered and chained under a lock, so the lock is held for the
shortest time and an entry exists exactly when the change it records does.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, event, or_, select, text
from sqlalchemy.orm import Session, SessionTransaction

from referral_hub.actors import Actor
from referral_hub.audit.chain import entry_hash
from referral_hub.audit.models import GENESIS_HASH, AuditEntry
from referral_hub.db import isoformat, utcnow
from referral_hub.extensions import db
from referral_hub.problems import Problem

_PENDING_KEY = "audit_pending"
_MARKS_KEY = "audit_savepoint_marks"
#: pg_advisory_xact_lock key that serialises appends to the chain ("AUDT").
_CHAIN_LOCK_KEY = 0x41554454


def record(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | None,
    detail: dict[str, Any] | None = None,
    *,
    subject_organization_id: str | None = None,
    session: Session | None = None,
) -> None:
    """Queue an audit entry; it is chained and written when the current transaction commits."""
    session = session or db.session()
    if not session.in_transaction():
        session.begin()  # the entry lives and dies with this transaction, however it ends
    clean = json.loads(json.dumps(detail or {}, default=str))
    session.info.setdefault(_PENDING_KEY, []).append(
        {
            "at": utcnow(),
            "actor_kind": actor.kind,
            "actor_user_id": actor.user_id,
            "actor_client_id": actor.client_id,
            "actor_label": actor.label,
            "organization_id": actor.organization_id,
            "subject_organization_id": (
                subject_organization_id
                if subject_organization_id != actor.organization_id
                else None
            ),
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "detail": clean,
        }
    )


def hashed_fields(entry: AuditEntry | dict[str, Any]) -> dict[str, Any]:
    """The fields an entry's hash covers, in the form they are hashed."""
    get = entry.get if isinstance(entry, dict) else lambda name: getattr(entry, name)
    return {
        "seq": get("seq"),
        "at": isoformat(get("at")),
        "actor_kind": get("actor_kind"),
        "actor_user_id": get("actor_user_id"),
        "actor_client_id": get("actor_client_id"),
        "actor_label": get("actor_label"),
        "organization_id": get("organization_id"),
        "subject_organization_id": get("subject_organization_id"),
        "action": get("action"),
        "object_type": get("object_type"),
        "object_id": get("object_id"),
        "detail": get("detail"),
    }


def _lock_chain(session: Session) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
    elif dialect == "sqlite":
        # SQLite has one writer at a time, but a transaction that has only read so far
        # does not hold the write lock yet: another thread could append between our read
        # of the head and our insert, and the commit would fail on the unique seq. A write
        # that matches no row takes the lock (waiting on busy_timeout) before the read.
        session.execute(text("UPDATE audit_entries SET seq = seq WHERE 1 = 0"))


def _append_pending(session: Session) -> None:
    if not session.info.get(_PENDING_KEY):
        return
    # Write the transaction's own rows first: the chain lock, held to the commit, then
    # covers only reading the head and inserting the entries (and what the before_commit
    # hooks after this one do). The lock's session.execute autoflushes before it is sent,
    # but only while autoflush is on; off (no_autoflush), the flush of the entries below
    # would write every pending object of the transaction while holding the lock.
    session.flush()
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    _lock_chain(session)
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    for fields in pending:
        seq += 1
        fields = {**fields, "seq": seq}
        digest = entry_hash(prev, hashed_fields(fields))
        session.add(AuditEntry(**fields, prev_hash=prev, hash=digest))
        prev = digest
    session.flush()


@event.listens_for(Session, "before_commit")
def _chain_before_commit(session: Session) -> None:
    _append_pending(session)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    # Remember how many entries were queued when a savepoint began, so that rolling the
    # savepoint back drops its own entries and keeps those of the enclosing transaction.
    if transaction.nested:
        marks = session.info.setdefault(_MARKS_KEY, {})
        marks[transaction] = len(session.info.get(_PENDING_KEY, ()))


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending_on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    mark = session.info.get(_MARKS_KEY, {}).pop(previous_transaction, None)
    pending = session.info.get(_PENDING_KEY)
    if previous_transaction.nested and mark is not None:
        if pending:
            del pending[mark:]
    else:
        # The outer transaction (or a failed flush, which dooms it) was rolled back.
        session.info.pop(_PENDING_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        # The outermost transaction ended without writing them (closed, rolled back):
        # its entries must never leak into the session's next transaction.
        session.info.pop(_PENDING_KEY, None)
        session.info.pop(_MARKS_KEY, None)


@dataclass
class Verification:
    """Outcome of walking the chain."""

    ok: bool
    entries: int
    head: str
    first_bad_seq: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "entries": self.entries, "head": self.head}
        if not self.ok:
            out["first_bad_seq"] = self.first_bad_seq
            out["reason"] = self.reason
        return out


_VERIFY_COLUMNS = (
    AuditEntry.seq,
    AuditEntry.at,
    AuditEntry.actor_kind,
    AuditEntry.actor_user_id,
    AuditEntry.actor_client_id,
    AuditEntry.actor_label,
    AuditEntry.organization_id,
    AuditEntry.subject_organization_id,
    AuditEntry.action,
    AuditEntry.object_type,
    AuditEntry.object_id,
    AuditEntry.detail,
    AuditEntry.prev_hash,
    AuditEntry.hash,
)


def verify_chain(session: Session | None = None, batch: int = 5000) -> Verification:
    """Walk the whole chain in order; report the first entry that is missing or altered."""
    session = session or db.session()
    query = select(*_VERIFY_COLUMNS).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    # yield_per streams through a server-side cursor on PostgreSQL: close it on every
    # return, also the early ones at a bad entry, or it stays open in the transaction.
    with session.execute(query) as result:
        return _walk(result)


def _walk(rows: Any) -> Verification:
    expected_seq, prev, count = 1, GENESIS_HASH, 0
    for row in rows:
        fields = row._asdict()
        seq = fields["seq"]
        if seq != expected_seq:
            return Verification(
                False, count, prev, expected_seq, f"entry {expected_seq} is missing"
            )
        if fields["prev_hash"] != prev:
            return Verification(
                False, count, prev, seq, f"entry {seq} does not follow entry {seq - 1}"
            )
        if entry_hash(prev, hashed_fields(fields)) != fields["hash"]:
            return Verification(False, count, prev, seq, f"entry {seq} was altered")
        prev = fields["hash"]
        expected_seq += 1
        count += 1
    return Verification(True, count, prev)


def entries_visible_to(actor: Actor):
    """The audit entries an actor may read: its organisation's, or all for the hub operator."""
    query = select(AuditEntry)
    if actor.is_hub_operator or actor.is_system:
        return query
    return query.where(
        (AuditEntry.organization_id == actor.organization_id)
        | (AuditEntry.subject_organization_id == actor.organization_id)
    )


#: Portal roles that may read the audit log (OAuth clients need the audit:read scope).
AUDIT_READER_ROLES = ("auditor", "org_admin")


def search_entries(
    actor: Actor,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    actor_ref: str | None = None,
    since: dt.datetime | None = None,
) -> Select:
    """The entries an actor may read matching the filters, newest first (a select to page)."""
    # A person, or an app acting for one, reads no more than the person's role allows.
    if actor.user_id is not None and actor.role not in AUDIT_READER_ROLES:
        raise Problem(403, "forbidden", "Only auditors and administrators read the audit log.")
    query = entries_visible_to(actor).order_by(AuditEntry.seq.desc())
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor_ref:
        query = query.where(
            or_(
                AuditEntry.actor_user_id == actor_ref,
                AuditEntry.actor_client_id == actor_ref,
                AuditEntry.organization_id == actor_ref,
            )
        )
    if since is not None:
        query = query.where(since_filter(since))
    return query


def visible_object_types(actor: Actor) -> list[str]:
    """The object types among the entries the actor may read (for a filter's choices)."""
    visible = search_entries(actor).order_by(None).subquery()
    return list(
        db.session.scalars(select(visible.c.object_type).distinct().order_by(visible.c.object_type))
    )


def since_filter(value: dt.datetime):
    """Entries at or after a moment."""
    return AuditEntry.at >= value
