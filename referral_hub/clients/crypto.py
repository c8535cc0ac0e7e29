"""Encryption at rest for personal data, and the keyed blind index that finds a NIK.

Ciphertexts are text of the form ``v1.<kid>.<base64url(nonce | ciphertext | tag)>``:
AES-256-GCM under the key `kid` of the ring ``HUB_DATA_KEY_RING`` (ordered, the first key is
the current one), with a fresh random 96-bit nonce per value. The associated data binds a
value to its place, ``v1|<kid>|<table>|<column>|<row id>``, so a ciphertext copied into
another row or another column, or relabelled with another key id, does not decrypt.

A column type cannot see the row's id, so values are encrypted by the `Encrypted` descriptor
on the model (the row's id is assigned when the object is constructed), which keeps the
ciphertext in a plain text column next to it.

Key rotation: put a new key first in ``HUB_DATA_KEYS`` and keep the old one after it; the
hub then writes under the new key and still reads the old one. ``flask hub rotate-keys``
re-encrypts what is left under older keys; once it reports nothing left, the old key may be
removed from the ring.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import and_, false, or_
from sqlalchemy.sql import ColumnElement

FORMAT_VERSION = "v1"
NONCE_BYTES = 12
BLIND_INDEX_INFO = b"nik-blind-index"


class DecryptionError(RuntimeError):
    """A stored value cannot be decrypted: tampered, moved, or under a key not in the ring."""


def key_ring() -> Mapping[str, bytes]:
    """The configured key ring, current key first."""
    return current_app.config["HUB_DATA_KEY_RING"]


def current_kid(ring: Mapping[str, bytes] | None = None) -> str:
    """The id of the key new values are encrypted under."""
    return next(iter(ring or key_ring()))


def _aad(kid: str, table: str, column: str, row_id: str) -> bytes:
    return "|".join((FORMAT_VERSION, kid, table, column, row_id)).encode()


def encrypt(
    plaintext: str, *, table: str, column: str, row_id: str, ring: Mapping[str, bytes] | None = None
) -> str:
    """Encrypt text under the current key, bound to its table, column and row."""
    if not row_id:
        raise ValueError("a row id is needed to bind the ciphertext to its row")
    ring = ring or key_ring()
    kid = current_kid(ring)
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring[kid]).encrypt(nonce, plaintext.encode(), _aad(kid, table, column, row_id))
    body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()
    return f"{FORMAT_VERSION}.{kid}.{body}"


def kid_of(token: str) -> str:
    """The key id a ciphertext names."""
    return _split(token)[1]


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != FORMAT_VERSION or not parts[1]:
        raise DecryptionError("not a v1 ciphertext")
    return parts[0], parts[1], parts[2]


def decrypt(
    token: str, *, table: str, column: str, row_id: str, ring: Mapping[str, bytes] | None = None
) -> str:
    """Decrypt the value stored at (table, column, row); DecryptionError if it is not its own."""
    _, kid, body = _split(token)
    ring = ring or key_ring()
    key = ring.get(kid)
    if key is None:
        raise DecryptionError(
            f"{table}.{column} of {row_id} is under key '{kid}', which HUB_DATA_KEYS lacks"
        )
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError(f"{table}.{column} of {row_id} is not valid base64") from None
    if len(raw) < NONCE_BYTES + 16:
        raise DecryptionError(f"{table}.{column} of {row_id} is truncated")
    try:
        plain = AESGCM(key).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(kid, table, column, row_id)
        )
    except InvalidTag:
        raise DecryptionError(
            f"{table}.{column} of {row_id} does not authenticate (altered or moved)"
        ) from None
    return plain.decode()


# --- blind index ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def derived_key(data_key: bytes, info: bytes) -> bytes:
    """A key for one purpose (`info`) derived from a data key: an HMAC key never equals an
    encryption key, nor another index's key (the NIK's, the names')."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(data_key)


def _index_key(data_key: bytes) -> bytes:
    return derived_key(data_key, BLIND_INDEX_INFO)


def nik_digits(nik: str) -> str:
    """A NIK normalised to its digits (separators people type are dropped)."""
    return "".join(ch for ch in nik if ch.isdigit())


