"""The partner network in a real browser, as issue 13 checks it, with the README's demo accounts.

A PPU admin adds a legal-aid partner (its region picked by name), drafts and signs a PKS with
it, records the partner's paper signature with the scan, and the agreement is in force; a
caseworker refers a client to it (the wizard says the partner is not on the hub) and records
the partner's acceptance on its behalf; the partner's invited admin opens the e-mailed link
(the .eml file the embedded mailer writes under instance/mail/), chooses a password, sets up
the authenticator, signs in, and from then on the partner answers itself: the sender's
on-behalf form is gone and a late one refused. Then the same pages at phone width and in
English.
"""

from __future__ import annotations

import datetime as dt
import email
import json
import re
import urllib.request
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import expect

from referral_hub.actors import Actor
from referral_hub.clients.models import local_today
from referral_hub.clients.operations import find_by_nik, record_consent
from referral_hub.delivery.notifications import send_due_notifications
from referral_hub.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from tests.e2e.conftest import DESKTOP, PHONE, no_horizontal_scroll, screenshot, sign_in

pytestmark = pytest.mark.e2e

ADMIN = "admin@ppu.demo"
CASEWORKER = "caseworker@ppu.demo"
PARTNER = "LBH APIK Penajam Paser Utara"
CODE = "lbh-apik-ppu"
INVITEE = "ketua@lbh-apik.example"
INVITEE_PASSWORD = "kata sandi pilihan saya"
NUMBER = "470/PKS/UPTD-PPA/2026"
ADULT_NIK = "0000000000000002"  # Klien Demo Dua, an adult who consents herself
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def demo(app):
    with app.app_context():
        load_demo()
        db.session.commit()
        db.session.remove()


def _menu(page, name: str = "Menu utama"):
    return page.get_by_role("navigation", name=name)


def _consent_to_the_partner(app) -> None:
    """Klien Demo Dua consents to legal aid from the new partner (recorded at intake)."""
    with app.app_context():
        ppu = find_organization("uptd-ppa-ppu")
        client = find_by_nik(ppu.id, ADULT_NIK)
        record_consent(
            Actor.system("e2e"),
            client,
            given_by="client",
            recipients=[CODE],
            services=["legal_aid"],
            data_categories=["identity", "case_summary"],
            method="written",
            evidence_sha256="c" * 64,
            valid_until=local_today() + dt.timedelta(days=180),
        )
        db.session.commit()
        db.session.remove()


def _invitation_link(app, to: str) -> str:
    """Send what is due as `make run` does (no SMTP: .eml files under instance/mail/) and
    read the link from the newest e-mail to `to`, as the README says."""
    with app.app_context():
        send_due_notifications()
        db.session.remove()
    mails = sorted(
        (Path(app.instance_path) / "mail").glob("*.eml"), key=lambda p: p.stat().st_mtime
    )
    for path in reversed(mails):
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == to:
            body = message.get_payload(decode=True).decode("utf-8")
            return re.search(r"http://\S+/invitations/\S+", body).group(0)
    raise AssertionError(f"no e-mail to {to} among {len(mails)}")


def _add_partner(page) -> None:
    _menu(page).get_by_role("link", name="Mitra").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mitra")
    page.get_by_role("link", name="Tambah mitra").click()
    page.locator("#f-name").fill(PARTNER)
    page.locator("#f-code").fill(CODE)
    page.get_by_label("Jenis").select_option("legal_aid")
    # The region by name, as a person knows it.
    page.get_by_label("Wilayah").fill("Penajam Paser Utara")
    page.locator('input[name="services"][value="legal_aid"]').check()
    page.get_by_label("Nama narahubung 1").fill("Rina (Koordinator Layanan)")
    page.get_by_label("Telepon narahubung 1").fill("+62 812 0000 9001")
    screenshot(page, "network-partner-new-desktop")
    page.get_by_role("button", name="Tambah mitra").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PARTNER)
    lead = page.locator(".lead").first
    expect(lead).to_contain_text("Kabupaten Penajam Paser Utara (64.09)")
    expect(lead).to_contain_text("Belum menjawab rujukan di hub")


