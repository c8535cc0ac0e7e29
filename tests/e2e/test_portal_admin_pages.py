"""Administrators and auditors in a real browser: draft, sign (two parties), upload, coverage,
the registry's expiring-soon view, webhooks; and the registry at phone width."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from referral_hub.extensions import db
from tests.agreements_support import build, today
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import DESKTOP, SCREENSHOTS, no_horizontal_scroll, screenshot, sign_in
from tests.orgs import BALIKPAPAN, PPU

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _menu(page):
    return page.get_by_role("navigation", name="Menu utama")


def _build(app, status: str, **overrides) -> str:
    with app.app_context():
        agreement_id = build(status, **overrides)
        db.session.remove()
        return agreement_id


def test_an_administrator_drafts_signs_and_uploads_an_agreement(page, browser, live_server, hub):
    admin = hub.user(PPU, "org_admin")
    partner = hub.user(BALIKPAPAN, "org_admin")
    sign_in(page, admin["email"])
    _menu(page).get_by_role("link", name="Perjanjian").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Perjanjian")
    page.get_by_role("link", name="Susun perjanjian baru").click()

    page.get_by_label("Nomor perjanjian").fill("463/PKS/UPTD-PPA/2026")
    page.get_by_label("Judul").fill("Layanan psikolog klinis bagi klien UPTD PPA PPU")
    page.get_by_label("Tujuan").fill(
        "Psikolog klinis UPTD PPA Balikpapan memberikan asesmen dan konseling bagi klien PPU."
    )
    page.get_by_role("checkbox", name="UPTD PPA Kota Balikpapan").check()
    page.get_by_label("Layanan baris 1").select_option("psychological_counseling")
    page.get_by_label("Penyedia baris 1").select_option(label="UPTD PPA Kota Balikpapan")
    page.get_by_role("checkbox", name="Identitas").check()
    page.get_by_role("checkbox", name="Ringkasan kasus").check()
    page.get_by_label("Jabatan penanda tangan 1").fill("Kepala UPTD PPA PPU")
    page.get_by_label("Organisasi penanda tangan 1").select_option(
        label="UPTD PPA Kabupaten Penajam Paser Utara"
    )
    screenshot(page, "agreement-new-desktop")
    page.get_by_role("button", name="Simpan draf", exact=True).last.click()

    expect(page.locator("#status")).to_contain_text("Draf")
    expect(page.get_by_role("status")).to_contain_text("disimpan")
    page.get_by_role("button", name="Tandatangani").click()
    expect(page.get_by_role("status")).to_contain_text("ditandatangani atas nama organisasi Anda")
    expect(page.locator("#status")).to_contain_text("Draf")  # one party of two has signed
    detail_url = page.url

    # The second party signs in its own browser context.
    other = browser.new_context(base_url=live_server, viewport=DESKTOP, locale="id-ID")
    try:
        second = other.new_page()
        sign_in(second, partner["email"], TEST_PASSWORD)
        second.goto(detail_url)
        second.get_by_role("button", name="Tandatangani").click()
        expect(second.locator("#status")).to_contain_text("Berlaku")
    finally:
        other.close()

    page.reload()
    expect(page.locator("#status")).to_contain_text("Berlaku")
    page.get_by_label("Berkas PDF").set_input_files(
        {"name": "PKS 463 ditandatangani.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Unggah").click()
    expect(page.get_by_role("status")).to_contain_text("diunggah")
    expect(page.locator("#documents")).to_contain_text("PKS_463_ditandatangani.pdf")
    expect(page.locator(".timeline")).to_contain_text("Dokumen perjanjian diunggah")
    screenshot(page, "agreement-active-desktop")


def test_a_draft_with_a_provider_outside_the_parties_is_shown_beside_the_row(page, hub):
    admin = hub.user(PPU, "org_admin")
    sign_in(page, admin["email"])
    page.goto("/agreements/new")
    page.get_by_label("Nomor perjanjian").fill("PKS/SALAH/1")
    page.get_by_label("Judul").fill("Contoh")
    page.get_by_label("Tujuan").fill("Contoh")
    page.get_by_role("checkbox", name="UPTD PPA Kota Balikpapan").check()
    page.get_by_label("Layanan baris 1").select_option("psychological_counseling")
    page.get_by_label("Penyedia baris 1").select_option(label="UPTD PPA Kota Bontang")
    page.get_by_role("button", name="Simpan draf", exact=True).last.click()
    expect(page.locator("#f-provider-0-error")).to_contain_text("bukan pihak")
    expect(page.get_by_label("Nomor perjanjian")).to_have_value("PKS/SALAH/1")
    screenshot(page, "agreement-new-errors-desktop")


def test_the_coverage_matrix_shows_the_gap(page, app, hub):
    admin = hub.user(PPU, "org_admin")
    sign_in(page, admin["email"])
    _menu(page).get_by_role("link", name="Cakupan").click()
    row = page.get_by_role("row", name="Konseling psikologis")
    expect(row).to_contain_text("Celah")
    expect(page.locator(".gaps")).to_contain_text("Konseling psikologis")
    screenshot(page, "coverage-gap-desktop")
    _build(app, "active")
    page.reload()
    expect(page.get_by_role("row", name="Konseling psikologis")).to_contain_text("Tercakup")


def test_the_hub_operator_sees_the_region(page, app, hub):
    _build(app, "active")
    auditor = hub.user("dp3a-kaltim", "auditor")
    sign_in(page, auditor["email"])
    _menu(page).get_by_role("link", name="Cakupan").click()
    expect(page.locator("table.matrix thead")).to_contain_text("UPTD PPA Kabupaten Penajam")
    screenshot(page, "coverage-region-desktop")
    _menu(page).get_by_role("link", name="Perjanjian").click()
    expect(page.get_by_role("link", name="TEST/PKS/001")).to_be_visible()


def test_the_registry_expiring_soon_and_at_phone_width(phone, app, hub):
    _build(app, "active", number="PKS/SEGERA/1", expires_on=today() + dt.timedelta(days=12))
    _build(app, "draft", number="PKS/DRAF/2")
    admin = hub.user(PPU, "org_admin")
    sign_in(phone, admin["email"])
    phone.goto("/agreements")
    expect(phone.get_by_role("link", name="PKS/DRAF/2")).to_be_visible()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "agreements-phone")
    phone.get_by_role("link", name="Segera berakhir (30 hari)").click()
    expect(phone.get_by_role("link", name="PKS/SEGERA/1")).to_be_visible()
    expect(phone.get_by_role("link", name="PKS/DRAF/2")).to_have_count(0)
    expect(phone.locator("tbody")).to_contain_text("berakhir dalam 12 hari")
    phone.get_by_role("link", name="PKS/SEGERA/1").click()
    expect(phone.locator("#status")).to_contain_text("Berlaku")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "agreement-detail-phone")
    phone.goto("/coverage")
    assert no_horizontal_scroll(phone)  # the matrix scrolls inside its own box
    screenshot(phone, "coverage-phone")


def test_webhooks_secret_shown_once(page, hub):
    admin = hub.user(PPU, "org_admin")
    sign_in(page, admin["email"])
    page.goto("/webhooks")
    page.get_by_role("link", name="Tambah webhook").click()
    page.get_by_label("URL penerima").fill("http://127.0.0.1:9/hub-events")
    page.get_by_role("checkbox", name="referral.requested").check()
    page.get_by_role("button", name="Simpan").click()
    expect(page.locator("#webhook-secret")).to_contain_text("whsec_")
    screenshot(page, "webhook-created-desktop")
    page.get_by_role("link", name="Selesai").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pengiriman webhook")
    page.goto("/webhooks")
    expect(page.get_by_text("http://127.0.0.1:9/hub-events")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("whsec_")
    screenshot(page, "webhooks-desktop")


#: How many lines the text of each of the first row's cells takes (one box top per line).
_LINES_PER_CELL = """(row) => [...row.querySelectorAll('td')].map((cell) => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
})"""


def test_the_audit_log_keeps_number_time_and_actor_readable_on_a_desktop(page, hub):
    """The details column is wide; it must not squeeze #, Waktu and Pelaku to a letter a line."""
    admin = hub.user(PPU, "org_admin")
    sign_in(page, admin["email"])
    page.goto("/audit")
    row = page.locator("table.audit tbody tr").first
    expect(row).to_contain_text(admin["email"])
    screenshot(page, "audit-log-desktop")
    seq, time, actor = row.evaluate(_LINES_PER_CELL)[:3]
    assert seq == 1
    assert time <= 2  # the date, then the time below it when the row is full; never a letter
    assert actor <= 2  # the test address may break at its hyphen, never letter by letter
    assert no_horizontal_scroll(page)


