"""The intake report over the API, in files, in the portal and on the start page (issue 16).

Crafted 2025: PPU received 13 intakes: 6 by hotline (high risk, triaged after 10 to 60
minutes, answered), 2 walk-ins (one never triaged and still waiting past its time, one
triaged after 90 minutes and declined after it was announced late) and 5 reported by PATBM
PPU (triaged after 120 to 600 minutes). A sixth PATBM report went to PPU and was forwarded
to Balikpapan, which now owns it (still open, past its time). Bontang received 7 by hotline.
PPU's intake of 2024 is outside the year.
"""

from __future__ import annotations

import datetime as dt

import pytest

from referral_hub.extensions import db
from tests.conftest import _csrf_from, problem
from tests.functional.test_reports import _browser, by, get
from tests.intake_support import PATBM
from tests.orgs import BALIKPAPAN, BONTANG, OPERATOR, POLRES, PPU
from tests.reports_support import MID_YEAR, YEAR, crafted_intake

READ = "reports:read"


@pytest.fixture
def intakes(app):
    with app.app_context():
        for minutes in (10, 20, 30, 40, 50, 60):
            crafted_intake(PPU, triage_after_minutes=minutes)
        crafted_intake(PPU, channel="walk_in", status="received")
        crafted_intake(
            PPU,
            channel="walk_in",
            status="declined",
            risk="medium",
            triage_after_minutes=90,
            announced_late=True,
        )
        for minutes in (120, 240, 360, 480, 600):
            crafted_intake(
                PPU, reporter=PATBM, channel="patbm", risk="low", triage_after_minutes=minutes
            )
        crafted_intake(
            BALIKPAPAN,
            reporter=PATBM,
            channel="patbm",
            status="forwarded",
            risk=None,
            respond_hours=6,
            forwarded_from=PPU,
        )
        for _ in range(7):
            crafted_intake(BONTANG, risk="medium", triage_after_minutes=30)
        crafted_intake(PPU, received_at=MID_YEAR - dt.timedelta(days=365))
        db.session.commit()
        db.session.remove()


def intake_report(client, hub, org, **args):
    return get(client, hub.headers(org, READ), report="intakes", **args)


def test_a_unit_reads_its_intakes_by_channel_with_time_to_triage(client, hub, intakes):
    report = intake_report(client, hub, PPU, group_by="channel")
    assert report["suppressed_below"] is None  # the unit's own intakes
    assert report["unit"]["code"] == PPU
    rows = by(report["rows"], "channel")
    assert {c: r["count"] for c, r in rows.items()} == {"hotline": 6, "patbm": 5, "walk_in": 2}
    assert rows["hotline"]["median_minutes_to_triage"] == 35.0
    assert rows["walk_in"]["overdue"] == 2
    assert rows["walk_in"]["overdue_share"] == 1.0
    assert rows["walk_in"]["triaged"] == 1
    # 12 triaged: 10 20 30 40 50 60 | 90 120 ...: the median lies between 60 and 90.
    assert report["total"] == {
        "count": 13,
        "triaged": 12,
        "overdue": 2,
        "median_minutes_to_triage": 75.0,
        "overdue_share": round(2 / 13, 4),
    }


def test_risk_and_status_are_dimensions_too(client, hub, intakes):
    risk = by(intake_report(client, hub, PPU, group_by="risk_level")["rows"], "risk_level")
    assert risk["high"]["count"] == 6
    assert risk["low"]["count"] == 5
    assert risk["medium"]["count"] == 1
    assert risk[None]["count"] == 1
    status = by(intake_report(client, hub, PPU, group_by="status")["rows"], "status")
    assert status["accepted"]["count"] == 11
    months = intake_report(client, hub, PPU, group_by="month")["rows"]
    assert months == [{**months[0], "month": f"{YEAR}-06", "count": 13}]


def test_the_province_hides_small_counts_and_a_second_cell(client, hub, intakes):
    report = intake_report(client, hub, OPERATOR, group_by="unit")
    assert report["suppressed_below"] == 5
    rows = by(report["rows"], "unit")
    assert report["rounded_to"] == 5
    assert rows[PPU]["count"] == 15  # 13, rounded to a multiple of 5
    # Balikpapan's one intake is hidden, and Bontang's 7 with it: else 21 - 13 - 7 = 1.
    assert rows[BALIKPAPAN]["count"] is None
    assert rows[BALIKPAPAN]["suppressed"] is True
    assert rows[BONTANG]["count"] is None
    assert rows[BALIKPAPAN]["median_minutes_to_triage"] is None
    # The intake PPU forwarded to Balikpapan is counted once, by the unit that owns it:
    # 21, published rounded; each unit's own report gives it exactly.
    assert report["total"]["count"] == 20
    assert intake_report(client, hub, BALIKPAPAN)["total"]["count"] == 1
    assert intake_report(client, hub, PPU)["total"]["count"] == 13
    channels = by(intake_report(client, hub, OPERATOR, group_by="channel")["rows"], "channel")
    assert channels["hotline"]["count"] == 15  # 13, rounded
    assert channels["walk_in"]["count"] is None
    assert channels["patbm"]["count"] is None
    one = intake_report(client, hub, OPERATOR, group_by="channel", unit=BONTANG)
    assert one["unit"]["code"] == BONTANG
    assert one["total"]["count"] == 5  # 7, rounded


