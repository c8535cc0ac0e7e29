"""Signed checkpoints: the hub vouches for the chain's length and head.

The chain alone cannot show that its newest entries were cut, or that it was rewritten from
some entry on with every later hash recomputed: both leave a chain that verifies. A signed
checkpoint can. Every few minutes when the chain grew (delivery/schedule.py) and on demand
(`flask hub audit-checkpoint`) the hub signs, with the Ed25519 key of HUB_AUDIT_SIGNING_KEYS,
how many entries the chain has and the hash of the last one; it serves the checkpoint at
GET /api/v1/audit/checkpoints and puts it in every organisation's feed as an
`audit.checkpoint` event, so partners hold copies the hub's database administrators cannot
reach. Verification then requires the chain to reach every checkpoint: entry `entries` is
there and its hash is `head`.

The signed text, version 1, is UTF-8, its lines joined by "\\n", with no newline at the end:

    referral_hub-audit-checkpoint:v1
    <entries: decimal>
    <head: the hash of entry `entries`, 64 lowercase hex digits>
    <at: when it was signed, RFC 3339 UTC to the second, as 2026-11-23T01:05:00Z>
    <previous: the digest of the checkpoint before it; empty for the first>

`signature` is the base64 (RFC 4648, padded) of the 64-byte Ed25519 signature of that text;
`key_id` names the key among GET /api/v1/audit/keys. A checkpoint's digest is the SHA-256
(hex) of its signed text, "\\n", its key id, "\\n", its signature. As each checkpoint names the
digest of the one before, the stored checkpoints form one chain under the newest one's
signature: verification checks every link, position and key, and the signature of the
newest only (an Ed25519 verification costs a hundred microseconds, a link a hash); a kept
copy is checked on its own, signature included. Before signing, the hub checks that the
chain still extends the last checkpoint and that checkpoint's signature: it never signs a
chain that was cut or rewritten under it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from referral_hub.actors import Actor
from referral_hub.audit.models import AuditCheckpoint, AuditEntry
from referral_hub.config import AuditKey
from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

VERSION = "referral_hub-audit-checkpoint:v1"
#: pg_advisory_xact_lock key that serialises signing ("CKPT"); appends never wait on it.
_CHECKPOINT_LOCK_KEY = 0x434B5054
_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: The fields of a checkpoint as served, in the event's data and in a partner's file.
FIELDS = ("entries", "head", "at", "key_id", "signature", "previous")

AUDIT_CHAIN_EMPTY = register_problem("audit-chain-empty", "The audit chain has nothing to sign")
AUDIT_CHAIN_DIVERGED = register_problem(
    "audit-chain-diverged", "The audit chain no longer extends its last checkpoint"
)


# --- the signed text, the digest, the wire form ----------------------------------------


def format_at(moment: dt.datetime) -> str:
    """RFC 3339 UTC to the second, the form `at` is signed in."""
    return moment.astimezone(dt.UTC).strftime(_AT_FORMAT)


def parse_at(value: str) -> dt.datetime:
    if not isinstance(value, str) or not _AT.fullmatch(value):
        raise ValueError("`at` is not RFC 3339 UTC to the second (2026-11-23T01:05:00Z)")
    return dt.datetime.strptime(value, _AT_FORMAT).replace(tzinfo=dt.UTC)


def signed_text(entries: int, head: str, at: str, previous: str | None) -> bytes:
    """The bytes the hub signs (see the module's documentation)."""
    return f"{VERSION}\n{entries}\n{head}\n{at}\n{previous or ''}".encode()


def as_served(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """The checkpoint as the API serves it and the event carries it."""
    return {
        "entries": checkpoint.entries,
        "head": checkpoint.head,
        "at": format_at(checkpoint.at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "previous": checkpoint.previous,
    }


def digest(checkpoint: AuditCheckpoint | dict[str, Any]) -> str:
    """SHA-256 of the signed text, key id and signature: what the next checkpoint names."""
    served = checkpoint if isinstance(checkpoint, dict) else as_served(checkpoint)
    signed = signed_text(served["entries"], served["head"], served["at"], served["previous"])
    tail = f"\n{served['key_id']}\n{served['signature']}".encode()
    return hashlib.sha256(signed + tail).hexdigest()


def parse_kept(value: Any) -> list[dict[str, Any]]:
    """The checkpoints in a partner's file: one as served, an event's data, a webhook payload
    or feed item (its `data`), or a list of those; ValueError if it holds none."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError("the list is empty")
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("data"), dict):
            item = item["data"]
        if not isinstance(item, dict):
            raise ValueError("expected a JSON object")
        missing = [name for name in FIELDS if name not in item]
        if missing:
            raise ValueError("it lacks " + ", ".join(missing))
        entries, previous = item["entries"], item["previous"]
        if not isinstance(entries, int) or isinstance(entries, bool) or entries < 1:
            raise ValueError("`entries` is not a positive whole number")
        if not isinstance(item["head"], str) or not _HEX64.fullmatch(item["head"]):
            raise ValueError("`head` is not 64 lowercase hex digits")
        if previous is not None and not (isinstance(previous, str) and _HEX64.fullmatch(previous)):
            raise ValueError("`previous` is neither null nor 64 lowercase hex digits")
        if not isinstance(item["key_id"], str) or not isinstance(item["signature"], str):
            raise ValueError("`key_id` and `signature` are strings")
        parse_at(item["at"])
        out.append({name: item[name] for name in FIELDS})
    return out


# --- keys ------------------------------------------------------------------------------


def key_ring() -> dict[str, AuditKey]:
    """The configured keys, the signing one first (config.parse_audit_key_ring)."""
    return current_app.config["HUB_AUDIT_KEY_RING"]


def public_keys() -> list[dict[str, Any]]:
    """Every key a checkpoint may name: the one signing now, and retired ones."""
    ring = key_ring()
    current = next(iter(ring))
    return [
        {
            "key_id": kid,
            "algorithm": "Ed25519",
            "public_key": base64.b64encode(key.public).decode(),
            "current": kid == current,
        }
        for kid, key in ring.items()
    ]


def signature_problem(checkpoint: dict[str, Any], ring: dict[str, AuditKey]) -> str | None:
    """Why a checkpoint's signature does not hold under the published keys, if it does not."""
    key = ring.get(checkpoint["key_id"])
    if key is None:
        return f"it is signed by an unknown key '{checkpoint['key_id']}'"
    try:
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        public = Ed25519PublicKey.from_public_bytes(key.public)
        public.verify(
            signature,
            signed_text(
                checkpoint["entries"],
                checkpoint["head"],
                checkpoint["at"],
                checkpoint["previous"],
            ),
        )
    except (InvalidSignature, binascii.Error, ValueError):
        return "its signature does not verify"
    return None


# --- reading and signing ---------------------------------------------------------------


def latest_checkpoint(session: Session | None = None) -> AuditCheckpoint | None:
    session = session or db.session()
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


def recent_checkpoints(limit: int, session: Session | None = None) -> list[AuditCheckpoint]:
    """The newest checkpoints, newest first."""
    session = session or db.session()
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(limit)
    return list(session.scalars(query))


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHECKPOINT_LOCK_KEY})
    else:  # SQLite: take the write lock before reading the last checkpoint
        session.execute(text("UPDATE audit_checkpoints SET id = id WHERE 1 = 0"))


def _divergence(session: Session, last: AuditCheckpoint | None, entries: int) -> str | None:
    """Why the chain up to entry `entries` does not extend the last checkpoint, if it does not."""
    from referral_hub.audit.operations import verify_chain, walk_from

    if last is None:
        whole = verify_chain(session)
        if not whole.ok:
            return f"entry {whole.first_bad_seq}: {whole.reason}"
        return None
    problem = signature_problem(as_served(last), key_ring())
    if problem:
        return f"checkpoint #{last.id}: {problem}"
    at_last = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == last.entries))
    if at_last is None:
        return f"the chain no longer reaches entry {last.entries}"
    if at_last != last.head:
        return f"entry {last.entries} differs from the signed head"
    walked = walk_from(session, last.entries, last.head, entries)
    if not walked.ok:
        return f"entry {walked.first_bad_seq}: {walked.reason}"
    return None


