"""Small counts in reports: hidden, and not recoverable from a margin (reports.suppression)."""

from __future__ import annotations

import itertools
import random

from referral_hub.reports.suppression import (
    hidden_cells,
    protect,
    rounded,
    suppress,
    suppress_total,
)


def rows_1d(*counts):
    return [{"service": f"s{i}", "count": c} for i, c in enumerate(counts)]


def test_counts_from_one_to_four_are_hidden_and_five_and_zero_are_shown():
    out = suppress(rows_1d(0, 1, 4, 5, 40), ["service"], ["count"])
    assert [r["count"] for r in out] == [0, None, None, 5, 40]
    assert [r.get("suppressed", False) for r in out] == [False, True, True, False, False]


def test_a_single_hidden_cell_gets_a_partner_so_the_total_does_not_give_it_away():
    # total 3 + 7 + 20 = 30 is published: hiding only the 3 leaves 30 - 7 - 20 = 3.
    out = suppress(rows_1d(3, 7, 20), ["service"], ["count"])
    assert [r["count"] for r in out] == [None, None, 20]


def test_the_partner_is_the_smallest_non_zero_cell_never_a_zero():
    out = suppress(rows_1d(0, 2, 0, 9, 6), ["service"], ["count"])
    assert [r["count"] for r in out] == [0, None, 0, 9, None]


def test_two_small_cells_need_no_partner():
    out = suppress(rows_1d(2, 3, 50), ["service"], ["count"])
    assert [r["count"] for r in out] == [None, None, 50]


def test_a_lone_non_zero_cell_is_left_alone_its_margin_is_as_small():
    out = suppress(rows_1d(0, 3, 0), ["service"], ["count"])
    assert [r["count"] for r in out] == [0, None, 0]


def test_in_two_dimensions_a_partner_can_call_for_another_in_the_crossing_line():
    # sender x service:      a    b    c
    #               u1       2   10   30
    #               u2      10   12   40
    # Hiding u1/a (2) pairs it with u1/b (10) in row u1 and with u2/a (10) in column a;
    # then column b has one hidden cell (u1/b) -> u2/b hidden, and row u2 then has two.
    table = {("u1", "a"): 2, ("u1", "b"): 10, ("u1", "c"): 30}
    table.update({("u2", "a"): 10, ("u2", "b"): 12, ("u2", "c"): 40})
    rows = [{"sender": s, "service": v, "count": c} for (s, v), c in table.items()]
    hidden = {
        (rows[i]["sender"], rows[i]["service"])
        for i in hidden_cells(rows, ["sender", "service"], "count")
    }
    assert hidden == {("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b")}
    assert_no_line_with_one_hidden(rows, ["sender", "service"], hidden)


def assert_no_line_with_one_hidden(rows, dims, hidden):
    for dim in dims:
        others = [d for d in dims if d != dim]
        lines = {}
        for row in rows:
            lines.setdefault(tuple(row[d] for d in others), []).append(row)
        for line in lines.values():
            hidden_here = [r for r in line if tuple(r[d] for d in dims) in hidden]
            non_zero_shown = [
                r for r in line if tuple(r[d] for d in dims) not in hidden and r["count"] > 0
            ]
            assert len(hidden_here) != 1 or not non_zero_shown, line


def test_random_tables_never_leave_a_single_hidden_cell_in_a_line():
    rng = random.Random(16)
    for _ in range(300):
        senders = [f"u{i}" for i in range(rng.randint(1, 5))]
        services = [f"s{i}" for i in range(rng.randint(1, 5))]
        rows = [
            {"sender": s, "service": v, "count": rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 30])}
            for s, v in itertools.product(senders, services)
        ]
        dims = ["sender", "service"]
        hidden = {
            (rows[i]["sender"], rows[i]["service"]) for i in hidden_cells(rows, dims, "count")
        }
        assert all((r["sender"], r["service"]) in hidden for r in rows if 0 < r["count"] < 5)
        assert_no_line_with_one_hidden(rows, dims, hidden)


def test_each_count_is_its_own_table_and_a_derived_figure_goes_with_its_counts():
    rows = [
        {"recipient": "a", "count": 40, "overdue": 3, "overdue_share": 0.075},
        {"recipient": "b", "count": 2, "overdue": 0, "overdue_share": 0.0},
        {"recipient": "c", "count": 30, "overdue": 12, "overdue_share": 0.4},
    ]
    out = suppress(
        rows,
        ["recipient"],
        ["count", "overdue"],
        derived={"overdue_share": ("count", "overdue")},
    )
    # count: b (2) hidden, partner c (30, the smallest other non-zero); overdue: a (3)
    # hidden, partner c (12).
    assert [r["count"] for r in out] == [40, None, None]
    assert [r["overdue"] for r in out] == [None, 0, None]
    assert [r["overdue_share"] for r in out] == [None, None, None]
    assert all(r["suppressed"] for r in out)


def test_a_small_total_is_hidden():
    total = suppress_total({"count": 4, "clients": 12}, ["count", "clients"])
    assert total == {"count": None, "clients": 12, "suppressed": True}


def test_published_counts_are_rounded_to_five_after_hiding():
    assert [rounded(v) for v in (0, 5, 6, 7, 8, 9, 10, 12, 13, None)] == [
        0, 5, 5, 5, 10, 10, 10, 10, 15, None,
    ]  # fmt: skip
    rows = [
        {"unit": "a", "count": 6, "overdue": 3, "overdue_share": 0.5},
        {"unit": "b", "count": 1, "overdue": 0, "overdue_share": 0.0},
        {"unit": "c", "count": 9, "overdue": 0, "overdue_share": 0.0},
    ]
    total = {"count": 16, "overdue": 3, "overdue_share": 3 / 16}
    shares = {"overdue_share": ("count", "overdue")}
    out, whole = protect(rows, total, ["unit"], ["count", "overdue"], shares)
    # b's 1 hidden, a's 6 (the smallest shown) with it; c's 9 published as 10.
    assert [r["count"] for r in out] == [None, None, 10]
    assert whole["count"] == 15
    # a's 3 overdue hidden: its share goes too; c's share is the true one.
    assert out[0]["overdue_share"] is None
    assert out[2]["overdue_share"] == 0.0
    # Province 16 less c's 10 is 5 or 6 or ...: no published pair gives b's 1 exactly.
    assert whole["count"] - out[2]["count"] == 5


def test_a_published_share_is_rounded_too_so_it_cannot_undo_the_rounding_of_its_count():
    """8 of 16 overdue: the counts are published as 10 of 15, and an exact share of 0.5 beside
    them would tell 16 (the only count from 13 to 17 with half of it from 8 to 12). Shares in
    a protected report go to the nearest tenth, which fits 15, 16 and 17 alike."""
    rows = [
        {"unit": "a", "count": 16, "overdue": 8, "overdue_share": 8 / 16},
        {"unit": "b", "count": 17, "overdue": 6, "overdue_share": 6 / 17},
    ]
    total = {"count": 33, "overdue": 14, "overdue_share": 14 / 33}
    shares = {"overdue_share": ("count", "overdue")}
    out, whole = protect(rows, total, ["unit"], ["count", "overdue"], shares)
    assert (out[0]["count"], out[0]["overdue"], out[0]["overdue_share"]) == (15, 10, 0.5)
    assert out[1]["overdue_share"] == 0.4
    assert whole["overdue_share"] == 0.4
    candidates = [
        n for n in range(13, 18) for k in range(8, 13) if round(k / n, 1) == out[0]["overdue_share"]
    ]
    assert len(set(candidates)) > 1
