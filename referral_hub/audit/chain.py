"""Canonical content and hashing of audit entries, shared by writing and verifying.

The rule is `canonical()`: the entry's twelve hashed fields as JSON with sorted keys, no
spaces, UTF-8 (not \\u-escaped). `entry_digest()` produces the same bytes without building
a dict per entry: the top-level keys are always the same twelve, so their sorted order is
fixed and only the values are encoded, each by the very encoder `canonical()` uses. Both the
writer and the verifier hash through `entry_digest()`; tests/unit/test_audit_canonical.py
holds it to `canonical()` over varied values.
"""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring
from typing import Any

#: The fields an entry's hash covers, in the order of the table's columns.
HASHED_FIELDS = (
    "seq",
    "at",
    "actor_kind",
    "actor_user_id",
    "actor_client_id",
    "actor_label",
    "organization_id",
    "subject_organization_id",
    "action",
    "object_type",
    "object_id",
    "detail",
)

# What json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
# builds on every call, built once (json.dumps constructs exactly this encoder).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
_encode = _ENCODER.encode


def _make_chunks() -> Any:
    """The C function that JSONEncoder.encode above makes anew on every call, made once.

    Its arguments are those the encoder passes, but for the markers of the circular check:
    a shared dict would not be safe across threads, and the values hashed come out of
    json.loads (or a json round trip in record()), which makes no cycles.
    """
    try:
        from json.encoder import c_make_encoder

        chunks = c_make_encoder(None, str, encode_basestring, None, ":", ",", True, False, True)
        if "".join(chunks({"b": [1.5, None], "a": "é"}, 0)) == '{"a":"é","b":[1.5,null]}':
            return chunks
    except (ImportError, TypeError):  # no C accelerator, or another signature
        pass
    return lambda value, _level: (_encode(value),)


_chunks = _make_chunks()
# The sorted keys around the values: the format of canonical() for these twelve fields.
_TEMPLATE = "{" + ",".join(f'"{name}":%s' for name in sorted(HASHED_FIELDS)) + "}"


def canonical(fields: dict[str, Any]) -> bytes:
    """The entry's content as canonical JSON: sorted keys, no spaces, UTF-8."""
    return _encode(fields).encode()


def _value(value: Any) -> str:
    return "null" if value is None else _encode(value)


def entry_digest(
    prev_hash: str,
    seq: Any,
    at: Any,
    actor_kind: Any,
    actor_user_id: Any,
    actor_client_id: Any,
    actor_label: Any,
    organization_id: Any,
    subject_organization_id: Any,
    action: Any,
    object_type: Any,
    object_id: Any,
    detail: Any,
) -> str:
    """SHA-256 over the previous hash, a newline and the entry's canonical content."""
    # Strings, nearly every value, are encoded here as the encoder encodes them; any
    # other value by the encoder itself.
    string, quote, other = str, encode_basestring, _value
    content = _TEMPLATE % (  # the values in the sorted order of their keys
        quote(action) if action.__class__ is string else other(action),
        quote(actor_client_id) if actor_client_id.__class__ is string else other(actor_client_id),
        quote(actor_kind) if actor_kind.__class__ is string else other(actor_kind),
        quote(actor_label) if actor_label.__class__ is string else other(actor_label),
        quote(actor_user_id) if actor_user_id.__class__ is string else other(actor_user_id),
        quote(at) if at.__class__ is string else other(at),
        "".join(_chunks(detail, 0)),
        quote(object_id) if object_id.__class__ is string else other(object_id),
        quote(object_type) if object_type.__class__ is string else other(object_type),
        quote(organization_id) if organization_id.__class__ is string else other(organization_id),
        int.__repr__(seq) if seq.__class__ is int else other(seq),
        quote(subject_organization_id)
        if subject_organization_id.__class__ is string
        else other(subject_organization_id),
    )
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and this entry's canonical content (its 12 fields)."""
    return entry_digest(prev_hash, **fields)
