"""Portal groundwork: sign-in, layout, role-based menus, CSRF, and the administration pages."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import TEST_PASSWORD, _csrf_from, totp_code


def _signed_in(app, hub, org: str, role: str, email: str | None = None):
    """A fresh test client signed in as a new user of `org` with `role`."""
    user = hub.user(org, role, email)
    browser = app.test_client()
    response = hub.login(browser, user["email"])
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return browser, user


def _token(browser, path: str) -> str:
    return _csrf_from(browser.get(path).get_data(as_text=True))


def _menu(html: str) -> list[str]:
    nav = re.search(r'<nav class="menu"[^>]*>(.*?)</nav>', html, re.S)
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav.group(1)) if nav else []


def test_home_sends_a_signed_out_visitor_to_sign_in_and_back(client):
    response = client.get("/audit?page=2")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/audit?page=2"]


def test_sign_in_returns_to_the_page_asked_for(app, hub):
    user = hub.user("uptd-ppa-ppu", "org_admin")
    browser = app.test_client()
    token = _token(browser, "/login?next=/users")
    response = browser.post(
        "/login",
        data={
            "email": user["email"],
            "password": TEST_PASSWORD,
            "csrf_token": token,
            "next": "/users",
        },
    )
    # An org_admin gives a code next; the page asked for survives that step too.
    assert response.headers["Location"] == "http://localhost/login/code?next=/users"
    code_page = browser.get(response.headers["Location"])
    response = browser.post(
        "/login/code",
        data={
            "code": totp_code(),
            "csrf_token": _csrf_from(code_page.get_data(as_text=True)),
            "next": "/users",
        },
    )
    assert response.headers["Location"] == "http://localhost/users"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(app, hub, target):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    browser = app.test_client()
    token = _token(browser, "/login")
    response = browser.post(
        "/login",
        data={
            "email": user["email"],
            "password": TEST_PASSWORD,
            "csrf_token": token,
            "next": target,
        },
    )
    assert response.headers["Location"] == "http://localhost/"


def test_session_cookie_is_httponly_lax_and_expires_when_idle(app, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    browser = app.test_client()
    response = hub.login(browser, user["email"])
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Expires=" in cookie  # a permanent session, renewed on each request
    assert app.permanent_session_lifetime.total_seconds() == 8 * 3600
    # Plain HTTP in tests; the flag follows HUB_BASE_URL's scheme.
    assert "Secure" not in cookie


def test_session_cookie_is_secure_and_host_only_behind_https(app_config):
    from referral_hub import create_app

    app = create_app({**app_config, "HUB_BASE_URL": "https://hub.example"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")


def test_wrong_password_message_is_beside_the_fields(client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    response = hub.login(client, user["email"], "wrong password!")
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert 'id="login-error"' in html
    assert "E-mail atau kata sandi salah." in html
    assert 'aria-describedby="login-error" aria-invalid="true"' in html


def test_empty_fields_are_named_without_trying_to_sign_in(app, client):
    token = _token(client, "/login")
    response = client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.count("Wajib diisi.") == 2
    assert 'aria-describedby="email-error"' in html


def test_a_hold_says_when_to_try_again_and_names_no_account(client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    for _ in range(5):
        response = hub.login(client, user["email"], "wrong password!")
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "Terlalu banyak percobaan masuk yang gagal" in html
    assert "Akun dikunci" not in html  # the same words for an address without an account
    assert re.search(r"setelah pukul \d\d[.:]\d\d WITA", html)
    # Even the right password waits, from this source.
    response = hub.login(client, user["email"])
    assert response.status_code == 429


def test_signed_in_pages_are_not_cached(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "caseworker")
    response = browser.get("/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_sign_out_ends_the_session_and_is_audited(app, hub):
    browser, user = _signed_in(app, hub, "uptd-ppa-ppu", "caseworker")
    token = _token(browser, "/")
    response = browser.post("/logout", data={"csrf_token": token})
    assert response.headers["Location"] == "http://localhost/login"
    assert browser.get("/").status_code == 302
    from sqlalchemy import select

    from referral_hub.audit.models import AuditEntry
    from referral_hub.extensions import db

    with app.app_context():
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == user["id"])
        ).all()
    assert "signin.succeeded" in actions
    assert "signout" in actions


def test_session_ends_after_the_absolute_limit(app, hub):
    import time

    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "caseworker")
    with browser.session_transaction() as session:
        session["signed_in_at"] = int(time.time()) - 13 * 3600
    assert browser.get("/").status_code == 302


def test_post_without_csrf_token_is_refused_with_a_message(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    response = browser.post(
        "/users/new",
        data={
            "name": "X",
            "email": "x@ppu.example",
            "role": "caseworker",
            "password": "a long password",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Formulir tidak dikirim" in html
    assert "Muat ulang halaman" in html
    assert "<nav" in html  # the portal's own layout, not a bare error


def test_login_without_csrf_token_shows_the_login_form_again(client, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    response = client.post("/login", data={"email": user["email"], "password": TEST_PASSWORD})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "kedaluwarsa atau tidak sah" in html
    assert 'name="password"' in html


def test_expired_session_on_a_form_asks_to_sign_in_again(client):
    response = client.post("/users/new", data={"csrf_token": "stale"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("http://localhost/login")


@pytest.mark.parametrize(
    ("org", "role", "expected"),
    [
        ("uptd-ppa-ppu", "caseworker", ["Beranda", "Kasus"]),
        ("uptd-ppa-ppu", "org_admin", ["Beranda", "Log audit", "Mitra", "Pengguna", "Klien OAuth"]),
        ("uptd-ppa-ppu", "auditor", ["Beranda", "Log audit"]),
        ("polres-ppu", "caseworker", ["Beranda"]),
    ],
)
def test_menu_follows_role_and_shows_only_existing_pages(app, hub, org, role, expected):
    browser, _ = _signed_in(app, hub, org, role)
    html = browser.get("/").get_data(as_text=True)
    menu = _menu(html)
    # Pages of other features join when their endpoints are registered; until then
    # only those that exist (and the user may open) are listed.
    for label in expected:
        assert label in menu
    for label in menu:
        assert label in (
            "Beranda",
            "Klien",
            "Kasus",
            "Rujukan keluar",
            "Rujukan masuk",
            "Perjanjian",
            "Cakupan",
            "Log audit",
            "Mitra",
            "Pengguna",
            "Klien OAuth",
            "Webhook",
        )
    if role != "org_admin":
        assert "Mitra" not in menu
        assert "Pengguna" not in menu
        assert "Klien OAuth" not in menu
    if role == "caseworker":
        assert "Log audit" not in menu
    assert 'aria-current="page"' in html


def test_menu_entry_appears_for_its_audience_only(app, hub):
    uptd = hub.user("uptd-ppa-ppu", "caseworker")
    police = hub.user("polres-ppu", "caseworker")
    for email, shown in ((uptd["email"], True), (police["email"], False)):
        browser = app.test_client()
        hub.login(browser, email)
        menu = _menu(browser.get("/").get_data(as_text=True))
        # Sent referrals are for UPTD staff only, whatever the page itself admits.
        assert ("Rujukan keluar" in menu) is shown, (email, menu)


def test_home_shows_organisation_and_role(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "supervisor")
    html = browser.get("/").get_data(as_text=True)
    assert "UPTD PPA" in html
    assert "Supervisor" in html
    assert '<html lang="id">' in html
    assert 'href="#main"' in html
    assert 'id="main"' in html


def test_english_switch_is_kept_in_session_and_account(app, hub):
    browser, user = _signed_in(app, hub, "uptd-ppa-ppu", "org_admin")
    token = _token(browser, "/")
    response = browser.post(
        "/language", data={"locale": "en", "next": "/users", "csrf_token": token}
    )
    assert response.headers["Location"] == "http://localhost/users"
    html = browser.get("/users").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Users" in html
    assert "Add user" in html
    # A new session of the same account starts in English.
    again = app.test_client()
    hub.login(again, user["email"])
    assert '<html lang="en">' in again.get("/").get_data(as_text=True)


def test_wrong_role_gets_a_403_page(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "caseworker")
    for path in ("/users", "/oauth-clients", "/audit", "/users/new", "/oauth-clients/new"):
        response = browser.get(path)
        assert response.status_code == 403, path
        assert "Akses ditolak" in response.get_data(as_text=True)


def test_unknown_page_gets_a_404_page_in_the_layout(app, hub):
    browser, _ = _signed_in(app, hub, "uptd-ppa-ppu", "caseworker")
    response = browser.get("/no-such-page")
    assert response.status_code == 404
    assert "Halaman tidak ditemukan" in response.get_data(as_text=True)
