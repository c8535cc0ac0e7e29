"""Laporan in a real browser (issue 16, "How it will be checked"): after a scripted set of
intakes, cases and referrals, the API's JSON and the portal page give the same figures per
category for cases, referrals and intakes; the province view hides small counts; a client
referred along a chain of partners is counted once; the CSV opens with Indonesian headers;
the page fits 390 px and prints.

The script: the demo (its referrals, cases and intakes are made through the operations,
PATBM's report forwarded from PPU to Balikpapan among them), then, through the same
operations, PPU records six hotline intakes of its own and triages three, and refers its
first demo client to Balikpapan again.
"""

from __future__ import annotations

import csv
import io

import pytest
from babel.numbers import format_decimal, format_percent
from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.clients.operations import find_by_nik
from referral_hub.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.intake import operations as intakes
from referral_hub.referrals.demo import _consent_for
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations import send_referral
from referral_hub.reports.periods import today
from referral_hub.reports.referral_facts import NOT_COUNTED
from tests.e2e.conftest import PHONE, no_horizontal_scroll, screenshot, sign_in
from tests.orgs import BALIKPAPAN, OPERATOR, PPU

pytestmark = pytest.mark.e2e

READ = "reports:read"
#: The channels' names as the page writes them (Bahasa Indonesia), stated here on their own.
CHANNELS = {
    "patbm": "PATBM",
    "puspaga": "Puspaga",
    "app": "Aplikasi",
    "hotline": "Telepon / hotline",
    "walk_in": "Datang langsung",
}
#: Each report by its default category, and intakes by unit too.
VIEWS = (
    ("cases", "violence_type"),
    ("referrals", "recipient"),
    ("intakes", "channel"),
    ("intakes", "unit"),
)


@pytest.fixture
def scripted(app):
    with app.app_context():
        load_demo()
        ppu = find_organization(PPU)
        unit = Actor.for_organization(ppu, "test:reports")
        for number in range(6):
            intake = intakes.receive_intake(
                unit,
                {
                    "to": PPU,
                    "channel": "hotline",
                    "reporter": {"relationship": "self", "is_victim": True},
                    "victim": {
                        "name": "Uji Laporan",
                        "age_years": 30,
                        "sex": "female",
                        "region_code": "64.09",
                        "location_hint": "uji",
                    },
                    "incident": {"violence_types": ["psychological"], "summary": "uji laporan"},
                    "immediate_danger": False,
                    "reporter_may_be_contacted": False,
                    "external_reference": f"TEST-LAPORAN-{number}",
                },
            )
            if number < 3:
                intakes.triage_intake(unit, intake.id, "medium", None)
        # The first demo client, already referred to Balikpapan, is referred there again.
        client = find_by_nik(ppu.id, "0000000000000001")
        balikpapan = find_organization(BALIKPAPAN)
        send_referral(
            unit,
            {
                "client": client.id,
                "consent": _consent_for(client, balikpapan.id, "psychological_counseling").id,
                "to": BALIKPAPAN,
                "service": "psychological_counseling",
                "urgency": "routine",
                "reason": "Uji laporan: konseling lanjutan.",
                "data_categories": ["identity"],
                "case_data": {"case_summary": {"violence_types": ["psychological"]}},
            },
        )
        db.session.commit()
        db.session.remove()


