"""Accessibility kept: axe-core (WCAG 2.1 A and AA rules) on every page each role reaches, at
1280 and at 390 px, and what axe does not test, from a keyboard walk: the focus ring's
contrast, focus on a refused form's error summary, the title that says there was an error,
the alert of an empty sign-in, and focus on the message after *Terima*.

Every other browser test checks its pages too: `screenshot()` runs axe first.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from referral_hub.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.referrals.demo import _consent_for, _sender
from referral_hub.referrals.operations import send_referral
from tests.e2e.conftest import DESKTOP, PHONE, axe_violations, screenshot, sign_in

pytestmark = pytest.mark.e2e

#: Each role of the demo once: what they open is what the crawl below checks.
ACCOUNTS = (
    "caseworker@ppu.demo",
    "supervisor@ppu.demo",
    "admin@ppu.demo",
    "psikolog@balikpapan.demo",
    "penyidik@polres-ppu.demo",
    "auditor@kaltim.demo",
)
#: Links the crawl does not follow: actions, files, machine-readable documents.
SKIP = re.compile(
    r"^/(logout|language|static/|api/|\.well-known/|openapi|oauth/)|/documents/|/letter|\.(json|csv|pdf)$|/export"
)
#: Pages per role; one page of each shape (/referrals/<id> once, not per referral).
LIMIT = 40


@pytest.fixture
def demo(app):
    with app.app_context():
        load_demo()
        db.session.commit()
        db.session.remove()


def _shape(path: str) -> str:
    """A path with its ids and numbers blurred: one page of each kind is enough."""
    return re.sub(r"/[0-9a-f]{16,}|/[0-9A-Z]{20,}|/\d+", "/:id", path)


def _links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    out = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or SKIP.search(parts.path):
            continue
        out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


def _check_both_widths(page, path: str, found: dict[str, list]) -> None:
    for name, size in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(size)
        violations = axe_violations(page)
        if violations:
            found[f"{path} @{name}"] = violations
    page.set_viewport_size(DESKTOP)


def _crawl(page, live_server: str, start: str = "/") -> tuple[list[str], dict[str, list]]:
    seen_shapes: set[str] = set()
    queue = [start]
    visited: list[str] = []
    found: dict[str, list] = {}
    while queue and len(visited) < LIMIT:
        path = queue.pop(0)
        shape = _shape(urlsplit(path).path)
        if shape in seen_shapes:
            continue
        seen_shapes.add(shape)
        response = page.goto(path)
        if response is None or response.status >= 500:
            found[path] = [{"status": response.status if response else None}]
            continue
        if "text/html" not in (response.headers.get("content-type") or ""):
            continue  # a JSON document linked from a page (/fhir/metadata, /openapi.json)
        visited.append(path)
        _check_both_widths(page, path, found)
        queue.extend(_links(page, live_server))
    return visited, found


@pytest.mark.parametrize("email", ACCOUNTS)
def test_axe_finds_nothing_on_any_page_of_each_role_at_1280_and_390(page, live_server, demo, email):
    sign_in(page, email, DEMO_PASSWORD, DEMO_TOTP_SECRET)
    visited, found = _crawl(page, live_server)
    assert len(visited) >= 4, visited  # the crawl reached the role's pages
    assert not found, found


#: Laporan: each report of the registry, for a unit and for the province (small counts
#: hidden), whatever the crawl's limit lets it reach.
REPORT_PAGES = ("cases", "referrals", "services", "intakes", "agreements")


@pytest.mark.parametrize("email", ["supervisor@ppu.demo", "auditor@kaltim.demo"])
def test_axe_finds_nothing_on_any_report_at_1280_and_390(page, live_server, demo, email):
    sign_in(page, email, DEMO_PASSWORD, DEMO_TOTP_SECRET)
    found: dict[str, list] = {}
    for report in REPORT_PAGES:
        path = f"/reports/{report}"
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        _check_both_widths(page, path, found)
    assert not found, found


def test_axe_finds_nothing_on_the_pages_before_signing_in(page, live_server):
    found: dict[str, list] = {}
    for path in ("/login", "/docs", "/problems/not-found", "/no-such-page"):
        page.goto(path)
        _check_both_widths(page, path, found)
    page.goto("/login")
    page.get_by_role("button", name="Masuk").click()  # the refused, empty sign-in
    _check_both_widths(page, "/login (refused)", found)
    assert not found, found


def _contrast(page, selector: str) -> float:
    """Contrast of the focused element's outline with the page behind it (WCAG 1.4.11)."""
    return page.evaluate(
        """(selector) => {
            const el = document.querySelector(selector);
            const style = getComputedStyle(el);
            const parse = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
            const lum = ([r, g, b]) => {
                const f = v => {
                    v /= 255;
                    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
                };
                return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
            };
            let bg = el.parentElement;
            let color = getComputedStyle(bg).backgroundColor;
            while (bg && (color === "rgba(0, 0, 0, 0)" || color === "transparent")) {
                bg = bg.parentElement;
                color = bg ? getComputedStyle(bg).backgroundColor : "rgb(255, 255, 255)";
            }
            if (style.outlineStyle === "none" || parseFloat(style.outlineWidth) < 2) return 0;
            const ring = lum(parse(style.outlineColor));
            const [a, b] = [ring, lum(parse(color))].sort((x, y) => y - x);
            return (a + 0.05) / (b + 0.05);
        }""",
        selector,
    )


