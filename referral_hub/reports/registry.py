"""One registry of report definitions: what each report groups by, counts, and who sees what.

A report is declared once (`register_report`) with its name, dimensions, measures, the
function that builds its rows, and its scope rule; the API, the portal page, the exports
and the start page's figures all run it through `operations.run_report`. The referral,
service, agreement, case and intake reports are declared in `referral_reports`,
`agreement_reports`, `case_reports` and `intake_reports` (each a module that calls
`register_report`, imported by `operations`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from referral_hub.problems import Problem

if TYPE_CHECKING:
    from referral_hub.actors import Actor

WITA = dt.timezone(dt.timedelta(hours=8), "WITA")


@dataclass(frozen=True)
class Period:
    """Calendar days in WITA, both inclusive."""

    start: dt.date
    end: dt.date

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as aware instants: midnight WITA of the first day and the day after."""
        first = dt.datetime.combine(self.start, dt.time(), WITA)
        after = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), WITA)
        return first.astimezone(dt.UTC), after.astimezone(dt.UTC)


@dataclass(frozen=True)
class Scope:
    """Whose figures a report holds.

    `organization_id` None is every unit (the province total, for the hub operator);
    `side` says which referrals of the organisation: those it sent (its own clients) or
    those it received (another organisation's clients). `protect` is whether small counts
    are hidden: whenever the figures are about clients the reader does not hold.
    """

    organization_id: str | None
    organization_code: str | None
    organization_name: str | None
    side: str
    protect: bool


@dataclass(frozen=True)
class ReportRequest:
    actor: Actor
    period: Period
    group_by: tuple[str, ...]
    scope: Scope
    #: Only referrals in these statuses (the start page's open referrals); empty: all.
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportData:
    rows: list[dict[str, Any]]
    total: dict[str, Any]
    #: When the figures come from a summary: the moment it holds every change up to.
    as_of: str | None = None


@dataclass(frozen=True)
class ReportDefinition:
    name: str
    #: Dimension -> the kind of its values' names (code_names kind, "organization",
    #: "service", "simfoni_group", "days").
    dimensions: Mapping[str, str]
    #: Counts, in the order shown; small ones are hidden in a protected scope.
    counts: tuple[str, ...]
    #: Figures computed from counts -> the counts they would give away.
    rates: Mapping[str, tuple[str, ...]]
    default_group_by: tuple[str, ...]
    build: Callable[[ReportRequest], ReportData]
    scope: Callable[[Actor, str | None, str | None], Scope]
    #: Measures that are not counts of people nor derived from them (e.g. coverage gaps).
    plain: tuple[str, ...] = ()
    #: Sides a reader may choose (the referral reports: sent / received).
    sides: tuple[str, ...] = ()
    #: The chart drawn on the portal page: "bar" by the first dimension, or "line" by month.
    chart: str = "bar"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def measures(self) -> tuple[str, ...]:
        return (*self.counts, *self.rates, *self.plain)


REPORTS: dict[str, ReportDefinition] = {}


def register_report(definition: ReportDefinition) -> ReportDefinition:
    """Declare a report (at import of the module that defines it); a name is declared once."""
    known = REPORTS.get(definition.name)
    if known is not None and known is not definition:
        raise ValueError(f"report {definition.name!r} is already declared")
    REPORTS[definition.name] = definition
    return definition


def get_report(name: str) -> ReportDefinition:
    """The report of this name, or 404."""
    definition = REPORTS.get(name)
    if definition is None:
        raise Problem(404, "not-found", f"No report '{name}'; reports: {', '.join(REPORTS)}.")
    return definition