#: For each of the first rows' cells: (lines its text takes, words in it).
_LINES_AND_WORDS = """(rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  return [lines, cell.innerText.trim().split(/[\\s-]+/).length];
}))"""


def test_the_audit_log_in_words_at_desktop_and_phone_width(page, phone, app, hub):
    """Entries about a referral, a client, a consent and an agreement: words and numbers;
    no cell breaks a word across lines at 1280 px, and the phone never scrolls sideways."""
    from tests.portal_sender_support import build_world, referral_form

    world = build_world(app)
    caseworker = hub.user(PPU, "caseworker")
    with app.test_client() as browser:
        assert hub.login(browser, caseworker["email"]).status_code == 302
        token = re.search(
            r'name="csrf_token" value="([^"]+)"', browser.get("/").get_data(as_text=True)
        )
        form = {**referral_form(world), "csrf_token": token.group(1)}
        assert browser.post("/referrals/new", data=form).status_code == 302
    admin = hub.user(PPU, "org_admin")
    sign_in(page, admin["email"])
    page.goto("/audit")
    expect(page.locator("table.audit")).to_contain_text("Rujukan RJ-")
    expect(page.locator("table.audit")).to_contain_text("Perjanjian TEST/PKS/001")
    screenshot(page, "audit-log-words-desktop")
    cells = page.locator("table.audit tbody tr").evaluate_all(_LINES_AND_WORDS)
    broken = [
        (r, c, lines, words)
        for r, row in enumerate(cells)
        for c, (lines, words) in enumerate(row)
        if lines > words
    ]
    assert broken == []  # (row, column, lines, words): a word split across lines
    assert no_horizontal_scroll(page)

    sign_in(phone, admin["email"])
    phone.goto("/audit")
    expect(phone.locator("table.audit")).to_contain_text("Rujukan RJ-")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "audit-log-words-phone")
    phone.locator("table.audit tbody tr").nth(4).scroll_into_view_if_needed()
    phone.screenshot(path=str(SCREENSHOTS / "audit-log-words-phone-rows.png"))
