"""A list page's filters from its query string (referrals, cases, intakes): the values to
show back in the form, and the errors of those not understood, which are then not applied."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from flask import request
from flask_babel import gettext as _


def read_filters(
    *,
    text: Iterable[str] = (),
    choices: Mapping[str, Collection[str]] | None = None,
    dates: Iterable[str] = (),
    flags: Iterable[str] = (),
    source: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Free text (at most 100 characters), values from a closed list, days (YYYY-MM-DD) and
    check boxes; a choice or day not understood is refused with a message and left empty."""
    args = request.args if source is None else source
    choices = choices or {}
    dates = tuple(dates)
    names = (*text, *choices, *dates)
    values: dict[str, Any] = {name: (args.get(name) or "").strip()[:100] for name in names}
    values.update({name: args.get(name) in ("1", "on") for name in flags})
    errors: dict[str, list[str]] = {}
    for name, allowed in choices.items():
        if values[name] and values[name] not in allowed:
            errors[name] = [
                _("Pilih dari daftar.") if name != "status" else _("Pilih status dari daftar.")
            ]
            values[name] = ""
    for name in dates:
        if values[name]:
            try:
                dt.date.fromisoformat(values[name])
            except ValueError:
                errors[name] = [_("Tulis tanggal seperti 2026-12-31.")]
                values[name] = ""
    return values, errors


def day(text: str) -> dt.date | None:
    """A day read by read_filters (already checked), or None when left empty."""
    return dt.date.fromisoformat(text) if text else None


def query_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The filters that hold something, to keep them in a link or a hidden field."""
    return {name: value for name, value in values.items() if value}
