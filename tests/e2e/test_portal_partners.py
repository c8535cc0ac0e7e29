"""Partner agencies in a real browser: Rujukan masuk, Terima, sessions, the outcome; on a phone too.

The first test is the issue's own check, with the README's demo accounts.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from referral_hub.demo import DEMO_PASSWORD, load_demo
from referral_hub.extensions import db
from tests.clients_support import CANARY
from tests.e2e.conftest import no_horizontal_scroll, screenshot, sign_in
from tests.referrals_support import BALIKPAPAN, Scenario

pytestmark = pytest.mark.e2e

PSYCHOLOGIST = "psikolog@balikpapan.demo"


@pytest.fixture
def demo(app, restore_directory):
    with app.app_context():
        load_demo()
        db.session.commit()
        db.session.remove()


@pytest.fixture
def waiting(app, client, hub):
    """A referral from PPU waiting at Balikpapan, and the e-mail of a Balikpapan caseworker.

    Lighter than the whole demo; its client's personal fields hold canaries.
    """
    scenario = Scenario(app, client, hub)
    scenario.send()
    return hub.user(BALIKPAPAN, "caseworker")["email"]


def _menu(page):
    return page.get_by_role("navigation", name="Menu utama")


def _open_waiting_referral(page) -> None:
    """From anywhere: Rujukan masuk, then the first referral still waiting for an answer."""
    _menu(page).get_by_role("link", name="Rujukan masuk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rujukan masuk")
    row = page.locator("tbody tr", has_text="Menunggu jawaban").first
    row.get_by_role("link").click()
    expect(page.locator("#status")).to_contain_text("Menunggu jawaban")


def test_the_issue_check_with_the_readme_demo_accounts(page, demo):
    # The PPU caseworker's pages are in Indonesian and show referrals.
    sign_in(page, "caseworker@ppu.demo", DEMO_PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang")
    expect(_menu(page)).to_contain_text("Rujukan")
    screenshot(page, "home-ppu-caseworker-demo-desktop")
    page.get_by_role("button", name="Keluar").click()

    # Balikpapan's psychologist opens Rujukan masuk, a waiting referral, and presses Terima.
    sign_in(page, PSYCHOLOGIST, DEMO_PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "id")
    _menu(page).get_by_role("link", name="Rujukan masuk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rujukan masuk")
    screenshot(page, "inbox-psychologist-desktop")
    page.locator("tbody tr", has_text="Menunggu jawaban").first.get_by_role("link").click()
    expect(page.locator("#status")).to_contain_text("Menunggu jawaban")
    screenshot(page, "received-detail-requested-desktop")
    page.get_by_role("button", name="Terima", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Diterima")
    expect(page.get_by_role("status")).to_contain_text("diterima")
    expect(page.get_by_role("button", name="Terima", exact=True)).to_have_count(0)
    screenshot(page, "received-detail-accepted-desktop")


def test_reject_without_a_reason_says_so_beside_the_field(page, waiting):
    sign_in(page, waiting)
    _open_waiting_referral(page)
    page.get_by_role("button", name="Tolak").click()
    error = page.locator("#f-reject_reason-error")
    expect(error).to_contain_text("Alasan wajib diisi")
    expect(page.locator("#f-reject_reason")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("Menunggu jawaban")
    screenshot(page, "received-reject-error-desktop")
    # The error summary's link takes the keyboard to the field.
    page.locator("#error-summary a").first.click()
    expect(page.locator("#f-reject_reason")).to_be_focused()


def test_accept_schedule_a_session_and_complete_with_an_outcome(page, waiting):
    sign_in(page, waiting)
    _open_waiting_referral(page)
    page.get_by_role("button", name="Terima", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Diterima")

    page.get_by_label("Tanggal dan jam").fill("2030-01-02T09:30")
    page.get_by_label("Cara sesi").select_option("in_person")
    page.get_by_label("Tempat").fill("Ruang konseling UPTD PPA Balikpapan")
    page.get_by_label("Petugas").fill("Psikolog klinis")
    page.get_by_label("Durasi (menit)").fill("60")
    page.get_by_role("button", name="Jadwalkan").click()
    expect(page.get_by_role("status")).to_contain_text("Sesi dijadwalkan pada 2 Jan 2030, 09.30")
    session = page.locator(".appointment").first
    expect(session).to_contain_text("Ruang konseling UPTD PPA Balikpapan")
    expect(session).to_contain_text("Terjadwal")
    screenshot(page, "received-session-scheduled-desktop")

    session.get_by_label("Catatan sesi (tidak wajib)").fill(
        "Sesi pertama, klien hadir bersama ibu."
    )
    # A session in 2030 has not taken place: attendance waits, said in the page, note kept.
    session.get_by_role("button", name="Hadir", exact=True).click()
    session = page.locator(".appointment").first
    expect(session.get_by_role("alert")).to_contain_text("Sesi belum dimulai")
    expect(session.get_by_label("Catatan sesi (tidak wajib)")).to_have_value(
        "Sesi pertama, klien hadir bersama ibu."
    )
    expect(session).to_contain_text("Terjadwal")
    screenshot(page, "received-session-attendance-too-early-desktop")

    page.get_by_role("button", name="Mulai").click()
    expect(page.locator("#status")).to_contain_text("Sedang berjalan")
    page.locator("#f-outcome").select_option("service_delivered")
    page.get_by_label("Ringkasan hasil").fill("Empat sesi selesai; tindak lanjut di UPTD PPA PPU.")
    page.get_by_role("button", name="Selesai", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Selesai")
    expect(page.get_by_text("Layanan diberikan", exact=True)).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Jadwal sesi dibuat")
    screenshot(page, "received-detail-completed-desktop")


def test_phone_width_inbox_and_detail(phone, waiting):
    sign_in(phone, waiting)
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Selamat datang")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "home-psychologist-phone")
    _open_waiting_referral(phone)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "received-detail-phone")
    phone.get_by_role("button", name="Terima", exact=True).click()
    expect(phone.locator("#status")).to_contain_text("Diterima")
    assert no_horizontal_scroll(phone)
    phone.goto("/referrals/received")
    assert no_horizontal_scroll(phone)
    # Rows become cards (the table head gives way to a label inside each cell).
    expect(phone.locator("table.referrals thead")).to_be_hidden()
    screenshot(phone, "inbox-phone")


def test_the_recipient_page_source_holds_only_the_minimised_view(page, waiting):
    """Identity and the case summary are shared; contact, guardian and consent giver are not."""
    sign_in(page, waiting)
    _open_waiting_referral(page)
    html = page.content()
    assert CANARY["full_name"] in html  # identity is allowed for this referral
    for canary in ("phone", "address", "guardian_name", "guardian_phone", "giver_name"):
        assert CANARY[canary] not in html, canary
    assert "PPU-INTERNAL-42" not in html  # the sender's own reference


def test_the_inbox_and_detail_in_english(page, waiting):
    sign_in(page, waiting)
    page.get_by_role("button", name="English").click()
    page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Received referrals"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Received referrals")
    page.locator("tbody tr").first.get_by_role("link").click()
    expect(page.locator("#status")).to_contain_text("Awaiting answer")
    expect(page.get_by_role("button", name="Accept", exact=True)).to_be_visible()
    page.get_by_role("button", name="Reject").click()
    expect(page.locator("#f-reject_reason-error")).to_contain_text("A reason is required")
    screenshot(page, "received-detail-english-desktop")