def sign_checkpoint(
    actor: Actor, *, only_if_moved: bool = False, session: Session | None = None
) -> AuditCheckpoint | None:
    """Sign the chain's head now and publish it to every organisation's feed.

    With `only_if_moved` (the periodic job), nothing is signed while the head is that of the
    last checkpoint. Refuses (Problem) an empty chain, and a chain that no longer extends the
    last checkpoint: that is tampering to report, not a state to vouch for.
    """
    from referral_hub.delivery.outbox import emit
    from referral_hub.directory.models import Organization

    session = session or db.session()
    _lock(session)
    last = latest_checkpoint(session)
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    if head is None:
        if only_if_moved:
            return None
        raise Problem(409, AUDIT_CHAIN_EMPTY, "The audit chain is empty: nothing to sign.")
    if only_if_moved and last is not None and (last.entries, last.head) == tuple(head):
        return None
    reason = _divergence(session, last, head.seq)
    if reason:
        what = f"does not extend checkpoint #{last.id}" if last is not None else "is broken"
        raise Problem(
            409,
            AUDIT_CHAIN_DIVERGED,
            f"Nothing was signed: the audit chain {what} ({reason}).",
        )
    kid, key = next(iter(key_ring().items()))
    at = utcnow().replace(microsecond=0)
    if last is not None:
        at = max(at, last.at)  # never before the last one, whatever another machine's clock
    previous = digest(last) if last is not None else None
    signature = Ed25519PrivateKey.from_private_bytes(key.private).sign(
        signed_text(head.seq, head.hash, format_at(at), previous)
    )
    checkpoint = AuditCheckpoint(
        id=(last.id + 1) if last is not None else 1,
        entries=head.seq,
        head=head.hash,
        at=at,
        key_id=kid,
        previous=previous,
        signature=base64.b64encode(signature).decode(),
    )
    session.add(checkpoint)
    session.flush()
    emit(
        actor,
        "audit.checkpoint",
        subject_type="audit_checkpoint",
        subject_id=str(checkpoint.id),
        organizations=list(session.scalars(select(Organization.id).order_by(Organization.id))),
        data=as_served(checkpoint),  # served with links.self: outbox.SUBJECT_PATHS
        session=session,
    )
    return checkpoint


