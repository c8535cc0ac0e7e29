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

Per-client keys (UU PDP erasure by destroying a key): a client's personal data, wherever it
is kept (the client's record, a consent's giver, a referral's copy of the case, a timeline
note, a rectification's before and after), is encrypted under that client's own random data
key, ``c1.<base64url(nonce | ciphertext | tag)>`` with the associated data
``c1|<table>|<column>|<row id>|<client id>``. The client's key is kept in `ClientKey`,
wrapped (encrypted) under the key ring like any other value, so ``rotate-keys`` re-wraps the
client keys and never needs to touch the data under them. Erasing a client deletes its
wrapped key: every value under it is then noise, and reads give the `ERASED` marker.
Unwrapped keys are cached for one transaction only (session.info), so an erasure committed
elsewhere is seen by the next transaction.
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
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import ForeignKey, String, Text, and_, event, false, or_
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, synonym
from sqlalchemy.sql import ColumnElement

from referral_hub.db import UTCDateTime, utcnow
from referral_hub.extensions import db
from referral_hub.problems import Problem

FORMAT_VERSION = "v1"
#: Values under the owning client's own data key.
CLIENT_FORMAT = "c1"
NONCE_BYTES = 12
BLIND_INDEX_INFO = b"nik-blind-index"
#: What a read of an erased client's personal text gives (dates and JSON give None).
ERASED = "[erased]"


class DecryptionError(RuntimeError):
    """A stored value cannot be decrypted: tampered, moved, or under a key not in the ring."""


class ClientErased(Problem):
    """A value was to be written under the data key of a client who was erased: whatever
    feature tried it (a case note, a referral), the answer is 409 client-erased, never a 500."""

    def __init__(self, client_id: str) -> None:
        super().__init__(
            409,
            "client-erased",
            "The client was erased: nothing more is kept of them.",
            client={"id": client_id},
        )


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


# --- per-client data keys ------------------------------------------------------------------

_CACHE = "client_data_keys"


def _key_cache() -> dict[str, bytes | None]:
    return db.session.info.setdefault(_CACHE, {})


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_client_keys(session: Session) -> None:
    # One transaction only: an erasure committed by another process is seen by the next one.
    session.info.pop(_CACHE, None)


def _stored_client_key(client_id: str) -> ClientKey | None:
    with db.session.no_autoflush:
        row = db.session.get(ClientKey, client_id)
    if row is None:
        row = next(
            (o for o in db.session.new if isinstance(o, ClientKey) and o.client_id == client_id),
            None,
        )
    return row


def client_data_key(client_id: str, *, create: bool = False) -> bytes | None:
    """The client's unwrapped data key; None if it was destroyed (the client was erased).

    With `create`, a client without a key yet gets one (added to the session).
    """
    cache = _key_cache()
    if client_id in cache:
        return cache[client_id]
    row = _stored_client_key(client_id)
    if row is None:
        if not create:
            raise DecryptionError(f"client {client_id} has no data key")
        key = AESGCM.generate_key(bit_length=256)
        row = ClientKey(client_id=client_id, created_at=utcnow())
        row.wrapped_key = wrap_client_key(key, client_id)
        row.kid = kid_of(row.wrapped_key)
        db.session.add(row)
    elif row.wrapped_key is None:
        key = None
    else:
        key = unwrap_client_key(row.wrapped_key, client_id)
    cache[client_id] = key
    return key


def destroy_client_key(client_id: str) -> bool:
    """Destroy the client's data key (the caller commits); False if it had none left."""
    row = _stored_client_key(client_id)
    _key_cache()[client_id] = None
    if row is None:
        row = ClientKey(client_id=client_id, created_at=utcnow())
        db.session.add(row)
    elif row.wrapped_key is None:
        return False
    # Overwritten first, so that no page keeps the wrapped key's bytes (see data-retention.md).
    row.wrapped_key = base64.urlsafe_b64encode(os.urandom(len(row.wrapped_key or ""))).decode()
    db.session.flush()
    row.wrapped_key = None
    row.kid = None
    row.destroyed_at = utcnow()
    db.session.flush()
    return True


def _client_aad(table: str, column: str, row_id: str, client_id: str) -> bytes:
    return "|".join((CLIENT_FORMAT, table, column, row_id, client_id)).encode()


def seal_for_client(
    plaintext: str, key: bytes, *, table: str, column: str, row_id: str, client_id: str
) -> str:
    """Encrypt text under a client's data key `key` (no database: migrations use it too)."""
    if not row_id or not client_id:
        raise ValueError("a row id and a client id are needed to bind the ciphertext")
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(
        nonce, plaintext.encode(), _client_aad(table, column, row_id, client_id)
    )
    return f"{CLIENT_FORMAT}." + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()


def open_for_client(
    token: str, key: bytes, *, table: str, column: str, row_id: str, client_id: str
) -> str:
    """Decrypt a value sealed under a client's data key `key`."""
    prefix, _, body = token.partition(".")
    if prefix != CLIENT_FORMAT or not body:
        raise DecryptionError("not a c1 ciphertext")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        plain = AESGCM(key).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _client_aad(table, column, row_id, client_id)
        )
    except (binascii.Error, ValueError, InvalidTag):
        raise DecryptionError(
            f"{table}.{column} of {row_id} does not authenticate under its client's key "
            "(altered or moved)"
        ) from None
    return plain.decode()


