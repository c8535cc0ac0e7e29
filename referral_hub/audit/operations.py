"""Writing and verifying the audit chain.

`record()` only queues an entry on the session; just before the transaction commits the
queued entries are numbered and chained under a lock, so the lock is held for the
shortest time and an entry exists exactly when the change it records does.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import multiprocessing
import os
import threading
from dataclasses import dataclass
from typing import Any

import psycopg
from flask import has_request_context
from sqlalchemy import Select, event, false, func, or_, select, text, true
from sqlalchemy.orm import Session, SessionTransaction

from referral_hub.actors import Actor
from referral_hub.audit.chain import entry_digest, entry_hash
from referral_hub.audit.models import GENESIS_HASH, AuditEntry
from referral_hub.db import isoformat, utcnow
from referral_hub.extensions import db
from referral_hub.problems import Problem

log = logging.getLogger(__name__)

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
# PostgreSQL: the same columns straight from the driver, `at` as UTC wall time (its
# isoformat plus "Z" is isoformat() of the aware value) and the JSON text as stored, so
# that each entry costs one json.loads and no ORM or type processing.
_VERIFY_SQL = (
    "SELECT seq, at AT TIME ZONE 'UTC', actor_kind, actor_user_id, actor_client_id,"
    " actor_label, organization_id, subject_organization_id, action, object_type,"
    " object_id, detail::text, prev_hash, hash FROM audit_entries"
    " WHERE seq > %s AND seq <= %s ORDER BY seq"
)
#: A process of its own is worth forking for this many entries or more.
_ENTRIES_PER_PROCESS = 40_000
_MAX_PROCESSES = 4


@dataclass
class _Stretch:
    """The walk over consecutive rows, taking the first row's seq and prev_hash as given."""

    first_seq: int | None = None
    first_prev: str | None = None
    count: int = 0  # entries that checked out, before the bad one if any
    last_seq: int | None = None
    head: str | None = None  # the hash of the last entry that checked out
    bad_seq: int | None = None
    reason: str | None = None


def _walk(rows: Any, at_text: Any, detail_value: Any) -> _Stretch:
    """Check each row's seq, link and hash against the row before it.

    The first row's seq and prev_hash are taken as they are: `_join` checks them against
    the range before (or the genesis).
    """
    digest = entry_digest
    stretch = _Stretch()
    expected = prev = None
    count = 0
    # The columns between `at` and `detail` (actor, organisations, action, object) are
    # hashed as read, in the order entry_digest takes them.
    for seq, at, *who_and_what, detail, prev_hash, hash_ in rows:
        if expected is None:
            stretch.first_seq, stretch.first_prev = seq, prev_hash
            expected, prev = seq, prev_hash
        if seq != expected:
            stretch.bad_seq, stretch.reason = expected, f"entry {expected} is missing"
            break
        if prev_hash != prev:
            stretch.bad_seq, stretch.reason = seq, f"entry {seq} does not follow entry {seq - 1}"
            break
        if digest(prev, seq, at_text(at), *who_and_what, detail_value(detail)) != hash_:
            stretch.bad_seq, stretch.reason = seq, f"entry {seq} was altered"
            break
        prev = hash_
        expected += 1
        count += 1
    stretch.count, stretch.head = count, prev
    stretch.last_seq = None if expected is None else expected - 1
    return stretch


def _join(stretches: list[_Stretch], expected: int = 1, prev: str = GENESIS_HASH) -> Verification:
    """The chain's verdict from the walks of consecutive ranges, as one walk would give it.

    The walk starts at entry `expected`, which must follow the hash `prev` (by default the
    first entry, after the genesis).
    """
    count = 0
    for stretch in stretches:
        if stretch.first_seq is None:
            continue  # no row in this range
        seq = stretch.first_seq
        if seq != expected:
            return Verification(False, count, prev, expected, f"entry {expected} is missing")
        if stretch.first_prev != prev:
            return Verification(
                False, count, prev, seq, f"entry {seq} does not follow entry {seq - 1}"
            )
        if stretch.bad_seq is not None:
            return Verification(
                False, count + stretch.count, stretch.head, stretch.bad_seq, stretch.reason
            )
        expected, prev, count = stretch.last_seq + 1, stretch.head, count + stretch.count
    return Verification(True, count, prev)


def _iso_utc(wall_time: dt.datetime) -> str:
    return wall_time.isoformat() + "Z"


_scan_json = json.JSONDecoder().scan_once


def load_stored_json(text: str) -> Any:
    """json.loads(text), without its checks when the text is one JSON value and nothing else."""
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        return json.loads(text)  # leading white space, or not JSON: as json.loads says
    return value if end == len(text) else json.loads(text)


def _same(value: Any) -> Any:
    return value


def _walk_postgresql(connection: Any, low: int, high: int, batch: int) -> _Stretch:
    if psycopg.pq.version() >= 170000:
        # Rows streamed in chunks: the server sends the next while this process hashes.
        rows = connection.cursor().stream(_VERIFY_SQL, (low, high), size=batch)
        try:
            stretch = _walk(rows, _iso_utc, load_stored_json)
            # After a bad entry, read the rest: closing the stream early cancels the
            # statement, which aborts the caller's transaction.
            for _row in rows:
                pass
        finally:
            rows.close()
        return stretch
    # An older libpq: a server-side cursor, fetched in batches.
    with connection.cursor(name="audit_verify") as cursor:
        cursor.itersize = batch
        cursor.execute(_VERIFY_SQL, (low, high))
        return _walk(cursor, _iso_utc, load_stored_json)


