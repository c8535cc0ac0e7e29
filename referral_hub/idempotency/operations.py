"""Idempotency keys: claim one for a request, keep the request's response, replay it.

A key is claimed by an INSERT committed in a transaction of its own before the request's
handler runs, so a twin of the request on any other process finds it in flight. The claim
turns `committed` inside the handler's own transaction, at its commit (`mark_committed`):
the database itself then says whether the handler's change exists, whatever happens to the
process afterwards. The response is stored once the handler has committed; a handler that
failed or was rolled back releases the key, so that a retry can run.

What is kept (and why): a response whose handler committed a change, and any 2xx. A refusal
that changed nothing (4xx) is not kept: running the request again is as safe as replaying
its refusal, and the retry is then judged by today's state (the agreement signed since, the
field corrected) instead of the refusal being pinned to the key for a day. 401, 403 and 429
in particular must never be replayed. A 5xx is never kept.

A claim whose process died is taken over when its lease has run out, unless its handler had
committed: then the request was carried out, its response was lost, and repeating it would
do it twice, so the key answers 409 until it expires.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.orm import Session

from referral_hub.actors import Actor
from referral_hub.clients.crypto import decrypt, encrypt
from referral_hub.db import new_id, utcnow
from referral_hub.extensions import db
from referral_hub.idempotency.models import IdempotencyKey
from referral_hub.problems import Problem, register_problem

IDEMPOTENCY_KEY_REUSED = register_problem(
    "idempotency-key-reused", "The Idempotency-Key was already used for another request"
)
IDEMPOTENCY_KEY_IN_USE = register_problem(
    "idempotency-key-in-use", "A request with this Idempotency-Key is being processed"
)

#: How long a key is remembered (API.md: 24 h).
KEY_LIFETIME = dt.timedelta(hours=24)
#: How long a claim's holder is taken to be alive. Longer than any request may run (gunicorn
#: kills a worker after 30 s), so a live handler is never overtaken, and a dead one's claim
#: blocks retries for a minute at most.
LEASE = dt.timedelta(seconds=60)
#: Seconds a client is asked to wait before asking again for an answer in flight.
RETRY_AFTER_SECONDS = 1
#: The response headers a replay repeats.
REPLAYED_HEADERS = ("Location", "Content-Type", "ETag")

_TABLE = IdempotencyKey.__table__
_C = _TABLE.c
_BODY_PLACE = {"table": IdempotencyKey.__tablename__, "column": "response_body_ciphertext"}


@dataclass(frozen=True)
class Claim:
    """This request holds the key: its response will be stored under it."""

    id: str
    token: str


@dataclass(frozen=True)
class Replay:
    """The key was used before for this very request: its first response."""

    status: int
    headers: dict[str, str]
    body: str


def caller_of(actor: Actor) -> str | None:
    """Whose key space a request falls in: the OAuth client (and the user it acts for), or the
    portal user; None for an actor that is neither."""
    if actor.kind == "client" and actor.client_id:
        return f"client:{actor.client_id}" + (f"/user:{actor.user_id}" if actor.user_id else "")
    if actor.kind == "user" and actor.user_id:
        return f"user:{actor.user_id}"
    return None


def _insert_unless_taken(connection: Connection):
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(_TABLE).on_conflict_do_nothing(index_elements=["caller", "idempotency_key"])


def claim_key(
    actor: Actor,
    key: str,
    *,
    method: str,
    path: str,
    fingerprint: str,
    now: dt.datetime | None = None,
) -> Claim | Replay:
    """Claim `key` for this request, committed at once, or return the first request's response.

    Raises 422 idempotency-key-reused when the key was used for another request, and 409
    idempotency-key-in-use while the first request runs (or when it was carried out but its
    response was lost).
    """
    caller = caller_of(actor)
    if caller is None:
        raise ValueError("an idempotency key needs a client or a user as its caller")
    now = now or utcnow()
    # A row that disappears or changes between our statements (released, purged, taken over
    # by a twin) sends us round again; three rounds are more than any interleaving needs.
    for _ in range(3):
        token = new_id()
        claim = {
            "method": method,
            "path": path,
            "fingerprint": fingerprint,
            "state": "in_flight",
            "claim_token": token,
            "lease_expires_at": now + LEASE,
            "response_status": None,
            "response_headers": None,
            "response_body_ciphertext": None,
            "created_at": now,
            "expires_at": now + KEY_LIFETIME,
        }
        with db.engine.begin() as connection:
            connection.execute(
                _insert_unless_taken(connection).values(
                    id=new_id(), caller=caller, idempotency_key=key, **claim
                )
            )
            # Ours if it carries our token (an INSERT's rowcount is not reliable on every
            # driver when a conflict skipped it).
            row = connection.execute(
                select(_TABLE).where(_C.caller == caller, _C.idempotency_key == key)
            ).first()
            if row is None:
                continue
            if row.claim_token == token:
                return Claim(row.id, token)
            if row.expires_at <= now:
                # Forgotten (24 h): the key is free for a new request.
                taken = connection.execute(
                    update(_TABLE).where(_C.id == row.id, _C.expires_at <= now).values(**claim)
                ).rowcount
                if taken == 1:
                    return Claim(row.id, token)
                continue
            if row.method != method or row.path != path:
                raise Problem(
                    422,
                    IDEMPOTENCY_KEY_REUSED,
                    f"This Idempotency-Key was used for {row.method} {row.path} within the last "
                    "24 hours; send a new key with each new request.",
                )
            if row.fingerprint != fingerprint:
                raise Problem(
                    422,
                    IDEMPOTENCY_KEY_REUSED,
                    "This Idempotency-Key was used with another body within the last 24 hours; "
                    "send a new key with each new request.",
                )
            if row.state == "completed":
                body = decrypt(row.response_body_ciphertext, row_id=row.id, **_BODY_PLACE)
                return Replay(row.response_status, dict(row.response_headers or {}), body)
            lapsed = row.lease_expires_at is None or row.lease_expires_at <= now
            if row.state == "in_flight" and lapsed:
                # Its process died before its handler committed: nothing was done.
                taken = connection.execute(
                    update(_TABLE)
                    .where(
                        _C.id == row.id,
                        _C.claim_token == row.claim_token,
                        _C.state == "in_flight",
                    )
                    .values(claim_token=token, lease_expires_at=now + LEASE)
                ).rowcount
                if taken == 1:
                    return Claim(row.id, token)
                continue
            if row.state == "committed" and lapsed:
                raise Problem(
                    409,
                    IDEMPOTENCY_KEY_IN_USE,
                    "The first request with this Idempotency-Key was carried out, but its "
                    "response was not kept (the hub failed before storing it). Do not repeat "
                    "it: look up its result instead (a referral: GET /api/v1/referrals"
                    "?sender_reference=...).",
                )
            break
    raise Problem(
        409,
        IDEMPOTENCY_KEY_IN_USE,
        "A request with this Idempotency-Key is still being processed; ask again after "
        "Retry-After seconds to receive its response.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def mark_committed(session: Session, claim: Claim) -> bool:
    """In the handler's transaction, at its commit: the change and this mark commit together.

    False when the claim is no longer this request's (its lease ran out and a twin took the
    key over): the caller must then not commit.
    """
    marked = session.execute(
        update(_TABLE)
        .where(_C.id == claim.id, _C.claim_token == claim.token, _C.state == "in_flight")
        .values(state="committed")
    ).rowcount
    return marked == 1


def keep_response(claim: Claim, status: int, headers: dict[str, str], body: str) -> bool:
    """Store the response under the key (body encrypted); False if the claim was lost."""
    with db.engine.begin() as connection:
        kept = connection.execute(
            update(_TABLE)
            .where(
                _C.id == claim.id,
                _C.claim_token == claim.token,
                _C.state.in_(("in_flight", "committed")),
            )
            .values(
                state="completed",
                lease_expires_at=None,
                response_status=status,
                response_headers={k: v for k, v in headers.items() if k in REPLAYED_HEADERS},
                response_body_ciphertext=encrypt(body, row_id=claim.id, **_BODY_PLACE),
            )
        ).rowcount
    return kept == 1


def release_claim(claim: Claim) -> None:
    """Let go of the key after a failure: free it if the handler changed nothing.

    A claim whose handler committed stays (its request was carried out; a retry must not run
    it again), marked as nobody's any more.
    """
    with db.engine.begin() as connection:
        freed = connection.execute(
            delete(_TABLE).where(
                _C.id == claim.id, _C.claim_token == claim.token, _C.state == "in_flight"
            )
        ).rowcount
        if not freed:
            connection.execute(
                update(_TABLE)
                .where(_C.id == claim.id, _C.claim_token == claim.token, _C.state == "committed")
                .values(lease_expires_at=None)
            )


def purge_expired_keys(now: dt.datetime | None = None) -> int:
    """Delete the keys past their 24 hours; the caller commits. Returns how many."""
    return db.session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.expires_at < (now or utcnow()))
        .execution_options(synchronize_session=False)
    ).rowcount


def stored_headers(response_headers: Any) -> dict[str, str]:
    """The headers of a response worth replaying."""
    return {name: response_headers[name] for name in REPLAYED_HEADERS if name in response_headers}
