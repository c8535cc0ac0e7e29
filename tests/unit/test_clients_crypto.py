"""Encryption at rest: a value decrypts only where it was written, under a key of the ring."""

from __future__ import annotations

import base64

import pytest

from referral_hub.clients.crypto import (
    DecryptionError,
    decrypt,
    encrypt,
    kid_of,
    nik_blind_index,
    nik_index_candidates,
)

KEY_A = b"a" * 32
KEY_B = b"b" * 32
RING = {"a": KEY_A}
PLACE = {"table": "clients", "column": "full_name_enc", "row_id": "row1"}


def _flip_byte(token: str, position: int) -> str:
    version, kid, body = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[position] ^= 0x01
    return f"{version}.{kid}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


def test_round_trip_names_version_and_key():
    token = encrypt("Siti Aminah", ring=RING, **PLACE)
    assert token.startswith("v1.a.")
    assert kid_of(token) == "a"
    assert "Siti" not in token
    assert decrypt(token, ring=RING, **PLACE) == "Siti Aminah"


def test_each_value_gets_its_own_nonce():
    assert encrypt("same", ring=RING, **PLACE) != encrypt("same", ring=RING, **PLACE)


def test_new_values_use_the_first_key_and_old_keys_still_read():
    old = encrypt("x", ring=RING, **PLACE)
    ring = {"b": KEY_B, "a": KEY_A}
    assert kid_of(encrypt("x", ring=ring, **PLACE)) == "b"
    assert decrypt(old, ring=ring, **PLACE) == "x"


@pytest.mark.parametrize("position", [0, 11, 12, 15, -1])
def test_one_changed_byte_anywhere_fails(position):
    token = encrypt("Siti Aminah", ring=RING, **PLACE)
    with pytest.raises(DecryptionError):
        decrypt(_flip_byte(token, position), ring=RING, **PLACE)


@pytest.mark.parametrize(
    "elsewhere",
    [
        {"row_id": "row2"},
        {"column": "address_enc"},
        {"table": "consents"},
    ],
    ids=["another row", "another column", "another table"],
)
def test_a_ciphertext_moved_elsewhere_fails(elsewhere):
    token = encrypt("Siti Aminah", ring=RING, **PLACE)
    with pytest.raises(DecryptionError):
        decrypt(token, ring=RING, **{**PLACE, **elsewhere})


def test_relabelling_the_key_id_fails_even_with_the_same_key():
    token = encrypt("x", ring=RING, **PLACE)
    relabelled = "v1.b." + token.split(".", 2)[2]
    with pytest.raises(DecryptionError):
        decrypt(relabelled, ring={"a": KEY_A, "b": KEY_A}, **PLACE)


def test_a_key_missing_from_the_ring_is_named():
    token = encrypt("x", ring=RING, **PLACE)
    with pytest.raises(DecryptionError, match="HUB_DATA_KEYS"):
        decrypt(token, ring={"b": KEY_B}, **PLACE)


@pytest.mark.parametrize("token", ["", "plain text", "v2.a.AAAA", "v1.a.!!!", "v1.a.AAAA"])
def test_garbage_is_refused(token):
    with pytest.raises(DecryptionError):
        decrypt(token, ring=RING, **PLACE)


def test_a_row_id_is_required():
    with pytest.raises(ValueError, match="row id"):
        encrypt("x", ring=RING, **{**PLACE, "row_id": ""})


def test_blind_index_ignores_separators_and_hides_the_nik():
    kid, digest = nik_blind_index("3171 0101-0101.0001", "org1", ring=RING)
    assert kid == "a"
    assert (kid, digest) == nik_blind_index("3171010101010001", "org1", ring=RING)
    assert len(digest) == 64
    assert "3171010101010001" not in digest


def test_blind_index_differs_per_organisation_and_per_key():
    ring = {"a": KEY_A, "b": KEY_B}
    in_one = nik_blind_index("3171010101010001", "org1", "a", ring)
    assert in_one != nik_blind_index("3171010101010001", "org2", "a", ring)
    assert in_one[1] != nik_blind_index("3171010101010001", "org1", "b", ring)[1]


def test_lookup_candidates_cover_every_key_of_the_ring():
    ring = {"b": KEY_B, "a": KEY_A}
    stored_under_old_key = nik_blind_index("3171010101010001", "org1", ring=RING)
    candidates = nik_index_candidates("3171010101010001", "org1", ring)
    assert [kid for kid, _ in candidates] == ["b", "a"]
    assert stored_under_old_key in candidates
