"""Reports over the API and in the portal, on crafted referrals (issue 16).

The year 2025 holds: PPU sent 12 referrals to Balikpapan (psychological counselling) and 3
to its police (law enforcement), one client of PPU's being referred three times; Bontang
sent 2 to Balikpapan and Kutai Kartanegara 7. One more PPU referral was sent in 2024.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest

from referral_hub.extensions import db
from tests.agreements_support import build
from tests.conftest import _csrf_from, problem
from tests.orgs import BALIKPAPAN, BONTANG, KUKAR, OPERATOR, POLRES, PPU
from tests.reports_support import MID_YEAR, YEAR, crafted_client, crafted_referral

READ = "reports:read"


@pytest.fixture
def crafted(app):
    with app.app_context():
        agreement = build("active")
        repeat = crafted_client(PPU)
        names = [repeat.full_name]
        statuses = ["completed"] * 5 + ["accepted"] * 3 + ["rejected", "requested", "requested"]
        for index, status in enumerate(statuses):
            client = crafted_client(PPU)
            names.append(client.full_name)
            answered = None if status == "requested" else 2.0 * (index + 1)
            crafted_referral(
                agreement,
                client,
                BALIKPAPAN,
                status=status,
                answered_after_hours=answered,
                # The first was answered only after its time had passed (the sweep marked
                # it); the two still requested wait past theirs.
                overdue_notified=index == 0,
            )
        crafted_referral(agreement, repeat, BALIKPAPAN, status="completed", answered_after_hours=1)
        for status in ("accepted", "in-progress", "requested"):
            crafted_referral(
                agreement,
                repeat,
                POLRES,
                service="law_enforcement",
                status=status,
                urgency="urgent",
            )
        for unit, count in ((BONTANG, 2), (KUKAR, 7)):
            for _ in range(count):
                crafted_referral(agreement, crafted_client(unit), BALIKPAPAN, status="completed")
        # Outside the year, and never counted: a draft and an entry in error.
        crafted_referral(
            agreement, crafted_client(PPU), BALIKPAPAN, sent_at=MID_YEAR - dt.timedelta(days=365)
        )
        crafted_referral(agreement, crafted_client(PPU), BALIKPAPAN, status="draft")
        crafted_referral(agreement, crafted_client(PPU), BALIKPAPAN, status="entered-in-error")
        db.session.commit()
        db.session.remove()
    return {"names": names}


def get(client, headers, report="referrals", status=200, **args):
    args.setdefault("period", str(YEAR))
    args = {k: v for k, v in args.items() if v is not None}
    response = client.get(f"/api/v1/reports/{report}", query_string=args, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json() if status == 200 and response.is_json else response


def by(rows, dimension):
    return {row[dimension]: row for row in rows}


def test_a_unit_reads_its_own_referrals_with_every_count_shown(client, hub, crafted):
    report = get(client, hub.headers(PPU, READ), group_by="recipient")
    assert report["report"] == "referrals"
    assert (report["from"], report["to"]) == (f"{YEAR}-01-01", f"{YEAR}-12-31")
    assert report["dimensions"] == ["recipient"]
    assert report["suppressed_below"] is None  # its own clients: nothing to hide
    rows = by(report["rows"], "recipient")
    assert rows[BALIKPAPAN]["count"] == 12
    assert rows[BALIKPAPAN]["completed"] == 6
    assert rows[BALIKPAPAN]["accepted"] == 9
    assert rows[BALIKPAPAN]["overdue"] == 3
    assert rows[BALIKPAPAN]["overdue_share"] == round(3 / 12, 4)
    # Answers after 1, 2, 4, 6 ... 18 hours: the median falls in the 8-12 hour bucket,
    # interpolated (half of 10 answers is the first of the bucket's two): 10 hours.
    assert rows[BALIKPAPAN]["median_hours_to_answer"] == 10.0
    assert rows[POLRES]["count"] == 3
    assert "suppressed" not in rows[POLRES]
    assert report["total"]["count"] == 15


def test_a_client_referred_several_times_is_counted_once(client, hub, crafted):
    report = get(client, hub.headers(PPU, READ), group_by="recipient")
    # The client referred four times, to two partners, counts once: 11 + 1 clients. By
    # recipient a client has no single row: clients are in the total only.
    assert "clients" not in report["rows"][0]
    assert report["total"]["clients"] == 12
    by_sender = get(client, hub.headers(OPERATOR, READ), group_by="sender")
    # The operator reads another organisation's clients: 12, rounded to a multiple of 5.
    assert by(by_sender["rows"], "sender")[PPU]["clients"] == 10


def test_the_province_view_hides_small_counts_and_a_second_cell(client, hub, crafted):
    report = get(client, hub.headers(OPERATOR, READ), group_by="sender")
    assert report["unit"] is None
    assert report["suppressed_below"] == 5
    rows = by(report["rows"], "sender")
    assert rows[BONTANG]["count"] is None
    assert rows[BONTANG]["suppressed"] is True
    # Shown alone, 24 - 15 - 7 would give Bontang's 2 away: Kutai Kartanegara's 7 goes too.
    assert rows[KUKAR]["count"] is None
    assert rows[KUKAR]["suppressed"] is True
    assert rows[PPU]["count"] == 15
    assert report["total"]["count"] == 25  # 24, rounded to a multiple of 5
    assert report["rounded_to"] == 5
    assert rows[BONTANG]["overdue_share"] is None


def test_the_operator_chooses_a_unit(client, hub, crafted):
    report = get(client, hub.headers(OPERATOR, READ), group_by="recipient", unit=PPU)
    assert report["unit"]["code"] == PPU
    rows = by(report["rows"], "recipient")
    # Still another organisation's clients for the operator: PPU's 3 to police are hidden,
    # and Balikpapan's 12 with them, or the total of 15 would give the 3 away.
    assert rows[POLRES]["count"] is None
    assert rows[BALIKPAPAN]["count"] is None
    assert report["total"]["count"] == 15


def test_a_partner_reads_what_it_received_with_small_counts_hidden(client, hub, crafted):
    police = get(client, hub.headers(POLRES, READ), group_by="service")
    assert police["side"] == "received"
    assert police["total"]["count"] is None  # 3 referrals: hidden
    assert police["total"]["suppressed"] is True
    received = get(client, hub.headers(BALIKPAPAN, READ), group_by="sender", side="received")
    rows = by(received["rows"], "sender")
    assert rows[PPU]["count"] == 10  # 12, rounded
    assert rows[BONTANG]["count"] is None
    assert rows[KUKAR]["count"] is None
    assert received["total"]["count"] == 20  # 21, rounded


def test_a_unit_cannot_read_another_units_figures(client, hub, crafted):
    response = get(client, hub.headers(PPU, READ), status=403, unit=BONTANG)
    assert problem(response)["status"] == 403
    get(client, hub.headers(PPU, "referrals:read"), status=403)


def test_bad_input_is_a_problem_naming_the_field(client, hub, crafted):
    headers = hub.headers(PPU, READ)
    assert "group_by" in problem(get(client, headers, status=422, group_by="nik"))["errors"]
    assert "period" in problem(get(client, headers, status=422, period="2025-13"))["errors"]
    response = client.get(
        "/api/v1/reports/referrals?from=2025-05-01&to=2025-01-01", headers=headers
    )
    assert response.status_code == 422
    assert get(client, headers, report="salaries", status=404)


def test_periods_month_quarter_and_custom(client, hub, crafted):
    headers = hub.headers(PPU, READ)
    assert get(client, headers, period=f"{YEAR}-06")["total"]["count"] == 15
    assert get(client, headers, period=f"{YEAR}-Q3")["total"]["count"] == 0
    custom = client.get(
        "/api/v1/reports/referrals",
        query_string={"from": f"{YEAR - 1}-01-01", "to": f"{YEAR}-12-31"},
        headers=headers,
    ).get_json()
    assert custom["total"]["count"] == 16


def test_services_group_into_simfoni_categories(client, hub, crafted):
    report = get(client, hub.headers(PPU, READ), report="services", group_by="simfoni_group")
    rows = by(report["rows"], "simfoni_group")
    assert rows["rehabilitasi_sosial"]["count"] == 12
    assert rows["penegakan_hukum"]["count"] == 3


def test_no_personal_data_in_any_report(client, hub, crafted):
    headers = hub.headers(OPERATOR, READ)
    for report, group in (
        ("referrals", "sender"),
        ("referrals", "status"),
        ("services", "service"),
    ):
        text = get(client, headers, report=report, group_by=group, format="csv").get_data(
            as_text=True
        )
        assert not any(name in text for name in crafted["names"])
        assert "KL-T-" not in text
        assert "RJ-T-" not in text


def test_csv_has_indonesian_headers_names_the_period_and_unit(client, hub, crafted):
    response = get(client, hub.headers(PPU, READ), group_by="recipient", format="csv")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffLaporan,Rujukan")
    assert f"Periode,{YEAR}-01-01 s.d. {YEAR}-12-31" in text
    assert "Unit,UPTD PPA" in text
    assert "Penerima,Jumlah,Diterima,Selesai" in text
    assert "UPTD PPA Kota Balikpapan" in text or "Balikpapan" in text.split("Penerima")[1]
    assert f"{BALIKPAPAN}," not in text  # names, not codes


def test_csv_of_the_province_writes_hidden_counts_as_hidden(client, hub, crafted):
    text = get(client, hub.headers(OPERATOR, READ), group_by="sender", format="csv").get_data(
        as_text=True
    )
    # Kutai Kartanegara's 7 is hidden beside Bontang's 2: "<5" would be false of it.
    kukar = next(line for line in text.splitlines() if "Kutai Kartanegara" in line)
    assert kukar.split(",")[1] == "disembunyikan"
    assert "<5" not in text
    assert "Kerahasiaan" in text
    assert "Pembulatan,Angka dibulatkan ke kelipatan 5" in text


def test_xlsx_is_a_workbook_with_numbers_as_numbers(client, hub, crafted):
    response = get(client, hub.headers(PPU, READ), group_by="recipient", format="xlsx")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = zipfile.ZipFile(io.BytesIO(response.get_data()))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    strings = book.read("xl/sharedStrings.xml").decode()
    assert "Penerima" in strings
    assert "Periode" in strings
    assert "<v>12</v>" in sheet  # Balikpapan's count, a number cell


def test_agreements_report_counts_by_status_and_gaps_by_service(client, hub, crafted):
    headers = hub.headers(PPU, READ)
    report = get(client, headers, report="agreements", group_by="status", period=None)
    assert by(report["rows"], "status")["active"]["count"] >= 1
    assert report["suppressed_below"] is None
    services = get(client, headers, report="agreements", group_by="service", period=None)
    rows = by(services["rows"], "service")
    assert rows["psychological_counseling"]["gaps"] == 0
    assert any(row["gaps"] for row in services["rows"])


def _browser(app, hub, org: str, role: str):
    user = hub.user(org, role)
    browser = app.test_client()
    response = hub.login(browser, user["email"])
    assert response.status_code == 302
    return browser


def test_the_portal_page_gives_the_apis_counts_with_chart_and_table(app, client, hub, crafted):
    browser = _browser(app, hub, PPU, "supervisor")
    page = browser.get(f"/reports/referrals?kind=year&year={YEAR}&group_by=recipient")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<svg class="chart-svg" role="img"' in html
    assert '<title id="bar-t">' in html
    assert '<desc id="bar-d">' in html
    # no script in the report itself (the CSP allows none inline): the chart is the SVG
    assert "<script" not in html.split("<main")[1].split("</main>")[0]
    assert '<td class="num">12</td>' in html
    assert '<td class="num">15</td>' in html
    assert '<path class="line"' in html  # the monthly line beside its table
    file = browser.get(f"/reports/referrals/export.csv?kind=year&year={YEAR}&group_by=recipient")
    assert file.status_code == 200
    assert "Penerima" in file.get_data(as_text=True)


def test_figures_are_written_as_each_language_reads_them(app, hub, crafted):
    """25% is "25,0%" in Indonesian and "25.0%" in English (in Indonesian 1.25 reads as
    125); a chart's count axis has whole ticks; a file is named in the reader's language."""
    browser = _browser(app, hub, PPU, "supervisor")
    query = f"kind=year&year={YEAR}&group_by=recipient"
    html = browser.get(f"/reports/referrals?{query}").get_data(as_text=True)
    assert '<td class="num">25,0%</td>' in html
    assert "25.0%" not in html
    # The count axes' ticks (the month names under the line are ticks too: left out).
    ticks = [
        t for t in re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', html) if t[:1].isdigit()
    ]
    assert len(ticks) >= 4
    assert all(tick.isdigit() for tick in ticks), ticks
    csv_file = browser.get(f"/reports/referrals/export.csv?{query}")
    assert "laporan-rujukan-" in csv_file.headers["Content-Disposition"]
    assert '"25,0%"' in csv_file.get_data(as_text=True)
    cases_file = browser.get(f"/reports/cases/export.xlsx?{query.replace('recipient', 'status')}")
    assert "laporan-kasus-" in cases_file.headers["Content-Disposition"]
    token = _csrf_from(browser.get("/").get_data(as_text=True))
    browser.post("/language", data={"locale": "en", "next": "/", "csrf_token": token})
    english = browser.get(f"/reports/referrals?{query}").get_data(as_text=True)
    assert '<td class="num">25.0%</td>' in english
    intakes = browser.get(f"/reports/intakes/export.csv?kind=year&year={YEAR}")
    assert "report-intakes-" in intakes.headers["Content-Disposition"]
    # The file itself stays in Indonesian.
    assert "Jumlah" in intakes.get_data(as_text=True)


def test_the_portal_page_in_english(app, hub, crafted):
    browser = _browser(app, hub, PPU, "supervisor")
    token = _csrf_from(browser.get("/").get_data(as_text=True))
    browser.post("/language", data={"locale": "en", "next": "/", "csrf_token": token})
    html = browser.get(f"/reports/services?kind=quarter&year={YEAR}&quarter=2").get_data(
        as_text=True
    )
    assert "Reports" in html
    assert "Social rehabilitation" in html


def test_a_bad_period_in_the_portal_is_a_message_beside_its_field(app, hub, crafted):
    browser = _browser(app, hub, PPU, "supervisor")
    response = browser.get("/reports/referrals?kind=custom&from=2025-05-01&to=2025-01-01")
    assert response.status_code == 422
    assert 'class="field has-error"' in response.get_data(as_text=True)


def test_a_grouping_or_unit_from_an_edited_address_is_refused_in_indonesian(app, hub, crafted):
    supervisor = _browser(app, hub, PPU, "supervisor")
    for query in ("group_by=zzz", "side=zzz"):
        page = supervisor.get(f"/reports/referrals?{query}")
        assert page.status_code == 422
        html = page.get_data(as_text=True)
        assert "Pilihan ini tidak dikenal; pilih dari daftar." in html
        assert "Unknown" not in html
        assert "Give " not in html
    operator = _browser(app, hub, OPERATOR, "supervisor").get("/reports/intakes?unit=zzz")
    assert operator.status_code == 422
    assert "Unknown unit" not in operator.get_data(as_text=True)


def test_caseworkers_have_no_reports(app, hub, crafted):
    browser = _browser(app, hub, PPU, "caseworker")
    assert browser.get("/reports/referrals").status_code == 403
    assert "Angka hari ini" not in browser.get("/").get_data(as_text=True)


def test_the_start_page_shows_the_daily_figures_from_the_reports(app, hub, crafted):
    browser = _browser(app, hub, PPU, "supervisor")
    html = browser.get("/").get_data(as_text=True)
    assert "Angka hari ini" in html
    # Open (not counting the year before's, still requested): 2 + 3 accepted + 3 to police
    # ... read from the same report the API gives.
    report = get(
        client=app.test_client(),
        headers=hub.headers(PPU, READ),
        group_by="status",
        period=None,
        **{"from": "2017-01-01"},
    )
    open_count = sum(
        r["count"]
        for r in report["rows"]
        if r["status"] in ("requested", "accepted", "in-progress", "on-hold")
    )
    assert f"<strong>{open_count}</strong> rujukan terbuka" in html


def test_a_head_of_unit_gets_this_month_in_one_step(app, hub, crafted):
    from referral_hub.reports.periods import today

    browser = _browser(app, hub, PPU, "supervisor")
    html = browser.get("/reports/cases?group_by=status").get_data(as_text=True)
    now = today()
    this_month = f"/reports/cases?kind=month&amp;year={now.year}&amp;month={now.month}"
    assert this_month in html
    assert ">Bulan ini</a>" in html
    assert ">Bulan lalu</a>" in html
    assert ">Tahun ini</a>" in html
    shown = browser.get(this_month.replace("&amp;", "&") + "&group_by=status")
    assert shown.status_code == 200
    assert f"{now.year}-{now.month:02d}-01 s.d." in shown.get_data(as_text=True)


def test_the_start_page_note_fits_the_figures_shown(app, hub, crafted):
    unit = _browser(app, hub, PPU, "supervisor").get("/").get_data(as_text=True)
    note = unit.split('class="hint"')[1].split("</p>")[0]
    assert "Rujukan yang dikirim unit Anda." in note
    assert "Aduan yang diterima unit Anda." in note
    province = _browser(app, hub, OPERATOR, "supervisor").get("/").get_data(as_text=True)
    note = province.split('class="hint"')[1].split("</p>")[0]
    assert "total provinsi" in note
    assert "aduan" in note
    assert "dibulatkan ke kelipatan 5" in note


def test_the_agreements_registry_exports_xlsx_with_indonesian_headers(app, client, hub, crafted):
    headers = hub.headers(PPU, "agreements:read")
    response = client.get("/api/v1/agreements/export.xlsx", headers=headers)
    assert response.status_code == 200
    book = zipfile.ZipFile(io.BytesIO(response.get_data()))
    strings = book.read("xl/sharedStrings.xml").decode()
    assert "Para pihak" in strings
    assert "UPTD PPA Kota Balikpapan" in strings
    assert "Aktif" in strings or "Berlaku" in strings
    portal = _browser(app, hub, PPU, "org_admin").get("/agreements/export.xlsx")
    assert portal.status_code == 200
    assert portal.mimetype.endswith("spreadsheetml.sheet")


def test_the_monthly_summary_gives_the_live_figures_and_follows_changes(app, client, hub, crafted):
    from sqlalchemy import select

    from referral_hub.referrals.models import Referral
    from referral_hub.reports.summary import refresh_referral_summary

    headers = hub.headers(OPERATOR, READ)
    groupings = (
        ("referrals", "recipient"),
        ("referrals", "sender"),
        ("referrals", "month"),
        ("referrals", "sender,service"),
        ("services", "simfoni_group"),
        ("services", "provider"),
    )
    # A year and two (the years' rows), a quarter (the months' rows).
    periods = (
        {},
        {"period": None, "from": f"{YEAR - 1}-01-01", "to": f"{YEAR}-12-31"},
        {"period": None, "from": f"{YEAR}-04-01", "to": f"{YEAR}-06-30"},
    )
    asked = [(g, i) for g in groupings for i in range(len(periods))]

    def ask(grouping, index):
        return get(client, headers, report=grouping[0], group_by=grouping[1], **periods[index])

    live = {key: ask(*key) for key in asked}
    assert all(r["as_of"] is None for r in live.values())
    with app.app_context():
        assert refresh_referral_summary() >= 2  # June 2025 and June 2024
        db.session.commit()
    for key in asked:
        summarised = ask(*key)
        assert summarised["as_of"] is not None
        assert summarised["rows"] == live[key]["rows"], key
        assert summarised["total"] == live[key]["total"], key
    assert live[(("referrals", "recipient"), 0)]["total"]["count"] > 0
    # Two years reach June of the year before too (the operator's counts are rounded to 5,
    # so the months in the answer tell it, not the totals).
    assert len(live[(("referrals", "month"), 1)]["rows"]) > len(
        live[(("referrals", "month"), 0)]["rows"]
    )
    # By status, or for a period that cuts a month, the referrals themselves are read.
    assert get(client, headers, group_by="status")["as_of"] is None
    cut = get(
        client,
        hub.headers(PPU, READ),
        period=None,
        **{"from": f"{YEAR}-06-02", "to": f"{YEAR}-12-31"},
    )
    assert cut["as_of"] is None

    with app.app_context():
        waiting = db.session.scalars(
            select(Referral).where(Referral.status == "requested", Referral.urgency == "urgent")
        ).one()
        waiting.status, waiting.updated_at = "cancelled", dt.datetime.now(dt.UTC)
        db.session.commit()
        assert refresh_referral_summary() == 1  # only the month that changed
        db.session.commit()
    after = get(client, hub.headers(PPU, READ), group_by="recipient")
    assert after["as_of"] is not None
    assert by(after["rows"], "recipient")[POLRES]["accepted"] == 2
    assert after["total"]["count"] == 15


def test_the_summary_can_be_rebuilt_whole_from_the_command_line(app, client, hub, crafted):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hub", "reports-refresh", "--full"])
    assert result.exit_code == 0, result.output
    assert "months rebuilt" in result.output
    assert "cases" in result.output
    report = get(client, hub.headers(PPU, READ), group_by="recipient")
    assert report["as_of"] is not None
    assert report["total"]["count"] == 15


@pytest.fixture
def cases(app):
    """PPU opened 9 cases in 2025 (one client has two, one case is of two violence types),
    Bontang 3; Kutai Kartanegara one in 2024."""
    from tests.reports_support import crafted_case

    with app.app_context():
        twice = crafted_client(PPU)
        crafted_case(twice, violence_types=("physical", "psychological"))
        crafted_case(twice, violence_types=("physical",), status="closed")
        for _ in range(6):
            crafted_case(crafted_client(PPU), violence_types=("physical",))
        crafted_case(crafted_client(PPU), violence_types=("sexual",), place="school")
        for _ in range(3):
            crafted_case(crafted_client(BONTANG), violence_types=("sexual",))
        crafted_case(crafted_client(KUKAR), opened_at=MID_YEAR - dt.timedelta(days=365))
        db.session.commit()
        db.session.remove()


def test_the_case_report_counts_a_units_cases_in_simfoni_categories(client, hub, cases):
    report = get(client, hub.headers(PPU, READ), report="cases", group_by="violence_type")
    assert report["suppressed_below"] is None  # the unit's own cases
    rows = by(report["rows"], "violence_type")
    assert rows["physical"]["count"] == 8
    assert rows["physical"]["clients"] == 7  # the client with two cases counts once
    assert rows["psychological"]["count"] == 1
    assert rows["sexual"]["count"] == 1
    assert report["total"] == {"count": 9, "closed": 1, "clients": 8}
    by_place = get(client, hub.headers(PPU, READ), report="cases", group_by="place_type")
    assert by(by_place["rows"], "place_type")["school"]["count"] == 1


def test_the_province_case_report_hides_small_counts(client, hub, cases):
    report = get(client, hub.headers(OPERATOR, READ), report="cases", group_by="violence_type")
    rows = by(report["rows"], "violence_type")
    assert rows["physical"]["count"] == 10  # 8, rounded to a multiple of 5
    # Sexual: 1 at PPU + 3 at Bontang = 4; psychological 1: both hidden.
    assert rows["sexual"]["count"] is None
    assert rows["psychological"]["count"] is None
    assert report["total"]["count"] == 10  # 12, rounded
    police = get(client, hub.headers(POLRES, READ), report="cases")
    assert police["rows"] == []
    assert police["total"]["count"] == 0


CASE_DIMENSIONS = (
    "violence_type",
    "age_band",
    "sex",
    "place_type",
    "perpetrator_relationship",
    "region",
    "status",
    "risk_level",
    "month",
    "violence_type,age_band",
)


def test_the_case_facts_give_the_live_figures_and_follow_changes(app, client, hub, cases):
    """The case report from the facts the job keeps (reports/case_summary.py) gives the
    figures read from the cases, for a unit and the province, by every dimension; a case
    closed after a refresh is in the next one, and only it is rewritten."""
    from sqlalchemy import select

    from referral_hub.cases.models import Case
    from referral_hub.reports.case_summary import refresh_case_summary

    readers = (hub.headers(PPU, READ), hub.headers(OPERATOR, READ))
    live = {
        (who, dims): get(client, headers, report="cases", group_by=dims)
        for who, headers in enumerate(readers)
        for dims in CASE_DIMENSIONS
    }
    assert all(report["as_of"] is None for report in live.values())
    with app.app_context():
        assert refresh_case_summary() == 13
        db.session.commit()
    for (who, dims), expected in live.items():
        report = get(client, readers[who], report="cases", group_by=dims)
        assert report["as_of"] is not None
        assert report["rows"] == expected["rows"], dims
        assert report["total"] == expected["total"], dims
    with app.app_context():
        case = db.session.scalars(
            select(Case).where(Case.status == "open", Case.incident_place_type == "school")
        ).one()
        case.status, case.updated_at = "closed", dt.datetime.now(dt.UTC)
        db.session.commit()
        assert refresh_case_summary() == 1
        db.session.commit()
    after = get(client, readers[0], report="cases", group_by="place_type")
    assert by(after["rows"], "place_type")["school"]["closed"] == 1
    assert after["total"] == {"count": 9, "closed": 2, "clients": 8}


def test_the_case_report_in_the_portal_and_as_a_file(app, hub, cases):
    browser = _browser(app, hub, PPU, "supervisor")
    html = browser.get(f"/reports/cases?kind=year&year={YEAR}&group_by=violence_type").get_data(
        as_text=True
    )
    assert '<td class="num">8</td>' in html
    text = browser.get(
        f"/reports/cases/export.csv?kind=year&year={YEAR}&group_by=violence_type"
    ).get_data(as_text=True)
    assert "Jenis kekerasan,Jumlah,Ditutup,Klien" in text
    assert "Fisik,8,1,7" in text
