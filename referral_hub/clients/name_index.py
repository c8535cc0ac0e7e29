"""The searchable index of clients' names: keyed HMACs of normalised name terms.

A client's name is stored only encrypted (crypto.py), so it cannot be searched with SQL. The
index keeps, per client, HMAC-SHA256 values of *terms* derived from the name, under a key
derived (HKDF, info "name-blind-index") from a data key of the ring, the key id stored next
to each value, exactly as the NIK's blind index is. docs/design.md ("Finding clients by
name") says what the index reveals to someone holding the database without the key.

Terms, after normalisation (`index_words`):

- ``token``: each word, and each pair of neighbouring words joined ("Nur Aini" also gives
  "nuraini", so it meets "Nuraini");
- ``sound``: the consonant skeleton of each of those (`skeleton`), so old and new spellings
  and doubled or dropped vowels meet ("Djoko Soesilo" and "Joko Susilo");
- ``prefix``: every prefix of 3 letters or more of each word, for the search box ("amin"
  finds "Aminah").

Each kind is padded with random values to a fixed number of rows per client (rounded up when
a long name needs more), so the number of rows says nothing about the name's length. Pure
functions, no database, except `client_terms` which builds the rows for one client.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import re
from collections.abc import Mapping

from referral_hub.clients.crypto import current_kid, derived_key, key_ring
from referral_hub.clients.names import HONORIFICS, words

NAME_INDEX_INFO = b"name-blind-index"
KINDS = ("token", "sound", "prefix")
#: Why a client may be the same person, in the order a person reads them.
MATCH_REASONS = ("nik", "name_same", "name_close", "age", "region")
#: Rows per client and kind: real terms, then random values up to this (or its next multiple).
PADDED_TO = {"token": 8, "sound": 8, "prefix": 40}
#: Words that join a name to a parent's ("Siti binti Ahmad") or are a title anywhere in it.
CONNECTORS = frozenset({"bin", "binti", "binte", "bt", "bte", "bint"})
DROPPED = HONORIFICS | CONNECTORS
#: The shortest prefix indexed, and so the shortest word the search box looks for.
MIN_PREFIX = 3
#: The longest text a name search takes (API and portal): longer is refused as too long.
MAX_SEARCH_TEXT = 200
#: Old (pre-1972) spellings and letters Indonesian names write in two ways, rewritten in
#: order: "Djoko" is "Joko", "Soeharto" "Suharto", "Chairul" "Hairul", "Zainab" stays.
_SPELLINGS = (
    ("oe", "u"),
    ("dj", "j"),
    ("tj", "c"),
    ("sj", "sy"),
    ("ch", "h"),
    ("kh", "h"),
    ("sy", "s"),
    ("sh", "s"),
    ("ph", "f"),
    ("th", "t"),
    ("dh", "d"),
    ("q", "k"),
    ("x", "ks"),
    ("v", "f"),
    ("f", "p"),  # Yusuf and Yusup, Fatimah and Patimah
    ("y", "i"),
    ("w", "u"),
)
_REPEATS = re.compile(r"(.)\1+")
_VOWELS = frozenset("aeiou")


def collapse(word: str) -> str:
    """A word with every run of one letter written once ("Aminnah" is "aminah")."""
    return _REPEATS.sub(r"\1", word)


def index_words(name: str) -> tuple[str, ...]:
    """A name's words as the index sees them: normalised as clients.names does (look-alike
    letters, accents, case), titles and "bin"/"binti" dropped wherever they are (unless
    nothing else is left), repeated letters collapsed."""
    found = words(name)
    kept = tuple(w for w in found if w not in DROPPED) or found
    return tuple(collapse(w) for w in kept)


def respell(word: str) -> str:
    """A word in today's spelling, for comparing old and new forms of one name."""
    for old, new in _SPELLINGS:
        word = word.replace(old, new)
    return collapse(word)


def skeleton(word: str) -> str:
    """The sound key of a word: respelt, first letter kept, then its consonants without "h",
    repeats collapsed ("Aminah", "Aminnah" and "Amina" are all "amn")."""
    word = respell(word)
    if not word:
        return ""
    rest = "".join(ch for ch in word[1:] if ch not in _VOWELS and ch != "h")
    return collapse(word[0] + rest)


def name_terms(name: str) -> dict[str, set[str]]:
    """The terms of a name, by kind (before HMAC)."""
    found = [w for w in index_words(name) if len(w) >= 2]
    joined = [a + b for a, b in itertools.pairwise(found)]
    tokens = set(found) | set(joined)
    sounds = {s for s in map(skeleton, tokens) if len(s) >= 2}
    prefixes = {w[:n] for w in found for n in range(MIN_PREFIX, len(w) + 1)}
    return {"token": tokens, "sound": sounds, "prefix": prefixes}


def match_terms(name: str) -> dict[str, set[str]]:
    """The terms a possible duplicate is looked up by: its words, pairs and sounds."""
    terms = name_terms(name)
    return {"token": terms["token"], "sound": terms["sound"]}


def search_problem(text: str) -> str | None:
    """Why a name search's text cannot be looked up: "too-long" (over MAX_SEARCH_TEXT
    characters), "too-short" (no word of MIN_PREFIX letters), or None when it can."""
    if len(text) > MAX_SEARCH_TEXT:
        return "too-long"
    return None if search_words(text) else "too-short"


def search_words(text: str) -> tuple[str, ...]:
    """The words of a search box's text that the index can look up (3 letters or more)."""
    return tuple(dict.fromkeys(w for w in index_words(text) if len(w) >= MIN_PREFIX))


def term_hmac(
    kind: str,
    term: str,
    organization_id: str,
    kid: str | None = None,
    ring: Mapping[str, bytes] | None = None,
) -> tuple[str, str]:
    """(kid, HMAC-SHA256 hex) of a term of one organisation's client names.

    As with the NIK: the key is derived from data key `kid` for this purpose alone, and the
    organisation's id and the term's kind are part of the message, so two units' (or two
    kinds') equal terms have unrelated values.
    """
    ring = ring or key_ring()
    kid = kid or current_kid(ring)
    digest = hmac.new(
        derived_key(ring[kid], NAME_INDEX_INFO),
        f"{organization_id}:{kind}:{term}".encode(),
        hashlib.sha256,
    ).hexdigest()
    return kid, digest


def term_candidates(
    kind: str, term: str, organization_id: str, ring: Mapping[str, bytes] | None = None
) -> list[tuple[str, str]]:
    """The (kid, value) pairs a term may be stored under, one per key of the ring."""
    ring = ring or key_ring()
    return [term_hmac(kind, term, organization_id, kid, ring) for kid in ring]


def padded_rows(
    name: str, organization_id: str, kid: str | None = None
) -> list[tuple[str, str, str]]:
    """(kind, kid, value) rows for a name: real terms, then random values to the padded size,
    in random order."""
    kid = kid or current_kid()
    rows: list[tuple[str, str, str]] = []
    for kind, terms in name_terms(name).items():
        values = [term_hmac(kind, t, organization_id, kid)[1] for t in sorted(terms)]
        size = PADDED_TO[kind]
        target = max(size, -(-len(values) // size) * size)
        values += [os.urandom(32).hex() for _ in range(target - len(values))]
        rows.extend((kind, kid, v) for v in values)
    rows.sort(key=lambda row: row[2])  # random values: the stored order tells nothing
    return rows
