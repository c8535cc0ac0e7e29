"""UPTD caseworkers in a real browser: the referral wizard on desktop and phone, the sent list,
the letter, and the client pages, on the demo data with the demo accounts of the README."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from referral_hub.clients.operations import find_by_nik
from referral_hub.demo import DEMO_PASSWORD, load_demo
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from tests.e2e.conftest import no_horizontal_scroll, screenshot, sign_in

pytestmark = pytest.mark.e2e

CASEWORKER = "caseworker@ppu.demo"


#: The scan of a signed consent form, as the upload field takes it.
SIGNED_FORM = {
    "name": "formulir-persetujuan.pdf",
    "mimeType": "application/pdf",
    "buffer": b"%PDF-1.4 signed consent form",
}


def _demo_client(app, nik: str) -> dict[str, str]:
    """Load the demo and name one of PPU's demo clients (by its fictional NIK)."""
    with app.app_context():
        load_demo()
        db.session.commit()
        client = find_by_nik(find_organization("uptd-ppa-ppu").id, nik)
        found = {"id": client.id, "code": client.code}
        db.session.remove()
        return found


def _walk_wizard(page, client_id: str, shots: str, *, check_width: bool = False) -> None:
    """From the first step of the wizard to the review, choosing Balikpapan's psychologist."""

    def step(name: str) -> None:
        expect(page.locator('input[name="step"]')).to_have_value(name)
        screenshot(page, f"{shots}-{name}")
        if check_width:
            assert no_horizontal_scroll(page), name

    step("client")
    page.get_by_label("Klien").select_option(client_id)
    page.get_by_role("button", name="Lanjut").click()
    step("service")
    page.get_by_label("Konseling psikologis").check()
    page.get_by_role("button", name="Lanjut").click()
    step("partner")
    page.get_by_label(re.compile("UPTD PPA Kota Balikpapan")).check()
    page.get_by_role("button", name="Lanjut").click()
    step("basis")
    page.get_by_label("Persetujuan klien", exact=True).check()
    page.locator('input[name="consent"]:not([disabled])').first.check()
    page.get_by_role("button", name="Lanjut").click()
    step("categories")
    # Only what agreement and consent both allow is offered; the rest says why not.
    expect(page.locator('input[name="data_categories"][value="perpetrator"]')).to_have_count(0)
    expect(page.locator(".why-not")).to_contain_text("Terduga pelaku")
    page.get_by_label(re.compile(r"^Identitas")).check()
    page.get_by_label(re.compile(r"^Ringkasan kasus")).check()
    page.get_by_role("button", name="Lanjut").click()
    step("details")
    page.get_by_label("Segera").check()
    page.get_by_label("Alasan rujukan").fill("Perlu asesmen dan konseling psikolog klinis.")
    page.get_by_label("Psikis").check()
    page.get_by_label("Kronologi").fill("Kejadian berulang di rumah (fiktif).")
    page.get_by_role("button", name="Lanjut").click()
    step("review")
    expect(page.locator(".recipient-view")).to_contain_text("UPTD PPA Kota Balikpapan")


def test_ppu_caseworker_sends_a_referral_to_balikpapan_and_prints_the_letter(page, app):
    client = _demo_client(app, "0000000000000002")
    sign_in(page, CASEWORKER, DEMO_PASSWORD)
    panel = page.locator("section.panel", has=page.get_by_role("heading", name="Rujukan keluar"))
    expect(panel).to_be_visible()
    screenshot(page, "uptd-home-desktop")
    panel.get_by_role("link", name="Buat rujukan").click()
    _walk_wizard(page, client["id"], "uptd-wizard-desktop")
    review = page.locator(".recipient-view")
    expect(review).to_contain_text("Klien Demo Dua")  # identity is shared
    expect(review).not_to_contain_text("0812-0000-0002")  # contact is not
    page.get_by_role("button", name="Kirim rujukan").click()

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^Rujukan RJ-PPU-\d{4}-\d{6}$"))
    number = heading.inner_text().removeprefix("Rujukan ")
    expect(page.get_by_role("status")).to_contain_text("terkirim ke UPTD PPA Kota Balikpapan")
    expect(page.locator("#status")).to_contain_text("Menunggu jawaban")
    screenshot(page, "uptd-referral-detail-desktop")

    page.get_by_role("navigation", name="Menu utama").get_by_role("link", name="Beranda").click()
    expect(page.get_by_role("region", name="Rujukan keluar")).to_contain_text(number)
    page.get_by_role("navigation", name="Menu utama").get_by_role(
        "link", name="Rujukan keluar"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rujukan keluar")
    expect(page.get_by_role("table")).to_contain_text(number)
    screenshot(page, "uptd-sent-desktop")

    page.get_by_role("link", name=number).click()
    page.get_by_role("link", name="Surat rujukan").click()
    letter = page.locator("article.letter")
    expect(letter).to_contain_text("SURAT RUJUKAN")
    expect(letter).to_contain_text(number)
    expect(letter).to_contain_text("Klien Demo Dua")
    expect(letter).not_to_contain_text("0812-0000-0002")
    expect(page.locator("#print-page")).to_be_visible()  # the script found the button
    screenshot(page, "uptd-letter-desktop")
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("#print-page")).to_be_hidden()
    screenshot(page, "uptd-letter-print")


def test_the_wizard_at_phone_width(phone, app):
    client = _demo_client(app, "0000000000000001")
    sign_in(phone, CASEWORKER, DEMO_PASSWORD)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "uptd-home-phone")
    phone.goto("/referrals/new")
    _walk_wizard(phone, client["id"], "uptd-wizard-phone", check_width=True)
    phone.get_by_role("button", name="Kirim rujukan").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Rujukan RJ-PPU-")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "uptd-referral-detail-phone")
    phone.goto("/referrals/sent")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "uptd-sent-phone")