def test_a_reporting_organisation_reads_counts_of_what_it_sent(client, hub, intakes):
    report = intake_report(client, hub, PATBM, group_by="unit")
    assert report["side"] == "reporter"
    assert report["suppressed_below"] == 5
    assert report["measures"] == ["count"]
    assert report["total"] == {"count": 5}  # 6 reported, rounded to a multiple of 5
    rows = by(report["rows"], "unit")
    # One at Balikpapan: hidden, and PPU's 5 with it (the total would give it away).
    assert rows[BALIKPAPAN]["count"] is None
    assert rows[PPU]["count"] is None
    assert all(set(r) <= {"unit", "count", "suppressed"} for r in report["rows"])
    refused = intake_report(client, hub, PATBM, group_by="risk_level", status=422)
    assert "group_by" in problem(refused)["errors"]


def test_others_see_nothing_and_no_one_reads_another_unit(client, hub, intakes):
    police = intake_report(client, hub, POLRES)
    assert police["rows"] == []
    assert police["total"]["count"] == 0
    intake_report(client, hub, BONTANG, unit=PPU, status=403)


def test_csv_and_xlsx_have_indonesian_headers_and_labels(client, hub, intakes):
    headers = hub.headers(PPU, READ)
    text = get(client, headers, report="intakes", group_by="channel", format="csv").get_data(
        as_text=True
    )
    assert "Saluran aduan,Jumlah,Sudah dinilai risikonya,Terlambat dijawab" in text
    assert "Median menit sampai dinilai" in text
    assert "Telepon / hotline,6,6,0," in text
    assert "Aduan yang diterima unit" in text
    province = get(
        client, hub.headers(OPERATOR, READ), report="intakes", group_by="unit", format="csv"
    ).get_data(as_text=True)
    assert "disembunyikan" in province  # Balikpapan's 1 and Bontang's 7: hidden, not "<5"
    assert "<5" not in province
    assert "UPTD" in province
    xlsx = get(client, headers, report="intakes", format="xlsx")
    assert xlsx.headers["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_portal_page_draws_the_intake_report(app, hub, intakes):
    browser = _browser(app, hub, PPU, "supervisor")
    html = browser.get(f"/reports/intakes?kind=year&year={YEAR}&group_by=channel").get_data(
        as_text=True
    )
    assert '<svg class="chart-svg" role="img"' in html
    assert "Telepon / hotline" in html
    assert '<td class="num">13</td>' in html
    assert '<td class="num">75</td>' in html  # 75.0 minutes, as Indonesian writes it
    token = _csrf_from(browser.get("/").get_data(as_text=True))
    browser.post("/language", data={"locale": "en", "next": "/", "csrf_token": token})
    english = browser.get(f"/reports/intakes?kind=year&year={YEAR}").get_data(as_text=True)
    assert "Intakes" in english
    assert "Median minutes to triage" in english


def test_the_start_page_shows_open_and_late_intakes(app, hub, intakes):
    html = _browser(app, hub, PPU, "supervisor").get("/").get_data(as_text=True)
    # Open at PPU: the walk-in never triaged (late); the forwarded one is Balikpapan's.
    assert "<strong>1</strong> aduan terbuka" in html
    assert "<strong>1</strong> aduan terlambat dijawab" in html
    balikpapan = _browser(app, hub, BALIKPAPAN, "org_admin").get("/").get_data(as_text=True)
    assert "<strong>1</strong> aduan terbuka" in balikpapan
    province = _browser(app, hub, OPERATOR, "supervisor").get("/").get_data(as_text=True)
    assert 'title="disembunyikan">\u00d7</abbr></strong> aduan terbuka' in province
    patbm = _browser(app, hub, PATBM, "supervisor").get("/").get_data(as_text=True)
    assert "aduan yang Anda laporkan masih terbuka" in patbm
    assert "aduan terlambat dijawab" not in patbm
    police = _browser(app, hub, POLRES, "supervisor").get("/").get_data(as_text=True)
    assert "aduan terbuka" not in police
