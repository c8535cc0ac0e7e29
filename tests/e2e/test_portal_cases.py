"""Cases in a real browser, issue 14's check: a caseworker opens a case for a client, plans a
partner's service and refers it; the partner sees the case summary only when it was shared;
a due follow-up waits on the caseworker's start page and the unit's overdue items on the
supervisor's; the case closes and reopens. Also at phone width and in English."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from referral_hub.clients.models import local_today
from referral_hub.clients.operations import find_by_nik
from referral_hub.demo import DEMO_PASSWORD, load_demo
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from tests.e2e.conftest import no_horizontal_scroll, screenshot, sign_in

pytestmark = pytest.mark.e2e

CASEWORKER = "caseworker@ppu.demo"
SUPERVISOR = "supervisor@ppu.demo"
PSYCHOLOGIST = "psikolog@balikpapan.demo"
INVESTIGATOR = "penyidik@polres-ppu.demo"
CHRONOLOGY = "Dipukul suami di dapur setelah bertengkar soal uang (fiktif, uji peramban)."


def _demo(app) -> str:
    """Load the demo; the code of PPU's adult client, who consents to Balikpapan and Polres."""
    with app.app_context():
        load_demo()
        db.session.commit()
        client = find_by_nik(find_organization("uptd-ppa-ppu").id, "0000000000000002")
        code = client.code
        db.session.remove()
        return code


def _day(days: int) -> str:
    return (local_today() + dt.timedelta(days=days)).isoformat()


def _open_case(page, client_code: str) -> str:
    page.goto("/cases/new")
    page.get_by_label(re.compile(r"^Klien")).fill(client_code)
    page.get_by_label("Tinggi").check()
    page.get_by_label("Fisik").check()
    page.get_by_label("Psikis").check()
    page.get_by_label("Tanggal kejadian").fill(_day(-3))
    page.get_by_label("Tempat kejadian").select_option(label="Rumah tangga")
    page.get_by_label("Hubungan dengan terduga pelaku").select_option(label="Suami/istri")
    page.get_by_label("Ringkasan kasus").fill(CHRONOLOGY)
    page.get_by_role("button", name="Buka kasus").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"Kasus KS-PPU-\d{4}-\d{6}"))
    return re.search(r"KS-PPU-\d{4}-\d{6}", heading.inner_text()).group(0)


