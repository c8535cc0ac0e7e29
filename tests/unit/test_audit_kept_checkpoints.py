"""What counts as a checkpoint in a partner's kept file: shape rules, no database.

The verification of kept checkpoints against the chain is tested with a database in
tests/functional/test_audit_checkpoints.py; here only `parse_kept` and `kept_from_files`.
"""

from __future__ import annotations

import json

import pytest

from referral_hub.audit.checkpoints import kept_from_files, parse_kept

SERVED = {
    "entries": 3,
    "head": "a" * 64,
    "at": "2026-11-23T01:05:00Z",
    "key_id": "test1",
    "signature": "c2lnbmF0dXJl",
    "previous": None,
}


def test_a_checkpoint_is_read_as_served_as_an_events_data_or_in_a_list():
    assert parse_kept(SERVED) == [SERVED]
    assert parse_kept({"type": "audit.checkpoint", "data": SERVED}) == [SERVED]
    linked = {**SERVED, "entries": 7, "previous": "b" * 64}
    assert parse_kept([SERVED, {"data": linked}]) == [SERVED, linked]


def test_only_the_checkpoints_fields_are_kept():
    assert parse_kept({**SERVED, "links": {"self": "/x"}}) == [SERVED]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([], "the list is empty"),
        ("checkpoint", "expected a JSON object"),
        ([SERVED, 3], "expected a JSON object"),
        ({"entries": "many"}, "it lacks head, at, key_id, signature, previous"),
        ({**SERVED, "entries": 0}, "`entries` is not a positive whole number"),
        ({**SERVED, "entries": True}, "`entries` is not a positive whole number"),
        ({**SERVED, "entries": "3"}, "`entries` is not a positive whole number"),
        ({**SERVED, "head": "A" * 64}, "`head` is not 64 lowercase hex digits"),
        ({**SERVED, "head": "a" * 63}, "`head` is not 64 lowercase hex digits"),
        ({**SERVED, "previous": ""}, "`previous` is neither null nor 64 lowercase hex digits"),
        ({**SERVED, "key_id": 1}, "`key_id` and `signature` are strings"),
        ({**SERVED, "at": "2026-11-23T01:05:00+07:00"}, "`at` is not RFC 3339 UTC"),
        ({**SERVED, "at": "2026-11-23T01:05:00.5Z"}, "`at` is not RFC 3339 UTC"),
    ],
)
def test_anything_else_is_refused_with_its_reason(value, reason):
    with pytest.raises(ValueError, match="^" + reason.replace("(", r"\(")):
        parse_kept(value)


def test_a_file_that_holds_no_checkpoint_is_refused_by_its_name(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps([SERVED]), encoding="utf-8")
    junk = tmp_path / "junk.json"
    junk.write_text(json.dumps({"entries": "many"}), encoding="utf-8")
    assert kept_from_files([str(good)]) == [(str(good), SERVED)]
    with pytest.raises(ValueError, match=r"junk\.json: not a checkpoint"):
        kept_from_files([str(good), str(junk)])


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000, "{not json", ""],
    ids=["nested too deep", "not JSON", "empty"],
)
def test_a_file_the_parser_cannot_read_is_no_checkpoint(tmp_path, text):
    path = tmp_path / "kept.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"kept\.json: not a checkpoint"):
        kept_from_files([str(path)])


def test_a_missing_file_is_no_checkpoint(tmp_path):
    with pytest.raises(ValueError, match=r"absent\.json: not a checkpoint"):
        kept_from_files([str(tmp_path / "absent.json")])
