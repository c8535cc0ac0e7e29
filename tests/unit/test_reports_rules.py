"""Reports' rules that need no database: SIMFONI groups, periods, expiry bands, charts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from referral_hub.problems import Problem
from referral_hub.reports.agreement_reports import expiry_band
from referral_hub.reports.charts import bar_chart, count_axis, line_chart
from referral_hub.reports.periods import named_period, resolve_period, today
from referral_hub.reports.simfoni import GROUPS, OTHER, SERVICE_GROUPS, group_of

REPO = Path(__file__).resolve().parents[2]
DOMAIN_SERVICE_CODES = {
    "complaint_intake", "outreach", "case_management", "temporary_shelter", "mediation",
    "accompaniment", "psychological_counseling", "psychosocial_support", "health_care",
    "forensic_exam", "legal_aid", "law_enforcement", "prosecution", "court_process",
    "family_court", "witness_protection", "restitution", "social_rehabilitation",
    "social_reintegration", "repatriation", "religious_counseling", "economic_empowerment",
}  # fmt: skip


def test_every_service_code_of_the_domain_maps_to_a_simfoni_group():
    assert set(SERVICE_GROUPS) == DOMAIN_SERVICE_CODES
    assert set(SERVICE_GROUPS.values()) <= set(GROUPS)
    assert group_of("no_such_service") == OTHER


@pytest.mark.parametrize(
    "path", [REPO / "partners.yaml", *sorted((REPO / "partners").glob("*.yaml"))]
)
def test_partners_files_agree_with_the_one_mapping(path):
    services = yaml.safe_load(path.read_text(encoding="utf-8"))["services"]
    for service in services:
        if service.get("simfoni_group"):
            assert SERVICE_GROUPS[service["code"]] == service["simfoni_group"], service["code"]


def test_named_periods():
    assert named_period("2026") == named_period("2026")
    year = named_period("2026")
    assert (year.start, year.end) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    quarter = named_period("2026-Q1")
    assert (quarter.start, quarter.end) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    february = named_period("2024-02")
    assert february.end == dt.date(2024, 2, 29)
    for bad in ("2026-13", "2026-Q5", "26", "2026-00", "last year"):
        with pytest.raises(Problem):
            named_period(bad)


def test_a_period_is_whole_days_in_wita():
    period = resolve_period("2026-03-01", "2026-03-31")
    start, after = period.bounds()
    assert start == dt.datetime(2026, 2, 28, 16, 0, tzinfo=dt.UTC)
    assert after == dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC)
    with pytest.raises(Problem):
        resolve_period("2026-03-31", "2026-03-01")


def test_expiry_bands():
    assert expiry_band("active", 0) == "30"
    assert expiry_band("active", 31) == "90"
    assert expiry_band("suspended", 120) == "180"
    assert expiry_band("signed", 400) == "later"
    assert expiry_band("expired", 10) == "ended"


def test_charts_scale_to_a_round_top_and_draw_no_bar_for_a_hidden_count():
    # Whole-number ticks only: no 1.25 or 3.75 of a count.
    assert count_axis(7) == (8, [0, 2, 4, 6, 8])
    assert count_axis(5) == (5, [0, 1, 2, 3, 4, 5])
    assert count_axis(230) == (250, [0, 50, 100, 150, 200, 250])
    assert count_axis(0) == (1, [0, 1])
    for value in (1, 3, 5, 7, 13, 24, 99, 101, 4999):
        top, ticks = count_axis(value)
        assert top >= value
        assert all(isinstance(t, int) for t in ticks)
        assert len(ticks) <= 6
    line = line_chart("t", "d", ["Jan", "Feb"], [5, 3])
    assert [t["text"] for t in line.ticks] == ["0", "1", "2", "3", "4", "5"]
    chart = bar_chart("t", "d", ["a", "b", "c"], [10, None, 5])
    assert [m["hidden"] for m in chart.marks] == [False, True, False]
    assert chart.marks[1]["width"] == 0
    assert chart.marks[1]["value"] == "disembunyikan"  # never "<5": it may be a 9
    assert chart.marks[0]["width"] == 2 * chart.marks[2]["width"]


def test_a_hidden_month_breaks_the_line():
    chart = line_chart("t", "d", ["Jan", "Feb", "Mar", "Apr"], [10, None, 8, 12])
    assert chart.path.count("M") == 2


@pytest.mark.parametrize(
    ("start", "end", "period"),
    [
        (None, None, "0000"),
        (None, None, "0000-Q1"),
        (None, None, "9999"),
        (None, None, "1999-12"),
        ("0001-01-01", "0001-01-02", None),
        ("9999-12-30", "9999-12-31", None),
    ],
)
def test_years_out_of_range_are_a_problem_not_an_error(start, end, period):
    with pytest.raises(Problem) as refused:
        resolve_period(start, end, period)
    assert refused.value.status == 422
    assert set(refused.value.errors) & {"from", "to", "period"}


def test_a_protected_period_is_whole_months():
    assert resolve_period("2025-11-01", "2025-12-31", whole_months=True).end.day == 31
    assert resolve_period("2024-02-01", "2024-02-29", whole_months=True).start.day == 1
    for start, end in (("2025-11-01", "2025-12-03"), ("2025-11-02", "2025-11-30")):
        with pytest.raises(Problem) as refused:
            resolve_period(start, end, whole_months=True)
        assert refused.value.status == 422
    assert resolve_period("2025-11-01", "2025-12-03").end.day == 3  # a unit's own: any day
    # Nothing asked: this year up to the end of this month.
    default = resolve_period(None, None, whole_months=True)
    assert default.start == dt.date(today().year, 1, 1)
    assert (default.end + dt.timedelta(days=1)).day == 1


def test_a_file_writes_a_share_hidden_with_its_count_and_leaves_no_data_empty():
    from flask_babel import force_locale

    from referral_hub import create_app
    from referral_hub.reports.export import _cells

    measures = ["count", "overdue", "overdue_share", "median_minutes_to_triage"]
    app = create_app({"TESTING": True, "HUB_DATABASE_URL": "sqlite://"})
    with app.test_request_context(), force_locale("id"):
        hidden = _cells(["PATBM", None, 0, None, None], measures, 1, text=True)
        no_data = _cells(["Puspaga", 10, 0, 0.0, None], measures, 1, text=True)
    assert hidden[1:] == ["disembunyikan", 0, "disembunyikan", "disembunyikan"]
    assert no_data[4] is None
