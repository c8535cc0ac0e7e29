"""An entry's hash: the fast digest is byte for byte the canonical JSON rule, for any value."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import uuid

import pytest

from referral_hub.audit.chain import HASHED_FIELDS, canonical, entry_digest, entry_hash
from referral_hub.db import isoformat

PREV = "ab" * 32


def _reference(prev_hash: str, fields: dict) -> str:
    """The rule as first written: json.dumps with sorted keys, compact, UTF-8."""
    text = json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(prev_hash.encode() + b"\n" + text.encode()).hexdigest()


def _entry(**changes) -> dict:
    fields = {
        "seq": 42,
        "at": "2026-11-22T15:11:44.123456Z",
        "actor_kind": "user",
        "actor_user_id": "01JC0USER0000000000000000A",
        "actor_client_id": None,
        "actor_label": "Siti Rahmawati",
        "organization_id": "01JC0ORG00000000000000000A",
        "subject_organization_id": None,
        "action": "referral.sent",
        "object_type": "referral",
        "object_id": "01JC0REF00000000000000000A",
        "detail": {"number": "RJ-PPU-2026-000042", "service": "psychological_counseling"},
    }
    fields.update(changes)
    assert tuple(fields) == HASHED_FIELDS
    return fields


STRINGS = [
    "",
    "plain",
    "Dinas P3A Kalimantan Timur — Ibu Siti",  # non-ASCII punctuation
    "Perempuan & Anak: \"pendampingan\" 'hukum'",
    "back\\slash / slash",
    "line\nbreak\ttab\rreturn\bback\fform",
    "\x00\x01\x1f\x7f control",
    "émoji 👩‍👧 and 中文 and العربية",
    "\u2028\u2029 separators",
    "\ud7ff\ue000\uffff",
]

VALUES = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    -(2**70),
    0.1,
    -0.0,
    1e16,
    1.5e-7,
    123456789.125,
    3.141592653589793,
    float(2**53 + 1),
    [],
    {},
    [None, [], [[]], {"": {}}],
    *STRINGS,
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_any_detail_value_hashes_as_the_rule(value):
    fields = _entry(detail={"value": value, "nested": [value, {"v": value}]})
    assert entry_hash(PREV, fields) == _reference(PREV, fields)


@pytest.mark.parametrize("text", STRINGS, ids=repr)
@pytest.mark.parametrize("field", [f for f in HASHED_FIELDS if f not in ("seq", "at", "detail")])
def test_any_text_in_a_column_hashes_as_the_rule(field, text):
    fields = _entry(**{field: text})
    assert entry_hash(PREV, fields) == _reference(PREV, fields)


def test_keys_sort_by_code_point_at_every_depth():
    detail = {
        "b": 1,
        "B": 2,
        "a": {"z": 1, "é": 2, "e": 3, "Z": 4, "😀": 5, "\uffff": 6, "": 7},
        "_": [{"y": 1, "x": 2}],
        "10": 1,
        "9": 2,
    }
    fields = _entry(detail=detail)
    assert entry_hash(PREV, fields) == _reference(PREV, fields)
    assert canonical({"b": 1, "a": {"d": 1, "c": 2}}) == b'{"a":{"c":2,"d":1},"b":1}'


def test_values_of_other_types_hash_as_the_rule():
    # The writer hashes what the code handed it; default=str covers what JSON has no type for.
    odd = _entry(
        seq=7,
        object_id=uuid.UUID(int=5),
        actor_label=3,
        at=isoformat(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
        detail={"when": dt.date(2026, 1, 2), "id": uuid.UUID(int=6)},
    )
    assert entry_hash(PREV, odd) == _reference(PREV, odd)
    assert odd["at"] == "2026-01-02T03:04:05Z"


def _random_json(rng: random.Random, depth: int = 0):
    kinds = ["null", "bool", "int", "float", "str"] + (["list", "dict"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice([rng.randint(-10, 10), rng.randint(-(2**80), 2**80)])
    if kind == "float":
        return rng.choice(
            [
                rng.uniform(-1e6, 1e6),
                rng.random() * 10 ** rng.randint(-30, 30),
                float(rng.randint(0, 99)),
            ]
        )
    if kind == "str":
        return _random_text(rng)
    if kind == "list":
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_random_text(rng): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def _random_text(rng: random.Random) -> str:
    alphabet = 'aAzZ09 _-"\\/\n\t\x00\x1f\x7fé—中😀\u2028'
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))


def test_random_entries_hash_as_the_rule():
    rng = random.Random(20261122)
    for seq in range(1, 2001):
        fields = _entry(
            seq=seq,
            actor_label=rng.choice([None, _random_text(rng)]),
            object_id=rng.choice([None, _random_text(rng)]),
            detail={_random_text(rng): _random_json(rng) for _ in range(rng.randint(0, 6))},
        )
        # Stored as the column stores it, read back as the verifier reads it.
        fields["detail"] = json.loads(json.dumps(fields["detail"]))
        assert entry_hash(PREV, fields) == _reference(PREV, fields), fields


def test_digest_takes_the_fields_in_column_order():
    fields = _entry()
    assert entry_digest(PREV, *fields.values()) == _reference(PREV, fields)
