"""Canonical content and hashing of audit entries, shared by writing and verifying."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical(fields: dict[str, Any]) -> bytes:
    """The entry's content as canonical JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and this entry's canonical content."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(fields)).hexdigest()
