"""Names and relationships of consent givers compared with a flagged guardian's, however spelt."""

from __future__ import annotations

import pytest

from referral_hub.clients.names import (
    compare_names,
    edit_distance,
    name_tokens,
    relationship_roles,
    same_relationship,
)

GUARDIAN = "Budi Santoso"


@pytest.mark.parametrize(
    ("written", "tokens"),
    [
        ("Budi Santoso", ("budi", "santoso")),
        ("  budi   SANTOSO ", ("budi", "santoso")),
        ("Budí Santoso", ("budi", "santoso")),  # a precomposed accent
        ("Budi\u0301 Santoso", ("budi", "santoso")),  # a combining accent
        ("Bud\u0456 Santoso", ("budi", "santoso")),  # Cyrillic small i (U+0456)
        # Cyrillic capital Ve, small a and o
        ("\u0412udi S\u0430nt\u043es\u043e", ("budi", "santoso")),
        ("\u0392udi S\u03b1nt\u03bfso", ("budi", "santoso")),  # Greek Beta, alpha, omicron
        ("Bud\u0131 Santoso", ("budi", "santoso")),  # Latin dotless i
        # fullwidth letters and space
        (
            "\uff22\uff35\uff24\uff29\u3000\uff33\uff41\uff4e\uff54\uff4f\uff53\uff4f",
            ("budi", "santoso"),
        ),
        # mathematical bold
        ("\U0001d401\U0001d42e\U0001d41d\U0001d422 Santoso", ("budi", "santoso")),
        ("Budi\u200bSantoso", ("budisantoso",)),  # zero-width space joins
        ("Budi Santo\u200bso", ("budi", "santoso")),
        ("Bu\u00addi San\u2060toso\ufeff", ("budi", "santoso")),  # soft hyphen, joiner, BOM
        ("Budi\u3164 Santoso", ("budi", "santoso")),  # Hangul filler, a blank letter
        ("Bapak Budi Santoso", ("budi", "santoso")),
        ("Bpk. H. Budi Santoso", ("budi", "santoso")),
        ("Pak Budi", ("budi",)),
        ("Sdr. Budi", ("budi",)),
        ("Sdri. Siti", ("siti",)),
        ("Hj. Siti Aminah", ("siti", "aminah")),
        ("Ibu Siti", ("siti",)),
        ("Bu Siti", ("siti",)),
        ("Santoso, Budi", ("santoso", "budi")),
        ("Budi Pak", ("budi", "pak")),  # honorifics only at the start
        ("Ibu", ("ibu",)),  # a name that is only an honorific is kept
        ("", ()),
        ("\u200b \u200d", ()),
    ],
)
def test_names_are_normalised_before_comparing(written, tokens):
    assert name_tokens(written) == tokens


#: Each spelling that passed for the flagged guardian "Budi Santoso" (issue 11), and what it is.
DODGES = [
    ("Budi Santoso", "same"),
    ("budi  SANTOSO", "same"),
    ("Santoso, Budi", "same"),
    ("Budí Santoso", "same"),
    ("Bud\u0456 Santoso", "same"),  # Cyrillic small i (U+0456)
    ("\uff22\uff55\uff44\uff49 \uff33\uff41\uff4e\uff54\uff4f\uff53\uff4f", "same"),  # fullwidth
    ("Budi\u200bSantoso", "same"),  # zero-width space, the words run together
    ("Budi Santo\u200bso", "same"),
    ("Bapak Budi Santoso", "same"),
    ("H. Budi Santoso", "same"),
    ("BudiSantoso", "same"),
    ("Bapak Budi", "close"),  # a word of the name, behind an honorific
    ("Budi", "close"),
    ("Santoso", "close"),
    ("Budi Santosa", "close"),  # one letter off
    ("Budy Santoso", "close"),
    ("Budi Snatoso", "close"),  # two letters swapped
    ("Budi Santoso Wijaya", "close"),
    ("B. Santoso", "close"),  # an initial
    ("Budi S.", "close"),
    ("BudiSantosa", "close"),
    ("Bud\u0456 Sant\u043esa", "close"),
    ("Budi Sant0so", "close"),  # a digit for a letter
]


@pytest.mark.parametrize(("giver", "expected"), DODGES)
def test_spellings_of_the_flagged_guardian_are_caught(giver, expected):
    assert compare_names(giver, GUARDIAN) == expected
    assert compare_names(GUARDIAN, giver) == expected  # the same either way round


#: Different people, who must be able to consent without anyone's clearance.
OTHERS = [
    "Siti Aminah",
    "Budiman Sutrisno",
    "Budi Hartono",
    "Agus Santika",
    "Rina Wulandari",
    "Ibu Sri Rahayu",
    "Bapak Joko Widodo",
    "Hj. Nur Aini",
    "Santi",
    "Bu",
    "",
]


@pytest.mark.parametrize("giver", OTHERS)
def test_other_people_are_not_matched(giver):
    assert compare_names(giver, GUARDIAN) is None


def test_a_short_name_alone_must_be_spelt_exactly():
    assert compare_names("Ani", "Ana") is None
    assert compare_names("Ani Lestari", "Ana Lestari") == "close"  # one letter of a whole name
    assert compare_names("Ani", "Ani Lestari") == "close"


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("budi", "budi", 0),
        ("budi", "", 4),
        ("budi", "budy", 1),
        ("santoso", "snatoso", 1),  # a transposition is one edit
        ("santoso", "santosa", 1),
        ("budiman", "budi", 3),
        ("kitten", "sitting", 3),
    ],
)
def test_edit_distance_counts_transpositions_as_one_edit(a, b, distance):
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("ayah", "ayah kandung", True),
        ("Ayah", "bapak", True),
        ("bapak kandung", "father", True),
        ("Papa", "ayah", True),
        ("ibu kandung", "mother", True),
        ("ibu", "mama", True),
        ("ayah tiri", "stepfather", True),
        ("ayah tiri", "step-father", True),
        ("ayah tiri", "ayah", False),  # the stepfather is another man than the father
        ("ayah angkat", "ayah kandung", False),
        ("ayah", "ibu", False),
        ("paman", "om", True),
        ("paman", "uncle", True),
        ("paman (wali)", "paman", True),
        ("bibi (wali)", "paman (wali)", False),  # both guardians, different people
        ("wali", "wali", True),
        ("kakek", "eyang kakung", True),
        ("nenek", "eyang kakung", False),
        ("eyang", "nenek", True),  # eyang alone may be either grandparent
        ("kakak laki-laki", "abang", True),
        ("kakak perempuan", "abang", False),
        ("kakak", "brother", True),
        ("biological father", "ayah", True),
        ("pacar ibu", "ibu kandung", False),  # the mother's boyfriend is not the mother
        ("kakak ayah", "ayah", False),  # nor is the father's elder sibling the father
        ("father's brother", "father", False),
        ("wali (paman)", "om", True),
        ("suami", "Suami", True),
        ("tetangga", "Tetangga", True),  # unknown words: compared as written
        ("tetangga", "guru", False),
        ("", "ayah", False),
    ],
)
def test_relationships_are_compared_with_their_synonyms(a, b, same):
    assert same_relationship(a, b) is same
    assert same_relationship(b, a) is same


def test_a_relationship_names_its_roles():
    assert relationship_roles("Ayah Kandung") == frozenset({"father"})
    assert relationship_roles("ayah tiri") == frozenset({"step father"})
    assert relationship_roles("kakak") == frozenset({"brother", "sister"})
    assert relationship_roles("") == frozenset()
