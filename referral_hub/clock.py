"""The hub's local clock: its time zone (HUB_TIMEZONE), and the calendar day in it.

One hub serves one place: Kalimantan Timur runs on WITA (Asia/Makassar, the default), a
Yogyakarta hub on WIB (Asia/Jakarta), a Papua hub on WIT (Asia/Jayapura). Every "today"
(an agreement's first and last day, a consent's last day, a client's age, the year in a
reference number) and every time the portal shows are those of the configured zone, so a
day begins at the hub's own midnight, whatever the server's clock says.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import lru_cache

from flask import current_app, has_app_context

from referral_hub.db import utcnow

DEFAULT_TIMEZONE = "Asia/Makassar"


@lru_cache(maxsize=8)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def hub_zone() -> zoneinfo.ZoneInfo:
    """The hub's time zone: HUB_TIMEZONE of the running app (Asia/Makassar outside one)."""
    name = DEFAULT_TIMEZONE
    if has_app_context():
        name = current_app.config.get("HUB_TIMEZONE") or DEFAULT_TIMEZONE
    return _zone(name)


def local_date(at: dt.datetime | dt.date | None = None) -> dt.date:
    """The calendar day in the hub's time zone at a moment (now by default); dates pass
    through."""
    if at is None:
        at = utcnow()
    if isinstance(at, dt.datetime):
        if at.tzinfo is None:
            raise ValueError("naive datetime: pass an aware time")
        return at.astimezone(hub_zone()).date()
    return at


def start_of_day(day: dt.date) -> dt.datetime:
    """The UTC moment a calendar day begins in the hub's time zone."""
    return dt.datetime.combine(day, dt.time(), tzinfo=hub_zone()).astimezone(dt.UTC)


def zone_label(at: dt.datetime | None = None) -> str:
    """The zone's short name at a moment (WIB, WITA, WIT; else the offset, e.g. +0530)."""
    return (at or utcnow()).astimezone(hub_zone()).tzname() or ""
