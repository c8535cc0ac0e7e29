"""The pages issue 17 (items 5 to 8) changed, as people see them, at 1280 and 390 px: each
screenshot is also checked by axe-core (conftest.screenshot)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from referral_hub.clients.operations import find_by_nik
from referral_hub.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from tests.e2e.conftest import DESKTOP, PHONE, no_horizontal_scroll, screenshot, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo(app):
    with app.app_context():
        load_demo()
        db.session.commit()
        db.session.remove()


def _both(page, name: str) -> None:
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page), name
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_the_admin_finds_technical_settings_in_one_place(page, live_server, demo):
    sign_in(page, "admin@ppu.demo", DEMO_PASSWORD, DEMO_TOTP_SECRET)
    menu = page.get_by_role("navigation", name="Menu utama")
    expect(menu).not_to_contain_text("OAuth")
    expect(menu).not_to_contain_text("Webhook")
    menu.get_by_role("link", name="Pengaturan teknis").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pengaturan teknis")
    _both(page, "words-technical-settings")


def test_the_caseworker_uploads_the_signed_form_and_registers_a_child_with_a_guardian(
    app, page, live_server, demo
):
    sign_in(page, "caseworker@ppu.demo", DEMO_PASSWORD, DEMO_TOTP_SECRET)
    with app.app_context():
        client_id = find_by_nik(find_organization("uptd-ppa-ppu").id, "0000000000000002").id
        db.session.remove()
    page.goto(f"/clients/{client_id}/consents/new")
    expect(page.get_by_label("Formulir bertanda tangan")).to_be_visible()
    _both(page, "words-consent-form")
    page.goto("/clients/new")
    page.get_by_label("Nama lengkap").fill("Anak Contoh")
    page.get_by_label("Tanggal lahir").fill("2018-05-01")
    page.get_by_label("Perempuan").check()
    page.get_by_role("button", name="Daftarkan").click()
    expect(page.locator("#f-guardian-error")).to_be_visible()
    expect(page.locator("#error-summary")).to_be_focused()
    _both(page, "words-child-without-guardian")


def test_the_wizard_offers_the_consent_in_place(app, page, live_server, demo):
    sign_in(page, "caseworker@ppu.demo", DEMO_PASSWORD, DEMO_TOTP_SECRET)
    with app.app_context():
        client_id = find_by_nik(find_organization("uptd-ppa-ppu").id, "0000000000000003").id
        db.session.remove()
    page.goto(f"/referrals/new?client={client_id}")
    page.locator('input[name="service"][value="law_enforcement"]').check()
    page.get_by_role("button", name="Lanjut").click()
    page.locator('input[name="to"]').first.check()
    page.get_by_role("button", name="Lanjut").click()
    expect(page.locator("#consent-offer")).to_be_visible()
    _both(page, "words-wizard-consent-offer")


def test_the_partner_schedules_before_completing(app, page, live_server, demo):
    with app.app_context():
        referral_id = db.session.scalar(
            db.select(Referral.id).where(Referral.sender_reference == "DEMO-RJ-2")
        )
        db.session.remove()
    sign_in(page, "psikolog@balikpapan.demo", DEMO_PASSWORD, DEMO_TOTP_SECRET)
    page.goto(f"/referrals/received/{referral_id}")
    _both(page, "words-received-in-progress")
    page.set_viewport_size(PHONE)
    page.get_by_role("navigation", name="Di halaman ini").get_by_role(
        "link", name="Jadwalkan sesi"
    ).click()
    expect(page.locator("#f-starts_at")).to_be_in_viewport()
    screenshot(page, "words-received-jump-phone")