def test_the_focus_ring_stands_out_from_the_page(page, live_server):
    page.goto("/login")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    for selector in ("#email", "button.primary, form.form button[type=submit]"):
        page.focus(selector)
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # focus by keyboard: :focus-visible applies
        assert _contrast(page, selector) >= 3, selector


def test_a_refused_form_moves_focus_to_its_summary_and_says_so_in_the_title(
    page, live_server, demo
):
    sign_in(page, "caseworker@ppu.demo", DEMO_PASSWORD, DEMO_TOTP_SECRET)
    page.goto("/clients/new")
    page.get_by_role("button", name="Daftarkan").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    assert page.title().startswith("Kesalahan: ")
    # Its first link leads to the field to correct.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#f-full_name")).to_be_focused()
    screenshot(page, "a11y-refused-form-desktop")


def test_an_empty_sign_in_is_announced_and_focused(page, live_server):
    page.goto("/login")
    page.get_by_role("button", name="Masuk").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("E-mail")
    expect(page.locator("#login-error")).to_be_focused()
    assert page.title().startswith("Kesalahan: ")
    screenshot(page, "a11y-login-empty-desktop")


def test_after_accepting_focus_lands_on_the_message(app, page, live_server, demo):
    with app.app_context():
        sender = _sender()
        from referral_hub.clients.operations import find_by_nik

        client = find_by_nik(sender.organization_id, "0000000000000001")
        balikpapan = find_organization("uptd-ppa-balikpapan")
        consent = _consent_for(client, balikpapan.id, "psychological_counseling")
        referral = send_referral(
            sender,
            {
                "client": client.id,
                "consent": consent.id,
                "to": "uptd-ppa-balikpapan",
                "service": "psychological_counseling",
                "urgency": "routine",
                "reason": "Uji fokus setelah Terima.",
                "data_categories": ["identity"],
                "case_data": {"case_summary": {"violence_types": ["psychological"]}},
            },
        )
        referral_id = referral.id
        db.session.commit()
        db.session.remove()
    sign_in(page, "psikolog@balikpapan.demo", DEMO_PASSWORD, DEMO_TOTP_SECRET)
    page.goto(f"/referrals/received/{referral_id}")
    page.get_by_role("button", name="Terima").click()
    message = page.locator("#flashes")
    expect(message).to_be_focused()
    expect(message).to_contain_text("diterima")
    screenshot(page, "a11y-accepted-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "a11y-accepted-phone")


def test_axe_finds_nothing_on_the_intake_pages_at_1280_and_390(page, live_server, demo):
    """The inbox, the phone form and an open intake with its accept form (the crawl above may
    stop before them)."""
    sign_in(page, "caseworker@ppu.demo", DEMO_PASSWORD, DEMO_TOTP_SECRET)
    found: dict[str, list] = {}
    for path in ("/intakes", "/intakes/new"):
        page.goto(path)
        _check_both_widths(page, path, found)
    page.goto("/intakes")
    page.locator("a[href*='/intakes/']").filter(has_text="ADU-").first.click()
    assert page.locator("#f-client").count() == 1  # an open intake: the accept form is there
    _check_both_widths(page, "/intakes/:id", found)
    assert not found, found
