"""Small counts hidden, so that a report cannot single out another organisation's client.

The rule (DOMAIN.md, *Reports*): in a figure about another organisation's clients, a count
from 1 to 4 is not shown (`None`, and the row says `"suppressed": true`). Hiding it alone is
not enough when the table's margins are published, in the same report or in a coarser one
(the total row; the report grouped by one dimension less): the hidden cell would be the
margin minus the cells shown. So in every line of the table that sums to a margin, a line
with exactly one hidden cell gets a second one hidden too, the smallest non-zero cell shown
(complementary suppression, as statistical offices do). That is repeated until no line has
a single hidden cell, since hiding a cell in one line can leave a single one in another.

A line whose only non-zero cell is hidden needs no partner: its margin is that same small
count and is hidden wherever it is published.

Zero is shown: it tells nothing about a person. Each count measure is its own table.

Hiding cells within one table does not stop a reader from subtracting two tables: the
province less one unit (the other units' figure), or 1 November to 3 December less 1 to 3
December (November's). So a protected report is also (`protect`, the one place that decides
it for every protected scope): over whole calendar months only (`periods.
require_whole_months`), and every count it publishes is rounded to the nearest multiple of
5 after the hiding (0 stays 0; 1 to 4 stay hidden). Two published figures then differ by a
multiple of 5 whatever lies between them, and the difference of their true values is only
bounded (within 4 of it each way), never exact. Shares and medians are computed from the
true counts and hidden with their cell. What remains: many overlapping queries can narrow
the bounds on a hidden figure, never to an exact value below 5.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Counts below this (and above zero) are hidden.
SUPPRESSED_BELOW = 5
#: Counts published in a protected report are rounded to a multiple of this.
ROUNDED_TO = 5
#: Decimals of a share in a protected report (0.1: ten percentage points).
SHARE_DIGITS = 1


def is_small(value: Any, below: int = SUPPRESSED_BELOW) -> bool:
    return isinstance(value, int) and 0 < value < below


def _lines(rows: Sequence[Mapping[str, Any]], dims: Sequence[str]) -> list[list[int]]:
    """Indexes of the rows that add up to one published margin: for each dimension, rows that
    agree on every other dimension (with one dimension, all rows: the total)."""
    lines: list[list[int]] = []
    for dim in dims:
        others = [d for d in dims if d != dim]
        groups: dict[tuple, list[int]] = {}
        for index, row in enumerate(rows):
            groups.setdefault(tuple(row.get(d) for d in others), []).append(index)
        lines.extend(groups.values())
    if not dims and rows:
        lines.append(list(range(len(rows))))
    return lines


def hidden_cells(
    rows: Sequence[Mapping[str, Any]],
    dims: Sequence[str],
    measure: str,
    below: int = SUPPRESSED_BELOW,
) -> set[int]:
    """Indexes of the rows whose `measure` must be hidden: the small counts and their
    complements."""
    hidden = {i for i, row in enumerate(rows) if is_small(row.get(measure), below)}
    if not hidden:
        return hidden
    lines = _lines(rows, dims)
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(1 for i in line if i in hidden) != 1:
                continue
            shown = [i for i in line if i not in hidden and (rows[i].get(measure) or 0) > 0]
            if not shown:
                continue
            # The smallest cell loses least; ties go to the first in the table's order.
            partner = min(shown, key=lambda i: (rows[i][measure], i))
            hidden.add(partner)
            changed = True
    return hidden


def suppress(
    rows: Sequence[Mapping[str, Any]],
    dims: Sequence[str],
    counts: Iterable[str],
    derived: Mapping[str, Sequence[str]] | None = None,
    below: int = SUPPRESSED_BELOW,
) -> list[dict[str, Any]]:
    """Copies of `rows` with small counts (and their complements) set to None.

    `derived` names measures computed from counts (a share, a median): each is hidden with
    any count it depends on. A row with anything hidden carries `"suppressed": True`.
    """
    out = [dict(row) for row in rows]
    for measure in counts:
        for index in hidden_cells(rows, dims, measure, below):
            out[index][measure] = None
            out[index]["suppressed"] = True
    for measure, sources in (derived or {}).items():
        for row in out:
            if (
                any(row.get(s) is None and s in row for s in sources)
                and row.get(measure) is not None
            ):
                row[measure] = None
                row["suppressed"] = True
    return out


def suppress_total(
    total: Mapping[str, Any],
    counts: Iterable[str],
    derived: Mapping[str, Sequence[str]] | None = None,
    below: int = SUPPRESSED_BELOW,
) -> dict[str, Any]:
    """The total row: a small count is hidden (it has no line to hide a partner in)."""
    return suppress([total], (), counts, derived, below)[0]


def rounded(value: Any, base: int = ROUNDED_TO) -> Any:
    """A count to the nearest multiple of `base` (None, hidden, stays None)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    return base * ((value + base // 2) // base)


def protect(
    rows: Sequence[Mapping[str, Any]],
    total: Mapping[str, Any],
    dims: Sequence[str],
    counts: Sequence[str],
    derived: Mapping[str, Sequence[str]] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A protected report's rows and total as published: small counts and their complements
    hidden (on the true counts), then every count shown rounded to a multiple of 5 and every
    share (`*_share`) to the nearest tenth."""
    out = suppress(rows, dims, counts, derived)
    whole = suppress_total(total, counts, derived)
    shares = [m for m in (derived or {}) if m.endswith("_share")]
    for row in (*out, whole):
        for measure in counts:
            if measure in row:
                row[measure] = rounded(row[measure])
        for measure in shares:
            # An exact share beside a rounded count could give the count back (8 of 16 is
            # 0.5 beside a published 15): to the nearest tenth, it fits several counts.
            if row.get(measure) is not None:
                row[measure] = round(row[measure], SHARE_DIGITS)
    return out, whole
