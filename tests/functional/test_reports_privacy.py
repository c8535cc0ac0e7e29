"""Hidden counts cannot be recovered by subtracting two reports, and odd dates are problems.

Crafted 2025 cases: PPU opened 5 physical cases in December (on the 1st to the 3rd) and 1
in November, Kutai Kartanegara 1 in November. Before the fix the operator read a province
total of 7 and PPU's 6 (so Kutai Kartanegara: 1), and 1 November to 3 December gave 7
against December's 5 (so November: 2), although every table hid those small counts.
"""

from __future__ import annotations

import datetime as dt

import pytest

from referral_hub.extensions import db
from referral_hub.reports.registry import WITA
from tests.conftest import problem
from tests.functional.test_reports import _browser, get
from tests.intake_support import PATBM
from tests.orgs import BALIKPAPAN, KUKAR, OPERATOR, PPU
from tests.reports_support import YEAR, crafted_case, crafted_client, crafted_intake

READ = "reports:read"
DECEMBER = dt.datetime(YEAR, 12, 2, 12, 0, tzinfo=WITA)
NOVEMBER = dt.datetime(YEAR, 11, 20, 12, 0, tzinfo=WITA)


@pytest.fixture
def small(app):
    with app.app_context():
        for day in (1, 1, 2, 2, 3):
            crafted_case(crafted_client(PPU), opened_at=DECEMBER.replace(day=day))
        crafted_case(crafted_client(PPU), opened_at=NOVEMBER)
        crafted_case(crafted_client(KUKAR), opened_at=NOVEMBER)
        for _ in range(6):
            crafted_intake(PPU, reporter=PATBM, channel="patbm", received_at=DECEMBER)
        db.session.commit()
        db.session.remove()


def cases(client, hub, org=OPERATOR, status=200, **args):
    return get(client, hub.headers(org, READ), report="cases", status=status, **args)


def test_subtracting_a_unit_from_the_province_no_longer_gives_a_hidden_count(client, hub, small):
    province = cases(client, hub, period=str(YEAR))
    unit = cases(client, hub, period=str(YEAR), unit=PPU)
    # True figures: 7 and 6, Kutai Kartanegara's 1 hidden. Published: multiples of 5.
    assert province["rounded_to"] == 5
    assert unit["rounded_to"] == 5
    assert province["total"]["count"] % 5 == 0
    assert unit["total"]["count"] % 5 == 0
    assert (province["total"]["count"], unit["total"]["count"]) == (5, 5)
    by_type = cases(client, hub, period=str(YEAR), group_by="violence_type")
    assert by_type["total"]["count"] - unit["total"]["count"] != 1


def test_subtracting_two_periods_no_longer_gives_a_hidden_month(client, hub, small):
    # A period of days is refused in a protected report ...
    cut = cases(
        client, hub, status=422, period=None, **{"from": f"{YEAR}-11-01", "to": f"{YEAR}-12-03"}
    )
    body = problem(cut)
    assert body["type"].endswith("validation-error")
    assert "month" in body["detail"].lower()
    assert set(body["errors"]) & {"from", "to"}
    # ... and whole months are rounded: 7 and 5 are both published as 5, so November's 2
    # is no longer their difference.
    both = cases(client, hub, period=None, **{"from": f"{YEAR}-11-01", "to": f"{YEAR}-12-31"})
    december = cases(client, hub, period=f"{YEAR}-12")
    november = cases(client, hub, period=f"{YEAR}-11")
    assert november["total"]["count"] is None  # 2: hidden
    assert both["total"]["count"] % 5 == 0
    assert december["total"]["count"] % 5 == 0
    assert both["total"]["count"] - december["total"]["count"] not in (1, 2, 3, 4)
    assert (both["total"]["count"], december["total"]["count"]) == (5, 5)


def test_every_protected_scope_is_whole_months_and_rounded(client, hub, small):
    days = {"period": None, "from": f"{YEAR}-12-01", "to": f"{YEAR}-12-03"}
    for org, report, extra in (
        (OPERATOR, "referrals", {}),
        (BALIKPAPAN, "referrals", {"side": "received"}),
        (PATBM, "intakes", {}),
        (OPERATOR, "intakes", {}),
        (OPERATOR, "cases", {}),
    ):
        response = get(client, hub.headers(org, READ), report=report, status=422, **days, **extra)
        assert problem(response)["status"] == 422, (org, report)
    patbm = get(client, hub.headers(PATBM, READ), report="intakes", period=f"{YEAR}-12")
    assert patbm["total"]["count"] == 5  # 6 reported, rounded
    assert patbm["rounded_to"] == 5


def test_a_unit_reading_its_own_clients_keeps_exact_counts_and_any_days(client, hub, small):
    own = cases(
        client, hub, org=PPU, period=None, **{"from": f"{YEAR}-12-01", "to": f"{YEAR}-12-03"}
    )
    assert own["total"]["count"] == 5
    assert own["rounded_to"] is None
    assert own["suppressed_below"] is None
    assert cases(client, hub, org=PPU, period=str(YEAR))["total"]["count"] == 6


def test_the_portal_says_counts_are_rounded_and_asks_for_whole_months(app, hub, small):
    browser = _browser(app, hub, OPERATOR, "org_admin")
    html = browser.get(f"/reports/cases?kind=year&year={YEAR}").get_data(as_text=True)
    assert "Angka dibulatkan ke kelipatan 5" in html
    refused = browser.get(f"/reports/cases?kind=custom&from={YEAR}-12-01&to={YEAR}-12-03")
    assert refused.status_code == 422
    assert "bulan penuh" in refused.get_data(as_text=True)
    text = browser.get(f"/reports/cases/export.csv?kind=year&year={YEAR}").get_data(as_text=True)
    assert "Angka dibulatkan ke kelipatan 5" in text


EXTREMES = (
    {"period": "0000"},
    {"period": "0000-Q1"},
    {"period": "0000-01"},
    {"period": "9999"},
    {"period": "9999-12"},
    {"period": None, "from": "0001-01-01", "to": "0001-01-02"},
    {"period": None, "from": "0001-01-01", "to": "0001-01-31"},
    {"period": None, "from": "9999-12-30", "to": "9999-12-31"},
    {"period": None, "from": "9999-12-01", "to": "9999-12-31"},
)


@pytest.mark.parametrize("args", EXTREMES)
def test_extreme_dates_are_a_problem_not_an_error(client, hub, args):
    for org in (OPERATOR, PPU):
        for report in ("referrals", "cases", "intakes"):
            response = get(client, hub.headers(org, READ), report=report, status=422, **args)
            body = problem(response)
            assert body["status"] == 422
            assert body["errors"], body


def test_extreme_dates_in_the_portal_are_a_message(app, hub):
    browser = _browser(app, hub, PPU, "supervisor")
    page = browser.get("/reports/referrals?kind=custom&from=0001-01-01&to=0001-01-02")
    assert page.status_code == 422
    assert 'class="field has-error"' in page.get_data(as_text=True)
    file = browser.get("/reports/referrals/export.xlsx?kind=custom&from=0001-01-01&to=0001-01-02")
    assert file.status_code == 422