def test_client_pages_and_a_refused_step(page, app):
    client = _demo_client(app, "0000000000000003")
    sign_in(page, CASEWORKER, DEMO_PASSWORD)
    page.get_by_role("navigation", name="Menu utama").get_by_role("link", name="Klien").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Klien")
    expect(page.get_by_role("table")).to_contain_text(client["code"])
    screenshot(page, "uptd-clients-desktop")
    page.get_by_label("NIK").fill("0000000000000003")
    page.get_by_role("button", name="Cari").click()
    expect(page).to_have_url(re.compile(f"/clients/{client['id']}$"))  # no NIK in the URL
    expect(page.locator("main")).to_contain_text("Terduga pelaku.")
    screenshot(page, "uptd-client-desktop")
    page.get_by_role("link", name="Catat persetujuan").first.click()
    expect(page.locator("main")).to_contain_text("Wali yang tercatat adalah terduga pelaku.")
    screenshot(page, "uptd-consent-form-desktop")
    page.get_by_role("button", name="Catat persetujuan").click()  # nothing filled in
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#f-evidence_file-error")).to_be_visible()
    screenshot(page, "uptd-consent-refused-desktop")
    page.goto(f"/clients/{client['id']}/disclosures")
    expect(page.get_by_role("table")).to_contain_text(CASEWORKER)
    screenshot(page, "uptd-disclosures-desktop")
    # The wizard without a consent choice: the error sits beside the field.
    page.goto(f"/referrals/new?client={client['id']}")
    page.get_by_label("Konseling psikologis").check()
    page.get_by_role("button", name="Lanjut").click()
    page.get_by_label(re.compile("UPTD PPA Kota Balikpapan")).check()
    page.get_by_role("button", name="Lanjut").click()
    page.get_by_role("button", name="Lanjut").click()
    expect(page.locator("#f-basis-error")).to_contain_text("Pilih dasar pengiriman")
    expect(page.locator("#f-basis-override")).to_be_enabled()
    screenshot(page, "uptd-wizard-basis-refused-desktop")


def test_a_giver_resembling_the_alleged_perpetrator_and_a_childs_refusal_on_a_phone(phone, app):
    # Demo client three: a boy of 15 whose father, his recorded guardian, is the alleged
    # perpetrator. A close spelling of the father's name is refused beside the field, with
    # what was typed kept; another giver then records the boy's refusal with its reason.
    client = _demo_client(app, "0000000000000003")
    sign_in(phone, CASEWORKER, DEMO_PASSWORD)
    phone.goto(f"/clients/{client['id']}/consents/new")
    phone.get_by_label("Nama pemberi persetujuan").fill("Ayah Demo Tiqa")
    phone.get_by_label("Hubungan dengan klien").fill("paman")
    phone.get_by_label("Tidak, anak tidak setuju").check()
    phone.get_by_label("Alasan anak tidak setuju").fill("Ia takut ayahnya mengetahuinya.")
    phone.get_by_label(re.compile("UPTD PPA Kota Balikpapan")).check()
    phone.get_by_label("Konseling psikologis").check()
    phone.get_by_label("Formulir bertanda tangan").set_input_files(SIGNED_FORM)
    phone.get_by_label("Berlaku sampai").fill("2099-01-01")
    phone.get_by_role("button", name="Catat persetujuan").click()
    expect(phone.locator("#f-giver_name-error")).to_contain_text("supervisor")
    expect(phone.get_by_label("Nama pemberi persetujuan")).to_have_value("Ayah Demo Tiqa")
    expect(phone.get_by_label("Alasan anak tidak setuju")).to_have_value(
        "Ia takut ayahnya mengetahuinya."
    )
    assert no_horizontal_scroll(phone)
    screenshot(phone, "uptd-consent-giver-needs-clearance-phone")
    phone.get_by_label("Nama pemberi persetujuan").fill("Nenek Demo Tiga")
    phone.get_by_label("Hubungan dengan klien").fill("nenek")
    phone.get_by_label("Berlaku sampai").fill("2030-01-01")
    # A browser never sends a file again by itself: the form is chosen once more.
    phone.get_by_label("Formulir bertanda tangan").set_input_files(SIGNED_FORM)
    phone.get_by_role("button", name="Catat persetujuan").click()
    expect(phone).to_have_url(re.compile(f"/clients/{client['id']}"))
    expect(phone.locator("main")).to_contain_text("Ia takut ayahnya mengetahuinya.")
    expect(phone.locator("main")).to_contain_text("tidak dapat dipakai untuk berbagi data")
    screenshot(phone, "uptd-client-assent-refused-phone")


def test_a_checkbox_is_thumb_sized_and_its_long_label_beside_it_on_a_phone(phone, app):
    # "Pemberi persetujuan adalah terduga pelaku ..." is longer than a phone's line: it wraps
    # beside its box, not below an orphaned box a thumb cannot connect to it.
    client = _demo_client(app, "0000000000000003")
    sign_in(phone, CASEWORKER, DEMO_PASSWORD)
    phone.goto(f"/clients/{client['id']}/consents/new")
    box = phone.locator("#f-giver_is_alleged_perpetrator").bounding_box()
    label = phone.locator("label[for=f-giver_is_alleged_perpetrator]").bounding_box()
    assert label["x"] > box["x"] + box["width"]  # to its right
    assert label["y"] < box["y"] + box["height"]  # on the same line
    # The box itself at its intended 1.4rem, not the browser's 13 px.
    assert box["width"] >= 20
    assert phone.get_by_label("Ya, anak setuju").bounding_box()["width"] >= 20
    assert no_horizontal_scroll(phone)
