"""The name index's terms: what a name becomes before it is keyed (name_index.py)."""

from __future__ import annotations

import pytest

from referral_hub.clients.name_index import (
    index_words,
    name_terms,
    search_words,
    skeleton,
    term_hmac,
)

RING = {"k1": b"1" * 32, "k2": b"2" * 32}


def test_titles_and_bin_binti_go_wherever_they_are_and_doubled_letters_collapse():
    assert index_words("Ibu Hj. Siti Aminnah binti Ahmad") == ("siti", "aminah", "ahmad")
    assert index_words("Bin") == ("bin",)  # nothing else left: kept


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Aminah", "Aminnah"),
        ("Aminah", "Amina"),
        ("Djoko", "Joko"),
        ("Soesilo", "Susilo"),
        ("Chairul", "Khairul"),
        ("Yusuf", "Yusup"),
    ],
)
def test_spellings_of_one_name_sound_alike(a, b):
    assert skeleton(index_words(a)[0]) == skeleton(index_words(b)[0])


def test_neighbouring_words_are_also_indexed_joined():
    assert "nuraini" in name_terms("Nur Aini")["token"]
    assert name_terms("Nuraini")["token"] == {"nuraini"}


def test_prefixes_start_at_three_letters():
    assert name_terms("Siti")["prefix"] == {"sit", "siti"}
    assert search_words("si amin") == ("amin",)


def test_a_terms_value_depends_on_the_unit_the_kind_and_the_key():
    one = term_hmac("token", "siti", "org-a", "k1", RING)
    assert one == term_hmac("token", "siti", "org-a", "k1", RING)
    others = {
        term_hmac("token", "siti", "org-b", "k1", RING),
        term_hmac("prefix", "siti", "org-a", "k1", RING),
        term_hmac("token", "siti", "org-a", "k2", RING),
    }
    assert one not in others
    assert len({v for _, v in others}) == 3
