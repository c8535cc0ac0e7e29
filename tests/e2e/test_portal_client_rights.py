"""A client's UU PDP rights in a real browser: the printable export (A4, without the portal's
chrome), a correction, and an erasure confirmed by PPU's supervisor."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from referral_hub.actors import Actor
from referral_hub.clients.operations import register_client
from referral_hub.demo import DEMO_PASSWORD, load_demo
from referral_hub.extensions import db
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.e2e

NAME = "Rina Contoh Hak"


def _client(app) -> str:
    with app.app_context():
        load_demo()
        client = register_client(
            Actor.system("e2e"),
            organization="uptd-ppa-ppu",
            full_name=NAME,
            birth_date=dt.date(1990, 5, 17),
            sex="female",
            domicile_region="64.09",
            phone="081200001111",
        )
        client_id = client.id
        db.session.commit()
        db.session.remove()
        return client_id


def test_export_correction_and_erasure_in_a_browser(page, app):
    client_id = _client(app)
    sign_in(page, "caseworker@ppu.demo", DEMO_PASSWORD)
    page.goto(f"/clients/{client_id}")
    expect(page.get_by_role("link", name="Hapus data pribadi klien")).to_have_count(0)
    page.get_by_role("link", name="Unduh data klien (UU PDP)").click()
    expect(page.get_by_role("heading", name="DATA PRIBADI KLIEN")).to_be_visible()
    expect(page.locator("article.export")).to_contain_text(NAME)
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator(".letter-tools")).to_be_hidden()
    screenshot(page, "client-export-print")
    page.emulate_media(media="screen")

    page.goto(f"/clients/{client_id}")
    page.get_by_role("link", name="Perbaiki data klien").click()
    page.get_by_label("Telepon", exact=True).fill("081200002222")
    page.get_by_role("button", name="Simpan perbaikan").click()
    expect(page.locator(".flashes")).to_contain_text("Data klien diperbaiki")
    expect(page.locator("main")).to_contain_text("081200002222")

    page.context.clear_cookies()
    sign_in(page, "supervisor@ppu.demo", DEMO_PASSWORD)
    page.goto(f"/clients/{client_id}")
    page.get_by_role("link", name="Hapus data pribadi klien").click()
    page.get_by_label("Klien terdaftar ganda").check()
    screenshot(page, "client-erase-confirm")
    page.get_by_role("button", name="Hapus data pribadi").click()
    expect(page.locator("main")).to_contain_text("Data pribadi telah dihapus")
    expect(page.locator("main")).not_to_contain_text(NAME)
    page.get_by_role("link", name="Unduh data klien (UU PDP)").click()
    expect(page.locator("article.export")).to_contain_text("Data pribadi telah dihapus")
    expect(page.locator("article.export")).not_to_contain_text(NAME)
