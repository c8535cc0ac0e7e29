"""What a renewal proposes: the same term in months, and the next number (never "versi 2")."""

from __future__ import annotations

import datetime as dt

import pytest

from referral_hub.agreements.operations.terms import (
    end_of_term,
    following_numbers,
    months_later,
    next_number,
    renewal_term,
    term_months,
)

D = dt.date


def test_kukar_three_monthly_contract_is_renewed_for_three_calendar_months():
    # The case of the issue: the same number of days would end on 2027-05-03.
    assert renewal_term(D(2026, 11, 1), D(2027, 1, 31), D(2027, 2, 1)) == (
        D(2027, 2, 1),
        D(2027, 4, 30),
    )
    # And the next one after that.
    assert renewal_term(D(2027, 2, 1), D(2027, 4, 30), D(2027, 5, 1)) == (
        D(2027, 5, 1),
        D(2027, 7, 31),
    )


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (D(2027, 1, 31), 1, D(2027, 2, 28)),  # no 31 February: to the end of February
        (D(2028, 1, 31), 1, D(2028, 2, 29)),  # leap year
        (D(2028, 1, 30), 1, D(2028, 2, 29)),
        (D(2028, 1, 29), 1, D(2028, 2, 28)),
        (D(2027, 1, 29), 1, D(2027, 2, 28)),  # 29 Feb missing: February still ends it
        (D(2026, 12, 1), 3, D(2027, 2, 28)),
        (D(2027, 11, 1), 3, D(2028, 1, 31)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),  # a year from a leap day
        (D(2026, 3, 15), 3, D(2026, 6, 14)),
        (D(2026, 8, 31), 1, D(2026, 9, 30)),
    ],
)
def test_end_of_a_term_in_months(start, months, end):
    assert end_of_term(start, months) == end
    assert term_months(start, end) == months


def test_months_later_rolls_a_missing_day_to_the_first_of_the_next_month():
    assert months_later(D(2027, 1, 31), 1) == D(2027, 3, 1)
    assert months_later(D(2028, 1, 31), 1) == D(2028, 3, 1)
    assert months_later(D(2026, 12, 31), 2) == D(2027, 3, 1)
    assert months_later(D(2026, 11, 30), 3) == D(2027, 3, 1)
    assert months_later(D(2026, 10, 15), 3) == D(2027, 1, 15)


def test_a_term_that_is_not_whole_months_keeps_its_days():
    assert term_months(D(2026, 1, 1), D(2026, 1, 20)) is None
    assert term_months(D(2026, 1, 1), D(2026, 12, 30)) is None
    assert renewal_term(D(2026, 1, 1), D(2026, 1, 20), D(2026, 1, 21)) == (
        D(2026, 1, 21),
        D(2026, 2, 9),
    )


def test_a_renewal_from_a_month_end_stays_a_whole_number_of_months():
    # Old term: 31 Jan - 28 Feb 2027 (one month); the renewal from 1 March runs to 31 March.
    assert renewal_term(D(2027, 1, 31), D(2027, 2, 28), D(2027, 3, 1)) == (
        D(2027, 3, 1),
        D(2027, 3, 31),
    )
    # A renewal that starts on 31 January of a leap year ends on 29 February.
    assert renewal_term(D(2027, 12, 31), D(2028, 1, 30), D(2028, 1, 31)) == (
        D(2028, 1, 31),
        D(2028, 2, 29),
    )


@pytest.mark.parametrize(
    ("number", "year", "proposed"),
    [
        ("PKS/003/2026", 2026, "PKS/004/2026"),
        ("PKS/003/2026", 2027, "PKS/004/2027"),
        ("440/12/PKS/UPTD-PPA/XI/2026", 2027, "440/13/PKS/UPTD-PPA/XI/2027"),
        ("DEMO/KONTRAK/021/DP3A-KUKAR", 2027, "DEMO/KONTRAK/022/DP3A-KUKAR"),
        ("KONTRAK-9", None, "KONTRAK-10"),
        ("PKS/099", None, "PKS/100"),
        ("PKS/2026", 2027, "PKS/2027"),
        ("MOU POLRES", 2027, "MOU POLRES/2"),
    ],
)
def test_next_number_increments_the_sequence_and_keeps_the_rest(number, year, proposed):
    assert next_number(number, year=year) == proposed
    assert "versi" not in proposed


def test_a_year_never_goes_backwards_and_a_taken_number_gives_the_one_after():
    assert next_number("PKS/003/2027", year=2026) == "PKS/004/2027"
    taken = following_numbers("PKS/003/2026", year=2027)
    assert [next(taken) for _ in range(3)] == ["PKS/004/2027", "PKS/005/2027", "PKS/006/2027"]
