"""The hub's one way of writing a moment and a day, on pages, letters, e-mails and exports.

A moment reads "3 Des 2026, 12.58 WITA" (English "3 Dec 2026, 12:58 WITA"): the month
spelt out, so day, month and year leave nothing to guesswork, and the zone named, since a
hub in Makassar and a partner in Jakarta read the same hour differently. The zone is the
hub's own (referral_hub/clock.py), its short name WIB, WITA or WIT. A day reads
"3 Des 2026" ("3 Dec 2026"). Nothing else: Babel's "short" ("3/12/26 12.58"), its
"medium" ("3 Des 2026, 12.58") and bare ISO text are not shown to people.

Outside a request (the e-mail worker, an export built by the CLI) the language is the one
given, Indonesian by default.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.dates import format_date as babel_date
from babel.dates import format_time as babel_time
from flask import has_request_context
from flask_babel import get_locale

from referral_hub.clock import hub_zone

#: The patterns, by language; the time's separator follows each language's custom.
DAY = "d MMM y"
TIME = {"id": "HH.mm", "en": "HH:mm"}
LANGUAGES = ("id", "en")


def language(requested: str | None = None) -> str:
    """The language to write in: the one asked for, else the reader's, else Indonesian."""
    if requested is None and has_request_context():
        requested = str(get_locale() or "id")
    code = (requested or "id")[:2]
    return code if code in LANGUAGES else "id"


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware time")
        return value.astimezone(hub_zone()).date()
    return value if isinstance(value, dt.date) else None


def _as_moment(value: Any) -> dt.datetime | None:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware time")
    return value.astimezone(hub_zone())


def day(value: Any, lang: str | None = None) -> str:
    """A calendar day, "3 Des 2026"; a moment gives its day in the hub's zone; ISO text is
    read; anything else (none, text that is no date) is shown as it came."""
    parsed = _as_date(value)
    if parsed is None:
        return "" if value is None else str(value)
    return babel_date(parsed, DAY, locale=language(lang))


def moment(value: Any, lang: str | None = None) -> str:
    """A moment in the hub's time zone, "3 Des 2026, 12.58 WITA"; ISO text is read; a bare
    date is written as a day."""
    local = _as_moment(value)
    if local is None:
        return day(value, lang) if value else ""
    code = language(lang)
    clock = babel_time(local, TIME[code], locale=code)
    return f"{babel_date(local.date(), DAY, locale=code)}, {clock} {zone_name(local)}"


def zone_name(at: dt.datetime | None = None) -> str:
    """The hub zone's short name at a moment: WIB, WITA, WIT (else its offset, +0530)."""
    local = (at or dt.datetime.now(dt.UTC)).astimezone(hub_zone())
    name = local.tzname() or ""
    if name[:1] in "+-":  # zoneinfo names zones without an abbreviation by their offset
        return "UTC" + name
    return name
