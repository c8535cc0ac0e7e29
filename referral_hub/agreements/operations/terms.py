"""What a renewal proposes: the same term length (in months when the term is in months) and
the agreement's next number. Pure functions of dates and strings.

Terms in months. Kutai Kartanegara's expert contracts run three calendar months and are
renewed every three months: 2026-11-01 to 2027-01-31 is followed by 2027-02-01 to
2027-04-30, not by the same number of days (which would end on 2027-05-03). A term of `n`
months from a start day ends the day before the same day `n` months later; when that day
does not exist in its month (31 April, 30 February), the term runs to the end of that month.
So `months_later(31 Jan, 1)` is 1 March and a one-month term from 31 January ends on the
last day of February (29 February in a leap year). An old term that is not a whole number of
months in this sense is renewed for the same number of days.

Numbers. Indonesian agreement numbers end in a year more often than not ("PKS/003/2026",
"440/12/PKS/UPTD-PPA/XI/2026"). The next number increments the sequence number and keeps
everything else: the last number that is not a year (a year is four digits from 1900 to 2199
at the very end), keeping its zero-padding; a year at the end becomes the renewal's starting
year. "PKS/003/2026" renewed from 2027 is "PKS/004/2027"; "KONTRAK-7" becomes "KONTRAK-8"
(digits inside a word, as in "DP3A", are no number); a number with no digits at all gets
"/2" (the renewal's version). The proposal is only a default: the parties change it in the
draft before signing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

#: Longest term tried as a whole number of months (MAX_TERM_DAYS is ten years).
MAX_TERM_MONTHS = 12 * 10

#: A number standing on its own: "DP3A" holds none.
_NUMBER = re.compile(r"(?<![A-Za-z0-9])\d+(?![A-Za-z0-9])")
_YEAR = re.compile(r"(19|20|21)\d{2}")


def months_later(day: dt.date, months: int) -> dt.date:
    """The same day `months` later; a day the month lacks rolls over to the next month's 1st."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    if day.day > calendar.monthrange(year, month)[1]:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return dt.date(year, month, 1)
    return dt.date(year, month, day.day)


def end_of_term(start: dt.date, months: int) -> dt.date:
    """The last day (inclusive) of a term of `months` months from `start`."""
    return months_later(start, months) - dt.timedelta(days=1)


def term_months(start: dt.date, end: dt.date) -> int | None:
    """How many whole months the term start..end (inclusive) runs, or None if not whole."""
    if end < start:
        return None
    estimate = (end.year - start.year) * 12 + (end.month - start.month)
    for months in (estimate, estimate + 1):
        if 1 <= months <= MAX_TERM_MONTHS and end_of_term(start, months) == end:
            return months
    return None


def renewal_term(
    effective_from: dt.date, expires_on: dt.date, start: dt.date
) -> tuple[dt.date, dt.date]:
    """The renewal's (effective_from, expires_on) from `start`, as long as the old term."""
    months = term_months(effective_from, expires_on)
    if months is not None:
        return start, end_of_term(start, months)
    return start, start + (expires_on - effective_from)


def next_number(number: str, *, year: int | None = None, version: int = 2) -> str:
    """The proposed number of a renewal (see the module's rule)."""
    matches = list(_NUMBER.finditer(number))
    if not matches:
        return f"{number}/{version}"
    last = matches[-1]
    ends_in_year = last.end() == len(number.rstrip()) and _YEAR.fullmatch(last.group()) is not None
    text = number
    if ends_in_year and year is not None and year > int(last.group()):
        text = text[: last.start()] + str(year) + text[last.end() :]
    if ends_in_year and len(matches) < 2:
        # Only a year: the year moves on if it can, else a version is added.
        return text if text != number else f"{number}/{version}"
    sequence = matches[-2] if ends_in_year else last
    digits = sequence.group()
    bumped = str(int(digits) + 1).zfill(len(digits))
    return text[: sequence.start()] + bumped + text[sequence.end() :]


def following_numbers(number: str, *, year: int | None = None, version: int = 2):
    """The proposal, then the ones after it (for when the proposal is already taken)."""
    current = number
    for _ in range(50):
        proposed = next_number(current, year=year, version=version)
        yield proposed
        if proposed == current:
            return
        current = proposed
