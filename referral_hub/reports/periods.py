"""Report periods: a month, a quarter, a year, or custom dates (calendar days in WITA)."""

from __future__ import annotations

import calendar
import datetime as dt
import re

from referral_hub.problems import Problem
from referral_hub.reports.registry import WITA, Period

#: Longest custom period: ten years of figures are more than any report needs.
MAX_DAYS = 3700
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def today() -> dt.date:
    return dt.datetime.now(WITA).date()


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, "validation-error", message, errors={field: [message]})


def named_period(text: str) -> Period:
    """ "2026" (a year), "2026-Q2" (a quarter), "2026-03" (a month)."""
    if match := _YEAR.match(text):
        year = int(match[1])
        return Period(dt.date(year, 1, 1), dt.date(year, 12, 31))
    if match := _QUARTER.match(text):
        year, quarter = int(match[1]), int(match[2])
        first = 3 * quarter - 2
        last = first + 2
        return Period(
            dt.date(year, first, 1), dt.date(year, last, calendar.monthrange(year, last)[1])
        )
    if (match := _MONTH.match(text)) and 1 <= int(match[2]) <= 12:
        year, month = int(match[1]), int(match[2])
        return Period(
            dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
        )
    raise _invalid("period", "Give a year (2026), a quarter (2026-Q2) or a month (2026-03).")


def _day(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _invalid(field, "Give a date as YYYY-MM-DD.") from None


def resolve_period(
    start: str | dt.date | None, end: str | dt.date | None, period: str | None = None
) -> Period:
    """The period asked: `period` by name, else `from`/`to` (either may be left out: the
    year's first day, today); nothing at all is this year to date."""
    if period:
        return named_period(period.strip())
    first = start if isinstance(start, dt.date) else (_day(start, "from") if start else None)
    last = end if isinstance(end, dt.date) else (_day(end, "to") if end else None)
    last = last or today()
    first = first or dt.date(last.year, 1, 1)
    if first > last:
        raise _invalid("to", "'to' comes before 'from'.")
    if (last - first).days > MAX_DAYS:
        raise _invalid("from", f"A report covers at most {MAX_DAYS} days.")
    return Period(first, last)