def _invite_admin(page) -> None:
    page.locator("#f-email").fill(INVITEE)
    page.get_by_label("Peran").select_option("org_admin")
    page.get_by_role("button", name="Kirim undangan").click()
    expect(page.get_by_role("status")).to_contain_text(f"Undangan dikirim ke {INVITEE}")
    screenshot(page, "network-partner-invited-desktop")


def _draft_sign_and_record_paper(page) -> None:
    _menu(page).get_by_role("link", name="Perjanjian").click()
    page.get_by_role("link", name="Susun perjanjian baru").click()
    page.get_by_label("Nomor perjanjian").fill(NUMBER)
    page.get_by_label("Judul").fill("Bantuan hukum bagi klien UPTD PPA PPU")
    page.get_by_label("Tujuan").fill(
        "LBH APIK memberikan konsultasi dan pendampingan hukum bagi klien UPTD PPA PPU."
    )
    page.get_by_role("checkbox", name=PARTNER).check()
    page.get_by_label("Layanan baris 1").select_option("legal_aid")
    page.get_by_label("Penyedia baris 1").select_option(label=PARTNER)
    page.get_by_role("checkbox", name="Identitas").check()
    page.get_by_role("checkbox", name="Ringkasan kasus").check()
    page.get_by_label("Jabatan penanda tangan 1").fill("Kepala UPTD PPA PPU")
    page.get_by_label("Organisasi penanda tangan 1").select_option(
        label="UPTD PPA Kabupaten Penajam Paser Utara"
    )
    page.get_by_role("button", name="Simpan draf", exact=True).last.click()
    expect(page.locator("#status")).to_contain_text("Draf")
    page.get_by_role("button", name="Tandatangani").click()
    expect(page.locator("#status")).to_contain_text("Draf")  # the partner has not signed

    # The partner signed the paper copy: recorded with its scan.
    page.get_by_label("Pihak yang menandatangani").select_option(label=PARTNER)
    page.get_by_label("Jabatan penanda tangan").last.fill("Direktur LBH APIK")
    page.get_by_label("Berkas PDF").first.set_input_files(
        {"name": "PKS 470 ttd LBH APIK.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    screenshot(page, "network-agreement-paper-form-desktop")
    page.get_by_role("button", name="Catat tanda tangan").click()
    expect(page.locator("#status")).to_contain_text("Berlaku")
    expect(page.locator(".signature-method").first).to_be_visible()
    expect(page.get_by_text("di atas kertas (dicatat oleh").first).to_be_visible()
    expect(page.locator("#documents")).to_contain_text("PKS_470_ttd_LBH_APIK.pdf")
    screenshot(page, "network-agreement-active-desktop")


def _refer_and_record_acceptance(page, client_id: str) -> str:
    page.goto("/referrals/new")
    page.get_by_label("Klien").select_option(client_id)
    page.get_by_role("button", name="Lanjut").click()
    page.get_by_label("Bantuan hukum").check()
    page.get_by_role("button", name="Lanjut").click()
    choice = page.locator(".choice", has_text=PARTNER)
    expect(choice).to_contain_text("Mitra ini belum memakai hub")
    screenshot(page, "network-wizard-partner-off-hub-desktop")
    page.get_by_label(re.compile(PARTNER)).check()
    page.get_by_role("button", name="Lanjut").click()
    page.get_by_label("Persetujuan klien", exact=True).check()
    page.locator('input[name="consent"]:not([disabled])').first.check()
    page.get_by_role("button", name="Lanjut").click()
    page.get_by_label(re.compile(r"^Identitas")).check()
    page.get_by_label(re.compile(r"^Ringkasan kasus")).check()
    page.get_by_role("button", name="Lanjut").click()
    page.get_by_label("Biasa").check()
    page.get_by_label("Alasan rujukan").fill("Perlu konsultasi hukum soal hak asuh (fiktif).")
    page.get_by_label("Psikis").check()
    page.get_by_label("Kronologi").fill("Pertengkaran berulang di rumah (fiktif).")
    page.get_by_role("button", name="Lanjut").click()
    expect(page.locator(".recipient-view")).to_contain_text(PARTNER)
    page.get_by_role("button", name="Kirim rujukan").click()
    expect(page.locator("#off-hub")).to_contain_text("Mitra ini belum memakai hub")
    detail_url = page.url

    form = page.locator("#on-behalf")
    form.get_by_label("Jawaban mitra").select_option("accept")
    form.get_by_label("Bagaimana jawaban diterima").fill("Telepon dari Rina, LBH APIK")
    form.get_by_role("button", name="Catat jawaban").click()
    expect(page.locator("#status")).to_contain_text("Diterima")
    expect(page.locator("#status-on-behalf")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Telepon dari Rina, LBH APIK")
    screenshot(page, "network-sent-accepted-on-behalf-desktop")
    return detail_url


def _join_as_invited_admin(browser, live_server, link: str) -> tuple[object, str]:
    context = browser.new_context(base_url=live_server, viewport=DESKTOP, locale="id-ID")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Terima undangan")
    expect(page.locator(".lead")).to_contain_text(PARTNER)
    page.get_by_label("Nama lengkap").fill("Ketua LBH APIK")
    page.get_by_label("Telepon kantor").fill("+62 812 0000 9002")
    page.locator("#f-password").fill(INVITEE_PASSWORD)
    page.locator("#f-password_again").fill(INVITEE_PASSWORD)
    screenshot(page, "network-invitation-accept-desktop")
    page.get_by_role("button", name="Aktifkan akun").click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    screenshot(page, "network-invitation-enrol-desktop")
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Lanjutkan").click()
    page.get_by_role("link", name="Lanjutkan").click()
    # Signed out, then in again with the chosen password and the authenticator.
    if page.get_by_role("button", name="Keluar").count():
        page.get_by_role("button", name="Keluar").click()
    sign_in(page, INVITEE, INVITEE_PASSWORD, secret)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang")
    return context, page


def test_a_partner_joins_the_network_as_the_issue_checks_it(page, browser, live_server, app, demo):
    with app.app_context():
        client_id = find_by_nik(find_organization("uptd-ppa-ppu").id, ADULT_NIK).id
        db.session.remove()

    sign_in(page, ADMIN, DEMO_PASSWORD, DEMO_TOTP_SECRET)
    _add_partner(page)
    screenshot(page, "network-partner-page-desktop")
    _invite_admin(page)
    _menu(page).get_by_role("link", name="Mitra").click()
    row = page.get_by_role("row", name=re.compile(PARTNER))
    expect(row).to_contain_text("Kabupaten Penajam Paser Utara (64.09)")
    expect(row).to_contain_text("Belum ada pengguna")
    screenshot(page, "network-partners-list-desktop")
    _draft_sign_and_record_paper(page)
    page.get_by_role("button", name="Keluar").click()

    _consent_to_the_partner(app)
    sign_in(page, CASEWORKER, DEMO_PASSWORD)
    detail_url = _refer_and_record_acceptance(page, client_id)

    # The partner's invited admin joins through the e-mailed link.
    link = _invitation_link(app, INVITEE)
    assert link.startswith(live_server)
    context, partner = _join_as_invited_admin(browser, live_server, link)
    try:
        partner.goto(f"/organizations/{CODE}")
        expect(partner.locator(".lead")).to_contain_text("Belum menjawab rujukan di hub")
        screenshot(partner, "network-partner-admin-own-entry-desktop")
        # Its own admin invites the staff who answer referrals.
        partner.locator("#f-email").fill("advokat@lbh-apik.example")
        partner.get_by_label("Peran").select_option("caseworker")
        partner.get_by_role("button", name="Kirim undangan").click()
        expect(partner.get_by_role("status")).to_contain_text("Undangan dikirim")
    finally:
        context.close()

    # An admin keeps the entry but answers no referral: until someone who does joins, the
    # sender still records the partner's answers.
    page.goto(detail_url)
    expect(page.locator("#on-behalf")).to_have_count(1)

    # The advocate opens her link and answers on the hub herself.
    advocate_link = _invitation_link(app, "advokat@lbh-apik.example")
    other = browser.new_context(base_url=live_server, viewport=DESKTOP, locale="id-ID")
    try:
        advocate = other.new_page()
        advocate.goto(advocate_link)
        advocate.get_by_label("Nama lengkap").fill("Advokat LBH APIK")
        advocate.locator("#f-password").fill(INVITEE_PASSWORD)
        advocate.locator("#f-password_again").fill(INVITEE_PASSWORD)
        advocate.get_by_role("button", name="Aktifkan akun").click()
        _menu(advocate).get_by_role("link", name="Rujukan masuk").click()
        advocate.locator("tbody tr").first.get_by_role("link").click()
        expect(advocate.locator("#status")).to_contain_text("Diterima")
        expect(advocate.locator(".timeline")).to_contain_text("atas nama mitra")
        advocate.get_by_role("button", name="Mulai").click()
        expect(advocate.locator("#status")).to_contain_text("Sedang berjalan")
        screenshot(advocate, "network-partner-answers-itself-desktop")
    finally:
        other.close()
    page.reload()
    expect(page.locator("#status")).to_contain_text("Sedang berjalan")

    # From then on the partner answers: the sender's on-behalf form is gone ...
    page.goto(detail_url)
    expect(page.locator("#off-hub")).to_have_count(0)
    expect(page.locator("#on-behalf")).to_have_count(0)
    screenshot(page, "network-sent-partner-on-hub-desktop")
    # ... and an answer recorded from a page opened before is refused, saying why.
    token = page.evaluate(
        "document.querySelector('input[name=csrf_token]') &&"
        " document.querySelector('input[name=csrf_token]').value"
    )
    refused = page.request.post(
        detail_url + "/on-behalf",
        form={"answer": "start", "how": "Telepon", "csrf_token": token},
    )
    assert refused.status == 409
    assert "sudah memakai hub dan menjawab sendiri" in refused.text()


def test_region_names_are_searched_over_http(live_server, app, hub):
    """GET /api/v1/regions finds Penajam Paser Utara by name."""
    token = hub.token("uptd-ppa-ppu", "directory:read")
    request = urllib.request.Request(
        f"{live_server}/api/v1/regions?q=penajam", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        body = json.load(response)
    names = {r["code"]: r["name"] for r in body["items"]}
    assert names["64.09"] == "Kabupaten Penajam Paser Utara"


def test_the_partner_pages_at_phone_width_and_in_english(phone, app, demo, hub):
    sign_in(phone, ADMIN, DEMO_PASSWORD, DEMO_TOTP_SECRET)
    phone.goto("/organizations/new")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "network-partner-new-phone")
    phone.goto("/organizations")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "network-partners-list-phone")
    phone.goto("/organizations/uptd-ppa-ppu")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "network-partner-page-phone")
    phone.goto("/users")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "network-users-phone")
    phone.goto("/agreements/coverage")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "network-coverage-phone")

    phone.get_by_role("button", name="English").click()
    phone.goto("/organizations/new")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Add partner")
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    phone.get_by_role("button", name="Add partner").click()
    expect(phone.locator("#error-summary")).to_be_visible()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "network-partner-new-english-phone")
    phone.goto("/organizations")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Partner")
    screenshot(phone, "network-partners-list-english-phone")
    # A region typed that names none: said in English, with an example from the user's area.
    phone.goto("/organizations/new")
    phone.get_by_label("Region").fill("Atlantis")
    phone.get_by_role("button", name="Add partner").click()
    expect(phone.locator("#f-region_code-error")).to_contain_text("Atlantis")
    screenshot(phone, "network-partner-region-unknown-english-phone")


def test_the_invitation_page_at_phone_width(browser, live_server, app, demo, hub):
    admin = hub.user("uptd-ppa-ppu", "org_admin", "admin2@ppu.test")
    context = browser.new_context(
        base_url=live_server, viewport=PHONE, locale="id-ID", is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        sign_in(page, admin["email"])
        page.goto("/organizations/uptd-ppa-ppu")
        page.locator("#f-email").fill("baru@ppu.example")
        page.get_by_label("Peran").select_option("caseworker")
        page.get_by_role("button", name="Kirim undangan").click()
        assert no_horizontal_scroll(page)
        screenshot(page, "network-invitations-phone")
        page.get_by_role("button", name="Keluar").click()
        page.goto(_invitation_link(app, "baru@ppu.example"))
        assert no_horizontal_scroll(page)
        screenshot(page, "network-invitation-accept-phone")
    finally:
        context.close()