def api_report(client, hub, org: str, report: str, group_by: str) -> dict:
    response = client.get(
        f"/api/v1/reports/{report}",
        query_string={"period": str(today().year), "group_by": group_by},
        headers=hub.headers(org, READ),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def shown(measure: str, value) -> str:
    """A figure as the page writes it."""
    if value is None:
        return "—" if measure == "overdue_share" or measure.startswith("median_") else "\u00d7"
    if measure == "overdue_share":
        return format_percent(value, "#,##0.0%", locale="id")  # 25,0%: Indonesian
    if isinstance(value, float):
        return format_decimal(value, "#,##0.#", locale="id")
    return format_decimal(value, locale="id")


def page_table(page) -> tuple[list[list[str]], list[str]]:
    """The first table of figures on the page: its rows and its total, cell by cell."""
    table = page.locator("table.figures").first
    rows = [
        [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
        for row in table.locator("tbody tr").all()
    ]
    total = [c.strip() for c in table.locator("tfoot tr th, tfoot tr td").all_inner_texts()]
    return rows, total


def open_report(page, report: str, group_by: str) -> None:
    page.goto(f"/reports/{report}?kind=year&year={today().year}&group_by={group_by}")
    page.wait_for_load_state()


def assert_same_figures(page, api: dict, report: str, dimension: str) -> None:
    rows, total = page_table(page)
    measures = api["measures"]
    assert len(rows) == len(api["rows"]), (report, dimension, rows, api["rows"])
    for cells, row in zip(rows, api["rows"], strict=True):
        assert cells[1:] == [shown(m, row.get(m)) for m in measures], (report, cells, row)
        if dimension == "channel":
            assert cells[0] == CHANNELS[row["channel"]]
    assert total[1:] == [shown(m, api["total"].get(m)) for m in measures], (report, total)


def test_the_page_and_the_api_agree_for_a_unit(app, page, client, hub, live_server, scripted):
    sign_in(page, "supervisor@ppu.demo", DEMO_PASSWORD, DEMO_TOTP_SECRET)
    for report, dimension in VIEWS:
        api = api_report(client, hub, PPU, report, dimension)
        assert api["suppressed_below"] is None  # the unit's own figures
        open_report(page, report, dimension)
        assert_same_figures(page, api, report, dimension)
        assert page.locator("svg.chart-svg").first.is_visible()
    intakes_by_channel = api_report(client, hub, PPU, "intakes", "channel")
    channels = {row["channel"]: row["count"] for row in intakes_by_channel["rows"]}
    # The demo's PATBM report forwarded to Balikpapan is Balikpapan's, not PPU's as well.
    assert channels == {"hotline": 6, "puspaga": 1, "patbm": 1}
    assert intakes_by_channel["total"]["triaged"] == 4  # three of ours, the demo's Puspaga one
    # Chains: demo client 2 referred to Balikpapan and the police, client 3 to Balikpapan
    # and social services, client 1 twice to Balikpapan: each client counted once.
    referrals = api_report(client, hub, PPU, "referrals", "recipient")
    with app.app_context():
        counted = (
            db.session.execute(
                select(Referral.client_id).where(
                    Referral.sender_organization_id == find_organization(PPU).id,
                    Referral.status.not_in(NOT_COUNTED),
                )
            )
            .scalars()
            .all()
        )
    assert referrals["total"]["count"] == len(counted)
    assert referrals["total"]["clients"] == len(set(counted))
    assert len(set(counted)) <= len(counted) - 3
    by_sender = api_report(client, hub, PPU, "referrals", "sender")
    open_report(page, "referrals", "sender")
    _, total = page_table(page)
    assert total[1 + by_sender["measures"].index("count")] == str(len(counted))
    assert total[1 + by_sender["measures"].index("clients")] == str(len(set(counted)))
    screenshot(page, "reports-unit-referrals-desktop")
    open_report(page, "intakes", "channel")
    screenshot(page, "reports-unit-intakes-desktop")
    page.emulate_media(media="print")
    screenshot(page, "reports-unit-intakes-print")
    page.emulate_media(media="screen")


def test_the_province_view_hides_small_counts_on_the_page_as_in_the_api(
    page, client, hub, live_server, scripted
):
    sign_in(page, "auditor@kaltim.demo", DEMO_PASSWORD, DEMO_TOTP_SECRET)
    hidden_somewhere = False
    for report, dimension in VIEWS:
        api = api_report(client, hub, OPERATOR, report, dimension)
        assert api["suppressed_below"] == 5
        open_report(page, report, dimension)
        assert_same_figures(page, api, report, dimension)
        for row in api["rows"]:
            assert row["count"] is None or not 0 < row["count"] < 5, row
        hidden_somewhere |= any(row["count"] is None for row in api["rows"])
    assert hidden_somewhere
    by_unit = api_report(client, hub, OPERATOR, "intakes", "unit")
    # PPU's 8, Balikpapan's 2 (the app's and the forwarded one): 2 hidden, and 8 with it;
    # the forwarded intake counted once, by the unit that owns it.
    assert {row["unit"]: row["count"] for row in by_unit["rows"]} == {
        PPU: None,
        BALIKPAPAN: None,
    }
    assert by_unit["total"]["count"] == 10
    open_report(page, "intakes", "unit")
    assert "\u00d7" in page.locator("table.figures").first.inner_text()
    assert "<5" not in page.locator("table.figures").first.inner_text()
    screenshot(page, "reports-province-intakes-desktop")
    # A period of days would let two reports give a hidden month away: the form says so.
    page.goto(f"/reports/cases?kind=custom&from={today().year}-01-01&to={today().year}-01-15")
    assert "bulan penuh" in page.locator("form.filters").inner_text()
    assert "Angka dibulatkan ke kelipatan 5" in page.locator("dl.facts").inner_text()
    screenshot(page, "reports-province-days-refused-desktop")
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    screenshot(page, "reports-province-days-refused-phone")


def test_the_csv_opens_with_indonesian_headers(page, live_server, scripted):
    sign_in(page, "supervisor@ppu.demo", DEMO_PASSWORD, DEMO_TOTP_SECRET)
    for report, header, name in (
        ("intakes", "Saluran aduan", "Telepon / hotline"),
        ("cases", "Jenis kekerasan", None),
        ("referrals", "Penerima", "UPTD PPA Kota Balikpapan"),
    ):
        page.goto(f"/reports/{report}?kind=year&year={today().year}")
        with page.expect_download() as download:
            page.get_by_role("link", name="Unduh CSV").click()
        with open(download.value.path(), encoding="utf-8-sig") as file:
            lines = list(csv.reader(io.StringIO(file.read())))
        headers = next(line for line in lines if line and line[0] == header)
        assert "Jumlah" in headers, headers
        assert any(line[:1] == ["Periode"] for line in lines), lines
        if name:
            assert any(line[:1] == [name] for line in lines), lines


def test_laporan_fits_a_phone(phone, live_server, scripted):
    sign_in(phone, "supervisor@ppu.demo", DEMO_PASSWORD, DEMO_TOTP_SECRET)
    for report in ("intakes", "cases", "referrals"):
        phone.goto(f"/reports/{report}?kind=year&year={today().year}")
        assert no_horizontal_scroll(phone), report
    assert phone.viewport_size == PHONE
    phone.goto(f"/reports/intakes?kind=year&year={today().year}")
    screenshot(phone, "reports-unit-intakes-phone")
    phone.get_by_role("link", name="Bulan ini").click()
    phone.wait_for_load_state()
    assert f"{today():%Y-%m}-01 s.d." in phone.locator("dl.facts").inner_text()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "reports-unit-this-month-phone")


def test_the_start_page_counts_open_intakes_as_the_report_does(
    page, client, hub, live_server, scripted
):
    by_status = api_report(client, hub, PPU, "intakes", "status")
    still_open = sum(
        row["count"]
        for row in by_status["rows"]
        if row["status"] in ("received", "triaged", "forwarded")
    )
    assert still_open == 8  # the demo's two at PPU and our six
    sign_in(page, "supervisor@ppu.demo", DEMO_PASSWORD, DEMO_TOTP_SECRET)
    page.goto("/")
    figures = page.locator("ul.daily-figures")
    assert f"{still_open} aduan terbuka" in " ".join(figures.inner_text().split())
    # The demo's PATBM report, in immediate danger three hours ago, waits past its hour.
    assert "1 aduan terlambat dijawab" in " ".join(figures.inner_text().split())
    screenshot(page, "home-supervisor-figures-desktop")
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    screenshot(page, "home-supervisor-figures-phone")
