"""Security headers on every kind of response; no inline script or style in any page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from referral_hub import PACKAGE_DIR, create_app
from referral_hub.extensions import db

#: The policy forbids inline script and style: any page that relied on them would break.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc\s*=)[^>]*>", re.I)
_STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I)
_STYLE_ELEMENT = re.compile(r"<style\b", re.I)
_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
_JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def _inline_code(html: str) -> list[str]:
    found = []
    for pattern in (_INLINE_SCRIPT, _STYLE_ATTRIBUTE, _STYLE_ELEMENT, _HANDLER, _JS_URL):
        found += [m.group(0)[:80] for m in pattern.finditer(html)]
    return found


def _assert_headers(response) -> None:
    headers = response.headers
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain http on loopback


def test_no_template_has_inline_script_style_or_handlers():
    templates = sorted(Path(PACKAGE_DIR).rglob("*.html"))
    assert len(templates) > 10  # the scan reaches the portal's templates
    offending = {
        str(path.relative_to(PACKAGE_DIR)): found
        for path in templates
        if (found := _inline_code(path.read_text()))
    }
    assert offending == {}


def test_the_scan_finds_what_it_looks_for():
    assert _inline_code('<script>alert(1)</script><script src="/s.js"></script>') == ["<script>"]
    assert _inline_code('<p style="color:red">')
    assert _inline_code("<style>p{}</style>")
    assert _inline_code('<button onclick="x()">')
    assert _inline_code('<a href="javascript:x()">')
    assert _inline_code('<a href="/onboarding" class="styled" title="onward">') == []


def test_api_responses(client, hub):
    ok = client.get("/api/v1/organizations", headers=hub.headers("uptd-ppa-ppu", "directory:read"))
    assert ok.status_code == 200
    _assert_headers(ok)
    assert ok.headers["Cache-Control"] == "no-store"
    for response in (
        client.get("/api/v1/organizations"),  # 401
        client.get("/api/v1/no-such-thing"),  # 404
        client.post("/oauth/token", data={"grant_type": "client_credentials"}),
    ):
        assert response.status_code in (400, 401, 404)
        _assert_headers(response)
        assert response.headers["Cache-Control"] == "no-store"


def test_portal_pages_and_their_error_pages(client, hub):
    login_page = client.get("/login")
    _assert_headers(login_page)
    assert _inline_code(login_page.get_data(as_text=True)) == []
    user = hub.user("uptd-ppa-ppu", "supervisor")
    assert hub.login(client, user["email"]).status_code == 302
    for path in ("/", "/inbox", "/agreements", "/no-such-page"):
        page = client.get(path)
        assert page.status_code in (200, 404), path
        assert page.mimetype == "text/html"
        _assert_headers(page)
        assert _inline_code(page.get_data(as_text=True)) == [], path


@pytest.fixture
def failing_app(app_config) -> Iterator[Flask]:
    """An app with test-only routes whose operation fails deep inside, as a bug would."""
    from sqlalchemy.exc import ProgrammingError

    app = create_app(app_config)

    def fail():
        raise ProgrammingError(
            "SELECT users.password_hash FROM users WHERE users.email = %(email)s",
            {"email": "someone@test.example"},
            Exception('relation "users" does not exist at /srv/hub/referral_hub/db.py'),
        )

    app.add_url_rule("/api/v1/test-failure", "test_api_failure", fail)
    app.add_url_rule("/test-failure", "test_portal_failure", fail)
    yield app
    _dispose(app)


def _dispose(app: Flask) -> None:
    """Close this extra app's pooled connections (an unclosed one fails the run)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


_LEAKS = (
    "Traceback",
    "SELECT",
    "password_hash",
    "someone@test.example",
    "ProgrammingError",
    "sqlalchemy",
    "psycopg",
    'relation "users"',
    ".py",
    "/srv/",
    "/work/",
)


def _assert_no_leak(text: str) -> None:
    for leak in _LEAKS:
        assert leak.lower() not in text.lower(), leak


def test_an_internal_error_tells_nothing_of_its_cause(failing_app, caplog):
    client = failing_app.test_client()
    api = client.get("/api/v1/test-failure")
    assert api.status_code == 500
    assert api.mimetype == "application/problem+json"
    assert api.get_json()["type"].endswith("/problems/internal-error")
    _assert_no_leak(api.get_data(as_text=True))
    _assert_headers(api)
    page = client.get("/test-failure", headers={"Accept": "text/html"})
    assert page.status_code == 500
    assert page.mimetype == "text/html"
    _assert_no_leak(page.get_data(as_text=True))
    _assert_headers(page)
    assert _inline_code(page.get_data(as_text=True)) == []
    # The operator still has the whole story in the log.
    assert "ProgrammingError" in caplog.text


def test_https_adds_hsts(app_config):
    app = create_app({**app_config, "HUB_BASE_URL": "https://hub.example.id"})
    response = app.test_client().get("/login", base_url="https://hub.example.id")
    _dispose(app)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