def nik_blind_index(
    nik: str, organization_id: str, kid: str | None = None, ring: Mapping[str, bytes] | None = None
) -> tuple[str, str]:
    """(kid, HMAC-SHA256 hex) of a NIK within one organisation, under key `kid` (default current).

    Decisions:
    - The HMAC key is derived (HKDF, info "nik-blind-index") from a data key of the ring, and
      the kid it came from is stored next to the index value (``nik_index_kid``). There is no
      separate, never-rotating index key to lose or leak: the index rotates with the ring.
      A lookup computes the HMAC under every key of the ring and matches (kid, value) pairs,
      so a NIK is found whether or not rotation has reached its row; ``rotate-keys``
      recomputes indexes under the current key, after which the old key can be removed.
    - The owning organisation's id is part of the message, so the same person registered by
      two units has unrelated index values: the database alone cannot link them.
    """
    ring = ring or key_ring()
    kid = kid or current_kid(ring)
    digest = hmac.new(
        _index_key(ring[kid]),
        f"{organization_id}:{nik_digits(nik)}".encode(),
        hashlib.sha256,
    ).hexdigest()
    return kid, digest


def nik_index_candidates(
    nik: str, organization_id: str, ring: Mapping[str, bytes] | None = None
) -> list[tuple[str, str]]:
    """The (kid, index) pairs a NIK may be stored under, one per key of the ring."""
    ring = ring or key_ring()
    return [nik_blind_index(nik, organization_id, kid, ring) for kid in ring]


# --- the model side -------------------------------------------------------------------------

#: Every model with encrypted fields, registered by `Encrypted`; key rotation walks them all.
ENCRYPTED_MODELS: list[type] = []


class Encrypted:
    """A model attribute whose value is kept encrypted in the text column `column`.

    Reading decrypts (bound to the row's id), writing encrypts under the current key.
    `codec` is "text", "date" (ISO date) or "json".
    """

    def __init__(self, column: str, codec: str = "text") -> None:
        if codec not in ("text", "date", "json"):
            raise ValueError(f"unknown codec {codec}")
        self.column = column
        self.codec = codec
        self.name = column

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        if owner not in ENCRYPTED_MODELS:
            ENCRYPTED_MODELS.append(owner)

    def _place(self, obj: Any) -> dict[str, str]:
        row_id = obj.id
        if not row_id:
            raise ValueError(f"{type(obj).__name__} needs its id before '{self.name}' is set")
        return {"table": obj.__tablename__, "column": self.column, "row_id": row_id}

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        token = getattr(obj, self.column)
        if token is None:
            return None
        text = decrypt(token, **self._place(obj))
        if self.codec == "date":
            return dt.date.fromisoformat(text)
        if self.codec == "json":
            return json.loads(text)
        return text

    def __set__(self, obj: Any, value: Any) -> None:
        if value is None:
            setattr(obj, self.column, None)
            return
        if self.codec == "date":
            text = value.isoformat()
        elif self.codec == "json":
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            text = str(value)
        setattr(obj, self.column, encrypt(text, **self._place(obj)))


def encrypted_fields(model: type) -> list[Encrypted]:
    """The Encrypted attributes of a model class (and its bases)."""
    seen: dict[str, Encrypted] = {}
    for klass in reversed(model.__mro__):
        for value in vars(klass).values():
            if isinstance(value, Encrypted):
                seen[value.name] = value
    return list(seen.values())


def stale_clause(model: type, kid: str) -> ColumnElement[bool]:
    """SQL that is true for rows holding any encrypted value under a key other than `kid`."""
    conditions = []
    for field in encrypted_fields(model):
        column = getattr(model, field.column)
        conditions.append(and_(column.is_not(None), column.not_like(f"{FORMAT_VERSION}.{kid}.%")))
    extra = getattr(model, "stale_index_clause", None)
    if extra is not None:
        conditions.append(extra(kid))
    return or_(*conditions) if conditions else false()


def reencrypt(obj: Any, kid: str | None = None) -> int:
    """Re-encrypt an object's values not under the current key; return how many changed."""
    kid = kid or current_kid()
    changed = 0
    for field in encrypted_fields(type(obj)):
        token = getattr(obj, field.column)
        if token is not None and kid_of(token) != kid:
            setattr(obj, field.name, getattr(obj, field.name))
            changed += 1
    return changed
