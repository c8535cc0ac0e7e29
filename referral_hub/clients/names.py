"""Whether a consent giver may be the guardian flagged as the alleged perpetrator, however spelt.

DOMAIN.md ("Consent givers"): names are compared after Unicode NFKC normalisation, case
folding, removal of invisible characters and of honorifics, and a close spelling is treated
as a match that a supervisor must clear. Pure functions, no database: the consent rules in
`operations` call them.

A name becomes a tuple of words:

1. NFKC: fullwidth and mathematical letters and ligatures become plain letters;
2. invisible characters go (format characters such as the zero-width space, soft hyphen
   and word joiner; the blank Hangul fillers, which are letters that show nothing);
3. accents go (NFKD, combining marks dropped): "Budí" is "Budi";
4. letters of other scripts that look like a Latin letter become it (Cyrillic i, a and o,
   Greek omicron), after Unicode's confusables list (UTS #39) as the confusable_homoglyphs
   package ships it;
5. case folding; every run of letters and digits is a word, anything else separates;
6. honorifics at the start go as whole words (Bapak, Pak, Ibu, Bu, Sdr., Sdri., H., Hj.
   and their written-out or usual short forms), unless nothing else is left.

Two names are the *same* when they hold the same words in any order, or the same letters
once the spaces are gone ("Budi\u200bSantoso"). They are *close* when every word of the
shorter name has its own near partner in the other (a word spelt within one or two edits,
or an initial: "Budi", "B. Santoso", "Budi Santosa"), or when the whole names are within
one or two edits of each other. Relationships are compared by role, with Indonesian and
English words for each ("ayah", "bapak", "father"; a stepfather is another role).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any, Literal

Resemblance = Literal["same", "close"]

#: Whole words dropped from the start of a name (DOMAIN.md's list, the written-out forms and
#: "Bpk.", the usual short form of Bapak).
HONORIFICS = frozenset(
    {
        "bapak",
        "bpk",
        "pak",
        "ibu",
        "bu",
        "sdr",
        "sdri",
        "saudara",
        "saudari",
        "h",
        "hj",
        "haji",
        "hajah",
        "hajjah",
    }
)
#: Letters that show nothing but are not format characters (Unicode Default_Ignorable_Code_Point
#: letters): the Hangul fillers.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_WORD = re.compile(r"[^\W_]+")
_SMALL_CAPITAL = re.compile(r"LATIN LETTER SMALL CAPITAL ([A-Z])")


@cache
def _confusables() -> dict[str, Any]:
    # Loaded on first use: the table (about 10,000 characters) is read only by processes
    # that compare names.
    from confusable_homoglyphs.confusables import confusables_data

    return confusables_data


@lru_cache(maxsize=4096)
def _latin_lookalike(char: str) -> str:
    """The ASCII letter (else digit) that `char` looks like, or `char` itself.

    The lower case is asked first: Unicode's list folds capital I into l, so the Cyrillic
    capital I (U+0406) is looked up as its small letter (U+0456), which is listed as i.
    """
    if char.isascii():
        return char
    table = _confusables()
    for wanted in (str.isalpha, str.isdigit):
        for form in dict.fromkeys((char.lower(), char)):
            for glyph in table.get(form, ()):
                candidate = glyph["c"]
                if len(candidate) == 1 and candidate.isascii() and wanted(candidate):
                    return candidate
    # Small capitals (U+0299, U+1D00...) are neither folded by NFKC nor all in the list.
    small_capital = _SMALL_CAPITAL.fullmatch(unicodedata.name(char, ""))
    return small_capital.group(1).lower() if small_capital else char


def _without_marks(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if unicodedata.category(ch)[0] != "M"
    )


def words(text: str) -> tuple[str, ...]:
    """The normalised words of a text (steps 1 to 5 of the module's list)."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(
        ch for ch in text if unicodedata.category(ch) != "Cf" and ch not in _BLANK_LETTERS
    )
    text = _without_marks(text)
    text = "".join(_latin_lookalike(ch) for ch in text)
    text = _without_marks(text.casefold())  # folding may bring marks back (İ -> i̇)
    return tuple(_WORD.findall(text))


