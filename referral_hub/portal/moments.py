"""Moments as people read them on a page: "2 Jan 2030, 09.30" in the hub's time zone.

Babel's "short" format ("02/01/30 09.30") leaves day, month and year to guesswork, which
matters for an appointment or a deadline; this spells the month out.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import format_datetime, get_locale

PATTERNS = {"id": "d MMM y, HH.mm", "en": "d MMM y, HH:mm"}


def moment(value: dt.datetime | None) -> str:
    """A moment with the month spelt out, in the hub's time zone and the reader's language."""
    if value is None:
        return ""
    language = str(get_locale() or "id")[:2]
    return format_datetime(value, PATTERNS.get(language, PATTERNS["id"]))
