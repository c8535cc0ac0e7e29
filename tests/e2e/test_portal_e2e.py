"""The portal in a real browser: sign-in, lockout, language, CSRF, keyboard and phone use."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import no_horizontal_scroll, screenshot, sign_in


def sign_audit_checkpoint(app) -> None:
    from referral_hub.actors import Actor
    from referral_hub.audit.checkpoints import sign_checkpoint
    from referral_hub.extensions import db

    with app.app_context():
        sign_checkpoint(Actor.system("tests"))
        db.session.commit()
        db.session.remove()


pytestmark = pytest.mark.e2e


def test_sign_in_and_sign_out(page, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.locator("html")).to_have_attribute("lang", "id")
    screenshot(page, "login-desktop")
    sign_in(page, user["email"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang")
    expect(page.get_by_role("navigation", name="Menu utama")).to_contain_text("Beranda")
    screenshot(page, "home-caseworker-desktop")
    page.get_by_role("button", name="Keluar").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_contain_text("Anda telah keluar.")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_wrong_password_then_a_hold_is_shown_in_the_page(page, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    sign_in(page, user["email"], "wrong password!")
    expect(page.get_by_role("alert")).to_have_text("E-mail atau kata sandi salah.")
    expect(page.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")
    for _ in range(4):
        sign_in(page, user["email"], "wrong password!")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Terlalu banyak percobaan masuk yang gagal")
    expect(alert).to_contain_text("WITA")
    screenshot(page, "login-locked-desktop")
    sign_in(page, user["email"])  # the right password waits too, from this browser's source
    expect(page.get_by_role("alert")).to_contain_text("Terlalu banyak percobaan masuk")


def test_english_switch_and_back(page, hub):
    user = hub.user("uptd-ppa-ppu", "org_admin")
    sign_in(page, user["email"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("navigation", name="Main menu")).to_contain_text("Users")
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    screenshot(page, "users-english-desktop")
    page.get_by_role("button", name="Bahasa Indonesia").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pengguna")  # same page
    expect(page.locator("html")).to_have_attribute("lang", "id")


def test_english_chosen_before_sign_in_is_kept(page, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    page.goto("/login")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("E-mail").fill(user["email"])
    page.locator("#password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def test_tampered_csrf_token_is_refused_with_a_message(page, hub):
    user = hub.user("uptd-ppa-ppu", "org_admin")
    sign_in(page, user["email"])
    page.goto("/users/new")
    page.get_by_label("Nama").fill("Ani")
    page.locator("#f-email").fill("ani@ppu.example")
    page.locator("#f-password").fill("a-long-password")
    page.evaluate("document.querySelector('form.form input[name=csrf_token]').value = 'tampered'")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Buat akun").click()
    assert posted.value.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("Formulir tidak dikirim")
    expect(page.get_by_role("alert")).to_contain_text("Muat ulang halaman")
    screenshot(page, "csrf-refused-desktop")
    # Nothing was created; the form works again once reloaded.
    page.goto("/users")
    expect(page.get_by_text("ani@ppu.example")).to_have_count(0)


def test_removed_csrf_token_on_sign_in_shows_the_form_again(page, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    page.goto("/login")
    page.evaluate("document.querySelector('form.form input[name=csrf_token]').remove()")
    page.get_by_label("E-mail").fill(user["email"])
    page.locator("#password").fill("correct horse battery staple")
    page.locator("form.form button[type=submit]").click()
    expect(page.get_by_role("alert")).to_contain_text("kedaluwarsa atau tidak sah")
    sign_in(page, user["email"])  # a fresh token: it works
    expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang")


def test_keyboard_reaches_sign_in_and_enter_submits(page, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    page.goto("/login")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Langsung ke isi")  # the skip link first
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    page.keyboard.type(user["email"])
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_attribute("id", "password")
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Masuk")  # the sign-in button
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # Enter in the password field submits
    expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang")


def test_phone_width_login_and_home_fit(phone, hub):
    user = hub.user("uptd-ppa-ppu", "org_admin")
    phone.goto("/login")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "login-phone")
    sign_in(phone, user["email"])
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Selamat datang")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "home-admin-phone")
    sign_audit_checkpoint(hub.app)  # its 64-digit head must wrap on a phone too
    for path, name in (("/users", "users-phone"), ("/audit", "audit-phone")):
        phone.goto(path)
        assert no_horizontal_scroll(phone), path
        screenshot(phone, name)


def test_admin_pages_render_and_register_a_client(page, hub):
    user = hub.user("uptd-ppa-ppu", "org_admin")
    hub.user("uptd-ppa-ppu", "caseworker", "pendamping@ppu.example")
    sign_in(page, user["email"])
    screenshot(page, "home-admin-desktop")
    menu = page.get_by_role("navigation", name="Menu utama")
    menu.get_by_role("link", name="Pengguna").click()
    expect(page.get_by_role("cell", name="pendamping@ppu.example", exact=True)).to_be_visible()
    screenshot(page, "users-desktop")
    page.get_by_role("link", name="Tambah pengguna").click()
    page.get_by_role("button", name="Buat akun").click()
    expect(page.locator("#error-summary")).to_contain_text("Wajib diisi.")
    screenshot(page, "user-new-errors-desktop")
    page.get_by_role("navigation", name="Menu utama").get_by_role(
        "link", name="Pengaturan teknis"
    ).click()
    page.get_by_role("link", name="Klien OAuth").click()
    page.get_by_role("link", name="Daftarkan klien").click()
    page.locator("#f-name").fill("SIM Polres PPU")
    page.get_by_label("Membaca rujukan keluar dan masuk").check()
    screenshot(page, "oauth-client-new-desktop")
    page.get_by_role("button", name="Daftarkan", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Klien OAuth terdaftar")
    expect(page.locator("#client-secret")).to_be_visible()
    screenshot(page, "oauth-client-created-desktop")
    page.get_by_role("link", name="Selesai").click()
    page.get_by_role("button", name="Nonaktifkan SIM Polres PPU").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nonaktifkan SIM Polres PPU?")
    screenshot(page, "oauth-client-disable-confirm-desktop")
    page.get_by_role("button", name="Ya, nonaktifkan").click()
    expect(page.get_by_role("status")).to_contain_text("dinonaktifkan")
    menu.get_by_role("link", name="Log audit").click()
    page.get_by_role("button", name="Verifikasi rantai").click()
    expect(page.locator("#verification")).to_contain_text("Rantai utuh.")
    screenshot(page, "audit-verified-desktop")
