"""Report periods: a month, a quarter, a year, or custom dates (calendar days in WITA)."""

from __future__ import annotations

import calendar
import datetime as dt
import re

from referral_hub.problems import Problem
from referral_hub.reports.registry import WITA, Period

#: Longest custom period: ten years of figures are more than any report needs.
MAX_DAYS = 3700
#: The first year a report covers: the hub holds nothing older (and the calendar's year 1
#: or 9999 has no day before or after it to bound a period with).
FIRST_YEAR = 2000
#: A protected report's period must be whole calendar months (see `require_whole_months`).
WHOLE_MONTHS = (
    "A report that hides small counts covers whole calendar months: from the first day of a "
    "month to the last day of a month."
)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def today() -> dt.date:
    return dt.datetime.now(WITA).date()


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, "validation-error", message, errors={field: [message]})


def last_year() -> int:
    """The last year a report covers: next year (a period may end in the months ahead)."""
    return today().year + 1


def years_message() -> str:
    return f"Give a year from {FIRST_YEAR} to {last_year()}."


def _check_year(year: int, field: str) -> None:
    if not FIRST_YEAR <= year <= last_year():
        raise _invalid(field, years_message())


def named_period(text: str) -> Period:
    """ "2026" (a year), "2026-Q2" (a quarter), "2026-03" (a month)."""
    for pattern in (_YEAR, _QUARTER, _MONTH):
        if match := pattern.match(text):
            _check_year(int(match[1]), "period")
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


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def resolve_period(
    start: str | dt.date | None,
    end: str | dt.date | None,
    period: str | None = None,
    *,
    whole_months: bool = False,
) -> Period:
    """The period asked: `period` by name, else `from`/`to` (either may be left out: the
    year's first day, today); nothing at all is this year to date. With `whole_months` (a
    protected report) a left-out `to` is the last day of this month, and a period of days
    is refused."""
    if period:
        return named_period(period.strip())
    first = start if isinstance(start, dt.date) else (_day(start, "from") if start else None)
    last = end if isinstance(end, dt.date) else (_day(end, "to") if end else None)
    last = last or (month_end(today()) if whole_months else today())
    first = first or dt.date(last.year, 1, 1)
    _check_year(first.year, "from")
    _check_year(last.year, "to")
    if first > last:
        raise _invalid("to", "'to' comes before 'from'.")
    if (last - first).days > MAX_DAYS:
        raise _invalid("from", f"A report covers at most {MAX_DAYS} days.")
    chosen = Period(first, last)
    if whole_months:
        require_whole_months(chosen)
    return chosen


def is_whole_months(period: Period) -> bool:
    """From the first day of a month to the last day of a month."""
    return period.start.day == 1 and (period.end + dt.timedelta(days=1)).day == 1


def require_whole_months(period: Period) -> None:
    """Refuse a period of days: two overlapping periods of days would give away the hidden
    count of the days between them (1 November to 3 December less 1 to 3 December)."""
    if is_whole_months(period):
        return
    errors = {}
    if period.start.day != 1:
        errors["from"] = ["Give the first day of a month."]
    if (period.end + dt.timedelta(days=1)).day != 1:
        errors["to"] = ["Give the last day of a month."]
    raise Problem(422, "validation-error", WHOLE_MONTHS, errors=errors)