# --- verification ----------------------------------------------------------------------


@dataclass
class CheckpointReport:
    """The chain held against the stored checkpoints and any kept copies."""

    checked: int = 0
    last: dict[str, Any] | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "last": self.last,
            "failures": list(self.failures),
        }

    def fail(self, source: str, label: str, served: dict[str, Any], reason: str) -> None:
        self.failures.append(
            {
                "source": source,
                "checkpoint": label,
                "entries": served["entries"],
                "at": served["at"],
                "reason": reason,
            }
        )


def _position_problem(entries: int, head: str, found: str | None, top: int) -> str | None:
    if found is None:
        if entries > top:
            return f"the chain no longer reaches entry {entries}: it ends at entry {top}"
        return f"entry {entries} is missing"
    if found != head:
        return f"entry {entries} differs from the signed head"
    return None


def newest_checkpoint_status(session: Session | None = None) -> dict[str, Any] | None:
    """A cheap check for a page that every reader opens: the newest checkpoint's signature,
    and that the chain still holds its signed head at its position; with how many entries
    were written after it. None before the first checkpoint.

    Two reads and one signature, whatever the chain's length: not `verify_checkpoints`
    (every checkpoint and its links) nor `verify_chain` (every entry), which the log page's
    verification runs on request.
    """
    session = session or db.session()
    checkpoint = latest_checkpoint(session)
    if checkpoint is None:
        return None
    top = session.scalar(select(func.max(AuditEntry.seq))) or 0
    found = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == checkpoint.entries))
    ring = key_ring()
    served = as_served(checkpoint)
    problem = (
        signature_problem(served, ring)
        if checkpoint.key_id in ring
        else f"it is signed by an unknown key '{checkpoint.key_id}'"
    ) or _position_problem(checkpoint.entries, checkpoint.head, found, top)
    return {
        "number": checkpoint.id,
        "entries": checkpoint.entries,
        "at": checkpoint.at,
        "ok": problem is None,
        "problem": problem,
        "after": max(top - checkpoint.entries, 0),
    }