def _add_item(page, service: str, provider: str, due: str, note: str) -> None:
    page.get_by_role("link", name="Tambah rencana").click()
    page.get_by_label(re.compile(r"^Layanan")).select_option(service)
    page.get_by_label("Pemberi layanan").select_option(label=provider)
    page.get_by_label("Target tanggal").fill(due)
    page.get_by_label("Catatan").fill(note)
    page.get_by_role("button", name="Tambah", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Rencana layanan ditambahkan")


def _refer(page, provider: str, *, share_summary: bool) -> str:
    """Refer the plan item of `provider`; the referral's path as the sender sees it."""
    item = page.locator("#plan li", has_text=provider)
    item.get_by_role("link", name="Rujuk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Rujuk ke {provider}")
    page.get_by_label("Persetujuan klien").select_option(index=1)
    page.get_by_label(re.compile(r"^Identitas")).check()
    # The form offers the summary ticked: the caseworker decides, per referral.
    page.get_by_label(re.compile(r"^Ringkasan kasus")).set_checked(share_summary)
    screenshot(page, f"cases-refer-{'summary' if share_summary else 'identity'}-desktop")
    page.get_by_role("button", name="Kirim rujukan").click()
    link = page.locator("#plan li", has_text=provider).locator('a[href^="/referrals/"]')
    expect(link).to_have_text(re.compile(r"RJ-PPU-"))
    return link.get_attribute("href")


def _partner_sees(browser_page, email: str, referral_path: str, shot: str) -> str:
    sign_in(browser_page, email, DEMO_PASSWORD)
    browser_page.goto(referral_path.replace("/referrals/", "/referrals/received/"))
    expect(browser_page.get_by_role("heading", level=1)).to_contain_text("RJ-PPU-")
    screenshot(browser_page, shot)
    return browser_page.locator("main").inner_text()


def test_a_case_from_opening_to_closing(page, app, browser, live_server):
    client_code = _demo(app)
    sign_in(page, CASEWORKER, DEMO_PASSWORD)
    number = _open_case(page, client_code)
    expect(page.get_by_role("status")).to_contain_text(number)
    case_url = page.url
    _add_item(
        page,
        "psychological_counseling",
        "UPTD PPA Kota Balikpapan",
        _day(10),
        "Konseling psikolog klinis untuk kecemasan setelah kekerasan.",
    )
    _add_item(
        page,
        "law_enforcement",
        "Kepolisian Resor Penajam Paser Utara",
        _day(5),
        "Pendampingan membuat laporan polisi.",
    )
    _add_item(page, "accompaniment", "Unit sendiri", _day(-2), "Antar klien ke Polres PPU.")
    expect(page.locator("#plan li", has_text="Antar klien")).to_contain_text("Terlambat")
    counselling = _refer(page, "UPTD PPA Kota Balikpapan", share_summary=False)
    police = _refer(page, "Kepolisian Resor Penajam Paser Utara", share_summary=True)
    page.locator("#f-text").fill("Telepon klien: tanyakan jadwal konseling.")
    page.get_by_label("Tindak lanjut pada").fill(_day(0))
    page.get_by_role("button", name="Simpan catatan").click()
    expect(page.locator("ol.timeline")).to_contain_text("Telepon klien")
    screenshot(page, "cases-view-desktop")

    # The partners: the summary reaches the one it was shared with, and only that one.
    for email, path, shared in (
        (PSYCHOLOGIST, counselling, False),
        (INVESTIGATOR, police, True),
    ):
        context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
        try:
            partner = context.new_page()
            seen = _partner_sees(partner, email, path, f"cases-partner-{email.split('@')[0]}")
            assert (CHRONOLOGY in seen) is shared, email
            # The case's number goes with its data: kept by the sender unless shared.
            assert (number in seen) is shared, email
        finally:
            context.close()

    # The caseworker's start page: the follow-up due today.
    page.goto("/")
    panel = page.get_by_role("region", name="Kasus saya")
    expect(panel.locator("#my-follow-ups li", has_text=number)).to_contain_text("Hari ini")
    screenshot(page, "cases-home-caseworker-desktop")

    # The supervisor's: the unit's overdue plan item.
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    try:
        supervisor = context.new_page()
        sign_in(supervisor, SUPERVISOR, DEMO_PASSWORD)
        late = supervisor.get_by_role("region", name="Kasus saya")
        expect(late.locator("li.late", has_text=number)).to_contain_text("Pendampingan")
        screenshot(supervisor, "cases-home-supervisor-desktop")
    finally:
        context.close()

    # Closing and reopening.
    page.goto(case_url)
    page.locator(".page-head .actions").get_by_role("link", name="Tutup kasus").click()
    page.get_by_label("Tujuan tercapai").check()
    page.get_by_label("Ringkasan penutupan").fill("Klien aman dan didampingi keluarga.")
    screenshot(page, "cases-close-desktop")
    page.get_by_role("button", name="Tutup kasus").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ditutup")
    expect(page.get_by_role("link", name="Tambah rencana")).to_have_count(0)
    expect(page.locator("#plan .tag-late")).to_have_count(0)  # a closed case is late for nothing
    screenshot(page, "cases-closed-desktop")
    page.get_by_role("button", name="Buka kembali").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Terbuka")
    expect(page.get_by_role("link", name="Tambah rencana")).to_be_visible()
    page.goto("/cases")
    expect(page.get_by_role("table")).to_contain_text(number)
    screenshot(page, "cases-list-desktop")


def test_cases_at_phone_width_and_in_english(phone, app):
    client_code = _demo(app)
    sign_in(phone, CASEWORKER, DEMO_PASSWORD)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "cases-home-phone")
    phone.goto("/cases/new")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "cases-new-phone")
    number = _open_case(phone, client_code)
    assert no_horizontal_scroll(phone)
    _add_item(
        phone,
        "psychological_counseling",
        "UPTD PPA Kota Balikpapan",
        _day(7),
        "Konseling psikolog klinis.",
    )
    _refer(phone, "UPTD PPA Kota Balikpapan", share_summary=True)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "cases-view-phone")
    # The demo child's case: police, hospital, Balikpapan, a follow-up due today.
    phone.goto("/cases")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "cases-list-phone")
    phone.get_by_role("button", name="English").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Cases")
    phone.get_by_role("link", name=number).click()
    expect(phone.get_by_role("heading", name="Service plan")).to_be_visible()
    expect(phone.locator("#plan")).to_contain_text("Psychological counselling")
    expect(phone.locator("dl.facts dt").first).to_have_text("Client")
    # The unit's own reads are counted on one line instead of one entry per opening.
    expect(phone.get_by_text(re.compile(r"^Read by your unit: \d+ times"))).to_be_visible()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "cases-view-phone-en")
    phone.goto("/")
    expect(phone.get_by_role("region", name="My cases")).to_be_visible()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "cases-home-phone-en")
