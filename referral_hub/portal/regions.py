"""Regions in portal forms: the picker's choices, and what a person typed read as a code.

A region field is a text input with a `<datalist>` (no script: the CSP forbids inline
script, and the picker must work without JavaScript). The list offers the provinces, the
regencies and cities of the user's own province and the districts of the user's own
regency, each as "Name (code)"; anything else is typed, by name or code, and the server
reads it (`read_region`): a code or an unambiguous name becomes the code, an ambiguous or
unknown one comes back as an error that names the candidates.
"""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _

from referral_hub.accounts.session import current_user
from referral_hub.directory.regions import (
    LEVELS,
    Region,
    RegionNotResolved,
    get_region,
    region_label,
    resolve_region,
    search_regions,
)

__all__ = ["read_region", "region_example", "region_hint", "region_label", "region_options"]


def _own_region() -> str | None:
    user = current_user()
    org = getattr(user, "organization", None) if user is not None else None
    return getattr(org, "region_code", None)


def region_options(levels: tuple[int, ...] = LEVELS) -> list[Region]:
    """The picker's choices for the signed-in user, at the given levels."""
    key = ("region_options", tuple(levels))
    cache = g.setdefault("_region_options", {})
    if key in cache:
        return cache[key]
    own = get_region(_own_region())
    # "64.09.01" -> ["64", "64.09"]: the user's province, then regency
    parts = own.code.split(".") if own is not None else []
    chain = [".".join(parts[:n]) for n in range(1, min(len(parts), 2) + 1)]
    options: list[Region] = []
    if 1 in levels:
        options += search_regions(level=1)
    if 2 in levels and chain:
        options += search_regions(parent=chain[0], level=2)
    if 3 in levels and len(chain) > 1:
        options += search_regions(parent=chain[1], level=3)
    cache[key] = options
    return options


def region_example() -> Region | None:
    """A region to show in a hint, from the user's own part of the country (never a fixed
    province): the user's regency or city, else the first in its province, else the first
    province."""
    own = get_region(_own_region())
    if own is not None and own.level >= 2:
        return get_region(".".join(own.code.split(".")[:2])) or own
    if own is not None:
        children = search_regions(parent=own.code, level=2)
        return children[0] if children else own
    provinces = search_regions(level=1)
    return provinces[0] if provinces else None


def region_hint() -> str:
    """The hint under a region field: type a name or a code, with an example of each."""
    example = region_example()
    if example is None:
        return _("Ketik nama atau kode Kemendagri wilayahnya.")
    return _(
        "Ketik nama atau kode Kemendagri, mis. %(name)s atau %(code)s.",
        name=example.name,
        code=example.code,
    )


def read_region(
    values: dict, errors: dict[str, list[str]], name: str, levels: tuple[int, ...] = LEVELS
) -> str | None:
    """Read the field `name` as a region code (in `values` too); an error when it is none."""
    text = (values.get(name) or "").strip()
    if not text:
        return None
    try:
        region = resolve_region(text, levels=levels)
    except RegionNotResolved as unresolved:
        if unresolved.candidates:
            names = "; ".join(r.label for r in unresolved.candidates)
            message = _(
                "Ada beberapa wilayah bernama \u201c%(text)s\u201d: %(names)s. Pilih salah satu.",
                text=text,
                names=names,
            )
        else:
            message = _("Wilayah \u201c%(text)s\u201d tidak ditemukan.", text=text)
            message += " " + region_hint()
        errors.setdefault(name, []).append(message)
        return None
    values[name] = region.code
    return region.code