def _walk_orm(session: Session, low: int, high: int, batch: int) -> _Stretch:
    query = (
        select(*_VERIFY_COLUMNS)
        .where(AuditEntry.seq > low, AuditEntry.seq <= high)
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=batch)
    )
    # yield_per streams through a server-side cursor where there is one: close it on every
    # return, also the early ones at a bad entry, or it stays open in the transaction.
    with session.execute(query) as result:
        return _walk(result, isoformat, _same)


def _ranges(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    """(low, high] cut into `parts` consecutive ranges of seq."""
    return list(itertools.pairwise(low + (high - low) * i // parts for i in range(parts + 1)))


def _processes_for(entries: int) -> int:
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    # A child forked from a process with other threads (a web worker) inherits locks those
    # threads may hold, in the TLS library or elsewhere, and could hang on them: walk the
    # chain in this process there, and use the cores from the command line and the bench.
    if threading.active_count() > 1:
        return 1
    # Nor from a web request, even in a single-threaded worker: gunicorn may kill it on its
    # timeout and leave the children running, holding database connections.
    if has_request_context():
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, _MAX_PROCESSES, entries // _ENTRIES_PER_PROCESS))


def _walk_in_child(engine: Any, low: int, high: int, batch: int, send: Any) -> None:
    try:
        # The parent's pooled connections are not this process's to use or close.
        engine.dispose(close=False)
        try:
            with engine.connect() as conn:
                send.send(_walk_postgresql(conn.connection.driver_connection, low, high, batch))
        finally:
            engine.dispose()
    except BaseException as error:  # the parent walks this range itself
        send.send(repr(error))
    finally:
        send.close()


def verify_chain(
    session: Session | None = None, batch: int = 5000, processes: int | None = None
) -> Verification:
    """Walk the whole chain in order; report the first entry that is missing or altered.

    The walk may be cut into ranges of seq, each checked on its own from its first row's
    stored seq and prev_hash, and the ranges joined: the first row of each must follow the
    last of the one before, as in one walk, so the verdict is the same. On PostgreSQL the
    ranges are walked by forked processes (`processes`, by default one per core for a long
    chain in a process without other threads); elsewhere one after the other.
    """
    session = session or db.session()
    low, high = session.execute(
        select(
            func.coalesce(func.min(AuditEntry.seq) - 1, 0),
            func.coalesce(func.max(AuditEntry.seq), 0),
        )
    ).one()
    postgresql = session.get_bind().dialect.name == "postgresql"
    if processes is None:
        processes = _processes_for(high - low) if postgresql else 1
    ranges = _ranges(low, high, max(1, processes))
    if not postgresql:
        return _join([_walk_orm(session, lo, hi, batch) for lo, hi in ranges])
    if len(ranges) == 1:
        connection = session.connection().connection.driver_connection
        return _join([_walk_postgresql(connection, *ranges[0], batch)])
    return _join(_walk_forked(session, ranges, batch))


def walk_from(session: Session, seq: int, hash_: str, high: int, batch: int = 5000) -> Verification:
    """Walk entries seq+1 .. high as the continuation of entry `seq`, whose hash is `hash_`.

    What the hub checks before it signs a checkpoint beyond the last one: the entries since
    then follow it, each link and hash intact. `entries` counts the entries walked.
    """
    if high <= seq:
        return Verification(True, 0, hash_)
    if session.get_bind().dialect.name == "postgresql":
        connection = session.connection().connection.driver_connection
        stretch = _walk_postgresql(connection, seq, high, batch)
    else:
        stretch = _walk_orm(session, seq, high, batch)
    if stretch.first_seq is None:
        return Verification(False, 0, hash_, seq + 1, f"entry {seq + 1} is missing")
    return _join([stretch], seq + 1, hash_)


def _walk_forked(session: Session, ranges: list[tuple[int, int]], batch: int) -> list[_Stretch]:
    """The first range in this process, each other in a forked child with its own connection."""
    context = multiprocessing.get_context("fork")
    engine = session.get_bind()
    children = []
    for low, high in ranges[1:]:
        receive, send = context.Pipe(duplex=False)
        child = context.Process(
            target=_walk_in_child, args=(engine, low, high, batch, send), daemon=True
        )
        child.start()
        send.close()
        children.append((child, receive, low, high))
    answered = 0
    try:
        connection = session.connection().connection.driver_connection
        stretches = [_walk_postgresql(connection, *ranges[0], batch)]
        for _child, receive, low, high in children:
            try:
                outcome = receive.recv()
            except EOFError:  # it died before it could answer
                outcome = None
            answered += 1
            if not isinstance(outcome, _Stretch):
                log.warning(
                    "audit verification: a child failed (%s); walking its range here", outcome
                )
                outcome = _walk_postgresql(connection, low, high, batch)
            stretches.append(outcome)
        return stretches
    finally:
        for index, (child, receive, _low, _high) in enumerate(children):
            if index >= answered:  # this process failed before it read the answer
                child.terminate()
            receive.close()
            child.join()


def entries_visible_to(actor: Actor):
    """The audit entries an actor may read: its organisation's, or all for the hub operator."""
    query = select(AuditEntry)
    if actor.is_hub_operator or actor.is_system:
        return query
    return query.where(
        (AuditEntry.organization_id == actor.organization_id)
        | (AuditEntry.subject_organization_id == actor.organization_id)
    )


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
    if not actor.has_scope("audit:read"):
        raise Problem(
            403,
            "forbidden",
            "Only auditors and administrators read the audit log.",
            reason="audit-readers",
        )
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
    """Entries at or after a moment; a moment before year 1 or after 9999 once in UTC (a
    legal offset on the first or last day) comes before, or after, every entry."""
    try:
        value = value.astimezone(dt.UTC)
    except OverflowError:
        return true() if value.year == dt.MINYEAR else false()
    return AuditEntry.at >= value