def name_tokens(name: str) -> tuple[str, ...]:
    """A person's name as normalised words, honorifics at the start removed."""
    tokens = words(name)
    start = 0
    while start < len(tokens) and tokens[start] in HONORIFICS:
        start += 1
    return tokens[start:] if start < len(tokens) else tokens


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap of neighbours) that turn `a` into `b`."""
    if len(a) < len(b):
        a, b = b, a
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = char_a != char_b
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                best = min(best, before[j - 2] + 1)
            current.append(best)
        before, previous = previous, current
    return previous[-1]


def _allowed_edits(length: int) -> int:
    """Edits that still make a close spelling: none for 3 letters, one up to 7, then two."""
    if length <= 3:
        return 0
    return 1 if length <= 7 else 2


def _close_words(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) == 1 or len(b) == 1:  # an initial stands for any word it begins
        return a[0] == b[0]
    return edit_distance(a, b) <= _allowed_edits(max(len(a), len(b)))


def _every_word_has_a_partner(shorter: Iterable[str], longer: list[str]) -> bool:
    free = list(longer)
    for word in sorted(shorter, key=len, reverse=True):  # initials choose last
        partner = next((w for w in free if w == word), None)
        if partner is None:
            partner = next((w for w in free if _close_words(word, w)), None)
        if partner is None:
            return False
        free.remove(partner)
    return True


def compare_names(a: str, b: str) -> Resemblance | None:
    """ "same", "close" or None (different people, as far as names tell)."""
    words_a, words_b = list(name_tokens(a)), list(name_tokens(b))
    if not words_a or not words_b:
        return None
    joined_a, joined_b = "".join(words_a), "".join(words_b)
    if sorted(words_a) == sorted(words_b) or joined_a == joined_b:
        return "same"
    shorter, longer = sorted((words_a, words_b), key=len)
    if _every_word_has_a_partner(shorter, longer):
        return "close"
    if edit_distance(joined_a, joined_b) <= _allowed_edits(max(len(joined_a), len(joined_b))):
        return "close"
    return None


# --- relationships --------------------------------------------------------------------------

#: A word and the roles it names (two when it leaves the sex open).
_KIN: dict[str, tuple[str, ...]] = {}
for _role, _words in {
    ("father",): "ayah bapak bapa bpk pak papa papi abah abi babe father dad daddy",
    ("mother",): "ibu bu mama mami emak mak bunda umi ummi mother mom mum mommy mummy",
    ("grandfather",): "kakek opa datuk grandfather grandpa",
    ("grandmother",): "nenek oma grandmother grandma",
    ("grandfather", "grandmother"): "eyang mbah grandparent",
    ("uncle",): "paman om pakde pakdhe paklik pakcik uncle",
    ("aunt",): "bibi tante bude budhe bulik makcik aunt auntie",
    ("brother",): "abang bang mas brother",
    ("sister",): "mbak sister",
    ("brother", "sister"): "kakak adik saudara sibling",
    ("cousin",): "sepupu cousin",
    ("guardian",): "wali guardian",
}.items():
    for _word in _words.split():
        _KIN[_word] = _role
#: One word for a step-parent, in English.
_STEP_WORDS = {
    "stepfather": "father",
    "stepmother": "mother",
    "stepbrother": "brother",
    "stepsister": "sister",
}
#: Words that make another person of the same role: a stepfather is not the father.
_OTHER_PARENT = {"tiri": "step", "sambung": "step", "step": "step"}
_OTHER_PARENT |= {"angkat": "adoptive", "asuh": "adoptive", "adoptive": "adoptive"}
_OTHER_PARENT |= {"foster": "adoptive"}
#: Words that say nothing about who the person is ("ayah kandung" is the father).
_NEUTRAL = frozenset({"kandung", "biologis", "biological", "sah", "wali", "guardian"})
_MALE = frozenset({"laki", "lelaki", "pria", "kakung", "male"})
_FEMALE = frozenset({"perempuan", "wanita", "putri", "uti", "female"})


def relationship_roles(text: str) -> frozenset[str]:
    """The roles a relationship names ("step father", "mother", ...).

    The role is that of the first word that is neither a qualifier ("tiri", "kandung") nor
    "wali": Indonesian puts the head first, so "pacar ibu" (the mother's boyfriend) is not
    the mother, and "paman (wali)" is the uncle. A text whose head is no kinship word ("pacar
    ibu", "suami", "father's brother") is its own role, compared as written once normalised;
    "wali" alone is the role "guardian".
    """
    # An invisible character may join two words ("ayah\u200bkandung") or sit inside one:
    # both readings count.
    spaced = "".join(" " if unicodedata.category(ch) == "Cf" else ch for ch in text or "")
    if spaced != (text or ""):
        return _roles(words(text)) | _roles(words(spaced))
    return _roles(words(text))


def _roles(tokens: tuple[str, ...]) -> frozenset[str]:
    if not tokens:
        return frozenset()
    modifier = next((_OTHER_PARENT[t] for t in tokens if t in _OTHER_PARENT), "")
    at = next(
        (i for i, t in enumerate(tokens) if t not in _OTHER_PARENT and t not in _NEUTRAL), None
    )
    if at is None:
        guardian = any(t in ("wali", "guardian") for t in tokens)
        return frozenset({"guardian"} if guardian else {" ".join(tokens)})
    head = tokens[at]
    possessive = tokens[at + 1 : at + 2] == ("s",)  # "father's brother" is not the father
    if head in _STEP_WORDS and not possessive:
        return frozenset({f"step {_STEP_WORDS[head]}"})
    options = _KIN.get(head)
    if not options or options == ("guardian",) or possessive:
        return frozenset({" ".join(tokens)})
    rest = set(tokens[at + 1 :])
    if len(options) == 2 and rest & _MALE:
        options = options[:1]
    elif len(options) == 2 and rest & _FEMALE:
        options = options[1:]
    return frozenset(f"{modifier} {role}".strip() for role in options)


def same_relationship(a: str, b: str) -> bool:
    """Whether two relationships to the client may be one person's (the same role)."""
    return bool(relationship_roles(a) & relationship_roles(b))
