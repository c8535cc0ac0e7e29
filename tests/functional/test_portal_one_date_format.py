"""Every page writes a moment one way, "3 Des 2026, 12.58 WITA", and a day "3 Des 2026".

The pages each role reaches from its home page (two clicks deep) are read as text: no
"3/12/26", no bare ISO date or time, no hour without its zone.
"""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import urlsplit

import pytest

from referral_hub.portal.moments import day, moment
from tests.portal_sender_support import PPU, build_world, post, referral_form, signed_in

BALIKPAPAN = "uptd-ppa-balikpapan"
OTHER_SHAPES = {
    "d/m/yy": re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"),
    "ISO date": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    "ISO time": re.compile(r"\d{2}:\d{2}:\d{2}|T\d{2}:\d{2}"),
    # 12.58 not followed by its zone; region codes (64.09, 64.71.01) are no hours.
    "hour without its zone": re.compile(
        r"(?<![\d.(])\b(?:[01]\d|2[0-3])[.:][0-5]\d\b(?![.\d])(?! (?:WIB|WITA|WIT)\b)"
    ),
}
SKIP = ("/logout", "/language", "/api", "/docs", "/static", "/oauth", "/login", "/signout")


def _text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))


def _walk(browser, start: str = "/", depth: int = 2, limit: int = 40) -> dict[str, str]:
    """The text of the pages reachable from `start` by links, without query strings."""
    seen: dict[str, str] = {}
    frontier = [start]
    for _ in range(depth + 1):
        found: list[str] = []
        for path in frontier:
            if path in seen or len(seen) >= limit:
                continue
            response = browser.get(path)
            if response.status_code != 200 or "text/html" not in response.content_type:
                continue
            page = response.get_data(as_text=True)
            seen[path] = _text(page)
            for href in re.findall(r'href="([^"#]+)"', page):
                link = urlsplit(htmllib.unescape(href))
                if link.netloc or link.query or not link.path.startswith("/"):
                    continue
                if not link.path.startswith(SKIP):
                    found.append(link.path)
        frontier = found
    return seen


def _other_shapes(pages: dict[str, str]) -> list[tuple[str, str, str]]:
    return [
        (path, name, match.group(0))
        for path, text in pages.items()
        for name, shape in OTHER_SHAPES.items()
        for match in shape.finditer(text)
    ]


@pytest.fixture
def sent_referral(app, hub):
    world = build_world(app)
    caseworker = signed_in(app, hub, PPU)
    assert post(caseworker, "/referrals/new", referral_form(world)).status_code == 302
    return caseworker


def test_the_format_itself(app, monkeypatch):
    import datetime as dt

    at = dt.datetime(2026, 12, 3, 4, 58, tzinfo=dt.UTC)
    with app.test_request_context():
        assert moment(at) == "3 Des 2026, 12.58 WITA"
        assert day(at.date()) == "3 Des 2026"
        assert moment(at, "en") == "3 Dec 2026, 12:58 WITA"
    monkeypatch.setitem(app.config, "HUB_TIMEZONE", "Asia/Jakarta")  # this test only
    with app.test_request_context():
        assert moment(at) == "3 Des 2026, 11.58 WIB"


@pytest.mark.parametrize(
    ("org", "role"),
    [(PPU, "caseworker"), (BALIKPAPAN, "caseworker"), (PPU, "org_admin"), (PPU, "supervisor")],
)
def test_no_other_date_shape_on_the_pages_a_role_reaches(app, hub, sent_referral, org, role):
    browser = signed_in(app, hub, org, role, f"{role}.{org}.reader@test.example")
    pages = _walk(browser)
    assert len(pages) >= 8, sorted(pages)
    assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4}", " ".join(pages.values()))
    assert _other_shapes(pages) == []


def test_the_shapes_that_are_gone_would_be_found():
    old = {"/": "Dikirim 3/12/26 12.58 · berlaku 2026-12-03 · 3 Des 2026, 12.58 · 2026-12-03T04:58"}
    assert {name for _path, name, _ in _other_shapes(old)} == set(OTHER_SHAPES)
    assert _other_shapes({"/": "3 Des 2026, 12.58 WITA · Kabupaten (64.09) · 127.0.0.1"}) == []
