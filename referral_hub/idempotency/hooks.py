"""The request side of Idempotency-Key: one mechanism for every POST under /api/v1.

It runs after the token check (security.check_api_request), so the caller is the
authenticated actor, and before the view: a keyed POST is claimed (or answered with its
replay, or refused) before its handler runs, and its response is stored after the handler's
transaction has committed. Views know nothing of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass

from flask import Flask, Response, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from referral_hub.extensions import db
from referral_hub.idempotency import operations as ops
from referral_hub.problems import Problem

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: 1 to 255 printable ASCII characters (space included).
_KEY = re.compile(r"[\x20-\x7e]{1,255}")
#: Where a request keeps its claim: on the request itself (tests may share `g` between
#: requests, as authenticate() notes).
_ENVIRON_KEY = "hub.idempotency"
_FILE_CHUNK = 1 << 16


@dataclass
class _Pending:
    claim: ops.Claim
    #: Set once the handler's transaction has committed (with the claim marked in it).
    committed: bool = False


def init_idempotency(app: Flask) -> None:
    """Register the hooks; after the token check, so that the caller is known."""
    app.before_request(claim_idempotency_key)
    app.after_request(settle_idempotency_key)
    app.teardown_request(release_unsettled_key)


def applies() -> bool:
    """A POST under /api/v1 to a view that exists (an unknown one answers 404 or 405)."""
    return (
        request.method == "POST"
        and request.path.startswith("/api/v1/")
        and request.routing_exception is None
    )


def claim_idempotency_key() -> Response | None:
    """Claim the request's key before its view runs, or answer with the first response."""
    if not applies() or HEADER not in request.headers:
        return None
    authenticated = request.environ.get("hub.authenticated")
    if authenticated is None:
        return None  # not a protected view: no caller to key on
    actor = authenticated[1]
    if ops.caller_of(actor) is None:
        return None
    key = parse_key(request.headers.getlist(HEADER))
    outcome = ops.claim_key(
        actor, key, method=request.method, path=request.path, fingerprint=request_fingerprint()
    )
    if isinstance(outcome, ops.Replay):
        return replay_response(outcome)
    request.environ[_ENVIRON_KEY] = _Pending(outcome)
    return None


def settle_idempotency_key(response: Response) -> Response:
    """Store the response under the key, or release the key; the response itself stands."""
    pending: _Pending | None = request.environ.pop(_ENVIRON_KEY, None)
    if pending is None:
        return response
    try:
        # The handler's transaction is committed or lost by now: end it, so that its locks
        # (a failed commit holds them) never wait on the key's own transaction below.
        db.session.rollback()
        body = _storable_body(response)
        status = response.status_code
        if status < 500 and body is not None and (pending.committed or 200 <= status < 300):
            headers = ops.stored_headers(response.headers)
            if not ops.keep_response(pending.claim, status, headers, body):
                log.warning("idempotency key %s was taken over first", pending.claim.id)
        else:
            ops.release_claim(pending.claim)
    except Exception:
        # The client gets the answer its request earned; a retry then meets the claim (409)
        # until its lease ends, or the record that its request was carried out.
        log.exception("idempotency key %s could not be settled", pending.claim.id)
    return response


def release_unsettled_key(error: BaseException | None) -> None:
    """A request that ended without its after_request hooks lets go of its claim here."""
    pending: _Pending | None = request.environ.pop(_ENVIRON_KEY, None)
    if pending is None:
        return
    try:
        db.session.rollback()
        ops.release_claim(pending.claim)
    except Exception:
        log.exception("idempotency key %s could not be released", pending.claim.id)


def _storable_body(response: Response) -> str | None:
    if response.is_streamed or response.direct_passthrough:
        return None
    try:
        return response.get_data().decode("utf-8")
    except UnicodeDecodeError:
        return None


def replay_response(replay: ops.Replay) -> Response:
    """The first response again, said to be a replay."""
    response = Response(replay.body.encode("utf-8"), status=replay.status)
    for name, value in replay.headers.items():
        response.headers[name] = value
    response.headers[REPLAYED_HEADER] = "true"
    return response


def parse_key(values: list[str]) -> str:
    """The key of the header: a bare value, or an RFC 8941 string (`"..."`) as the draft has it."""
    message = "Send one Idempotency-Key of 1 to 255 printable ASCII characters."
    if len(values) != 1:
        raise _bad_key(message)
    raw = values[0]
    key = _sf_string(raw) if raw.startswith('"') else raw
    if key is None or not _KEY.fullmatch(key):
        raise _bad_key(message)
    return key


def _sf_string(raw: str) -> str | None:
    """Unquote an RFC 8941 sf-string; None if it is not one."""
    if len(raw) < 2 or not raw.endswith('"'):
        return None
    out: list[str] = []
    chars = iter(raw[1:-1])
    for char in chars:
        if char == "\\":
            escaped = next(chars, None)
            if escaped not in ('"', "\\"):
                return None
            out.append(escaped)
        elif char == '"':
            return None
        else:
            out.append(char)
    return "".join(out)


def _bad_key(message: str) -> Problem:
    return Problem(400, "bad-request", message, errors={HEADER: [message]})


def request_fingerprint() -> str:
    """SHA-256 of what makes a request itself: method, path, query and the canonical body."""
    digest = hashlib.sha256()
    query = request.query_string.decode("latin-1")
    digest.update(f"{request.method} {request.path}?{query}\n".encode())
    digest.update(_canonical_body())
    return digest.hexdigest()


def _canonical_body() -> bytes:
    """JSON re-serialised (key order and spacing do not count); multipart by its fields and
    the files' names, types and SHA-256 (a retry's new boundary does not count); else raw."""
    if request.mimetype == "multipart/form-data":
        parts: list[list[str]] = [
            ["field", name, value] for name, value in request.form.items(multi=True)
        ]
        for name, upload in request.files.items(multi=True):
            parts.append(
                ["file", name, upload.filename or "", upload.mimetype or "", _sha256(upload.stream)]
            )
        return json.dumps(sorted(parts), ensure_ascii=False).encode()
    data = request.get_data(cache=True)
    if data and request.is_json:
        try:
            parsed = json.loads(data)
        except ValueError:
            return data  # the view refuses it; its refusal is not kept
        return json.dumps(
            parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    return data


def _sha256(stream) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(_FILE_CHUNK):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


# --- the handler's commit --------------------------------------------------------------------


def _pending_for(session: Session) -> _Pending | None:
    if not has_request_context() or session.in_nested_transaction():
        return None
    return request.environ.get(_ENVIRON_KEY)


@event.listens_for(Session, "before_commit")
def _mark_claim_committed(session: Session) -> None:
    """The claim turns `committed` in the handler's transaction, so the two go together."""
    pending = _pending_for(session)
    if pending is None or pending.committed:
        return
    if not ops.mark_committed(session, pending.claim):
        raise Problem(
            409,
            ops.IDEMPOTENCY_KEY_IN_USE,
            "This request ran past the lease on its Idempotency-Key and another request with "
            "the key took it over; nothing was changed by this one.",
        )


@event.listens_for(Session, "after_commit")
def _note_claim_committed(session: Session) -> None:
    pending = _pending_for(session)
    if pending is not None:
        pending.committed = True