def wrap_client_key(key: bytes, client_id: str, ring: Mapping[str, bytes] | None = None) -> str:
    """A client's data key encrypted under the ring, as `ClientKey.wrapped_key` holds it."""
    return encrypt(
        base64.b64encode(key).decode(),
        table=ClientKey.__tablename__,
        column="wrapped_key",
        row_id=client_id,
        ring=ring,
    )


def unwrap_client_key(token: str, client_id: str, ring: Mapping[str, bytes] | None = None) -> bytes:
    plain = decrypt(
        token, table=ClientKey.__tablename__, column="wrapped_key", row_id=client_id, ring=ring
    )
    return base64.b64decode(plain)


def encrypt_for_client(
    plaintext: str, *, table: str, column: str, row_id: str, client_id: str
) -> str:
    """Encrypt text under the client's own data key, bound to its place and its client."""
    key = client_data_key(client_id, create=True)
    if key is None:
        raise ClientErased(client_id)
    return seal_for_client(
        plaintext, key, table=table, column=column, row_id=row_id, client_id=client_id
    )


def decrypt_for_client(
    token: str, *, table: str, column: str, row_id: str, client_id: str
) -> str | None:
    """Decrypt a value under the client's key; None when the key was destroyed (erased)."""
    key = client_data_key(client_id)
    if key is None:
        return None
    return open_for_client(
        token, key, table=table, column=column, row_id=row_id, client_id=client_id
    )


class Encrypted:
    """A model attribute whose value is kept encrypted in the text column `column`.

    Reading decrypts (bound to the row's id), writing encrypts under the current key.
    `codec` is "text", "date" (ISO date) or "json".

    `client` makes it a client's personal data: the attribute holding the owning client's id
    (or a function of the object giving it); the value is then under that client's own key,
    and reads of an erased client's value give `ERASED` (text) or None (date, json).
    """

    def __init__(
        self,
        column: str,
        codec: str = "text",
        *,
        client: str | Callable[[Any], str] | None = None,
    ) -> None:
        if codec not in ("text", "date", "json"):
            raise ValueError(f"unknown codec {codec}")
        self.column = column
        self.codec = codec
        self.name = column
        self.client = client

    def client_id_of(self, obj: Any) -> str | None:
        """The id of the client whose key the value is under (None: the key ring)."""
        if self.client is None:
            return None
        owner = self.client(obj) if callable(self.client) else getattr(obj, self.client)
        if not owner:
            raise ValueError(f"{type(obj).__name__} needs its client before '{self.name}' is set")
        return owner

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
        if token.startswith(CLIENT_FORMAT + "."):
            text = decrypt_for_client(token, **self._place(obj), client_id=self.client_id_of(obj))
            if text is None:
                return ERASED if self.codec == "text" else None
        else:
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
        client_id = self.client_id_of(obj)
        if client_id is None:
            setattr(obj, self.column, encrypt(text, **self._place(obj)))
        else:
            token = encrypt_for_client(text, **self._place(obj), client_id=client_id)
            setattr(obj, self.column, token)


def encrypted_fields(model: type) -> list[Encrypted]:
    """The Encrypted attributes of a model class (and its bases)."""
    seen: dict[str, Encrypted] = {}
    for klass in reversed(model.__mro__):
        for value in vars(klass).values():
            if isinstance(value, Encrypted):
                seen[value.name] = value
    return list(seen.values())


def stale_clause(model: type, kid: str) -> ColumnElement[bool]:
    """SQL that is true for rows holding any encrypted value under a key other than `kid`.

    A client's personal data under the client's own key is never stale (its key is re-wrapped
    instead); any of it still under the ring is, and moves to the client's key.
    """
    conditions = []
    for field in encrypted_fields(model):
        column = getattr(model, field.column)
        if field.client is not None:
            conditions.append(and_(column.is_not(None), column.like(f"{FORMAT_VERSION}.%")))
            continue
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
        if token is None or token.startswith(CLIENT_FORMAT + "."):
            continue
        if field.client is not None or kid_of(token) != kid:
            setattr(obj, field.name, getattr(obj, field.name))
            changed += 1
    return changed


class ClientKey(db.Model):
    """A client's own data key, wrapped under the key ring; NULL once the client is erased."""

    __tablename__ = "client_keys"

    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    #: base64 of the 256-bit key, encrypted under the ring (bound to this row).
    wrapped_key: Mapped[str | None] = mapped_column(Text)
    #: The ring key the wrapped key is under (None once destroyed).
    kid: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    destroyed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    #: Encrypted binds to `obj.id`; rotation orders by it.
    id = synonym("client_id")
    data_key = Encrypted("wrapped_key")
    #: Never loaded; it tells the unit of work to insert the client before its key.
    client = relationship("Client", lazy="raise")

    def rotate_keys(self, kid: str) -> tuple[int, int]:
        """Re-wrap the client's key under `kid` (the data under it stays as it is)."""
        changed = reencrypt(self, kid)
        self.kid = kid_of(self.wrapped_key) if self.wrapped_key else None
        return changed, 0