def verify_checkpoints(
    session: Session | None = None, kept: Sequence[tuple[str, dict[str, Any]]] = ()
) -> CheckpointReport:
    """Does the chain reach every stored checkpoint, and every kept one given as (source, it)?

    Stored checkpoints: consecutive, each linked to the one before, none going back, each
    under a published key, each position matching the chain; the newest one's signature
    holds. Kept ones: signature, position, and being among the stored ones (a checkpoint the
    hub signed and no longer has was removed from under it).
    """
    session = session or db.session()
    ring = key_ring()
    report = CheckpointReport()
    top = session.scalar(select(func.max(AuditEntry.seq))) or 0
    rows = session.execute(
        select(
            AuditCheckpoint.id,
            AuditCheckpoint.entries,
            AuditCheckpoint.head,
            AuditCheckpoint.at,
            AuditCheckpoint.key_id,
            AuditCheckpoint.signature,
            AuditCheckpoint.previous,
            AuditEntry.hash,
        )
        .outerjoin(AuditEntry, AuditEntry.seq == AuditCheckpoint.entries)
        .order_by(AuditCheckpoint.id)
    )
    before: tuple[int, dict[str, Any]] | None = None
    for number, entries, head, at, key_id, signature, previous, found in rows:
        served = {
            "entries": entries,
            "head": head,
            "at": format_at(at),
            "key_id": key_id,
            "signature": signature,
            "previous": previous,
        }
        label = f"checkpoint #{number} ({entries} entries, {served['at']})"
        reasons = []
        if before is None:
            if number != 1:
                reasons.append(f"the checkpoints before it (#1 to #{number - 1}) are missing")
            elif previous is not None:
                reasons.append("the first checkpoint names one before it")
        else:
            earlier, earlier_served = before
            if number != earlier + 1:
                reasons.append(f"checkpoints #{earlier + 1} to #{number - 1} are missing")
            if previous != digest(earlier_served):
                reasons.append(f"it does not follow checkpoint #{earlier}")
            if entries < earlier_served["entries"] or served["at"] < earlier_served["at"]:
                reasons.append(f"it goes back from checkpoint #{earlier}")
        if key_id not in ring:
            reasons.append(f"it is signed by an unknown key '{key_id}'")
        position = _position_problem(entries, head, found, top)
        if position:
            reasons.append(position)
        for reason in reasons:
            report.fail("stored", label, served, reason)
        report.checked += 1
        before = (number, served)
    if before is not None:
        number, served = before
        report.last = served
        # The newest one's signature covers every link to it; an unknown key is said above.
        if served["key_id"] in ring:
            problem = signature_problem(served, ring)
            if problem:
                label = f"checkpoint #{number} ({served['entries']} entries, {served['at']})"
                report.fail("stored", label, served, problem)
    for source, served in kept:
        _verify_kept(session, report, ring, top, source, served)
    return report


def _verify_kept(
    session: Session,
    report: CheckpointReport,
    ring: dict[str, AuditKey],
    top: int,
    source: str,
    served: dict[str, Any],
) -> None:
    label = f"checkpoint of {served['entries']} entries at {served['at']} kept in {source}"
    found = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == served["entries"]))
    reasons = [
        problem
        for problem in (
            signature_problem(served, ring),
            _position_problem(served["entries"], served["head"], found, top),
        )
        if problem
    ]
    stored = session.scalar(
        select(AuditCheckpoint.id).where(
            AuditCheckpoint.signature == served["signature"],
            AuditCheckpoint.entries == served["entries"],
            AuditCheckpoint.head == served["head"],
        )
    )
    if stored is None:
        reasons.append("it is not among the hub's checkpoints: it was removed, or never signed")
    for reason in reasons:
        report.fail(source, label, served, reason)
    report.checked += 1


def kept_from_files(paths: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    """(path, checkpoint) for every checkpoint in the given JSON files; ValueError naming the
    file if one holds no checkpoint."""
    import json

    out = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                value = json.load(fh)
            out.extend((path, served) for served in parse_kept(value))
        except (OSError, ValueError, RecursionError) as error:  # nested beyond the parser
            raise ValueError(f"{path}: not a checkpoint ({error})") from None
    return out
