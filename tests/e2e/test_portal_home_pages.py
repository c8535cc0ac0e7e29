"""Each role's start page in a real browser, at 1280 and 390 px: its day's work is there, the
page passes axe (screenshot() checks it) and never scrolls sideways; the caseworker's e-mail
wraps before its "@" at 360 px, never a letter on a line of its own."""

from __future__ import annotations

import pytest

from referral_hub.actors import Actor
from referral_hub.audit.checkpoints import sign_checkpoint
from referral_hub.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from referral_hub.extensions import db
from tests.e2e.conftest import DESKTOP, PHONE, no_horizontal_scroll, screenshot, sign_in

pytestmark = pytest.mark.e2e

#: (account, the panels its start page must show, name of the screenshots).
HOMES = (
    ("caseworker@ppu.demo", ("case_follow_ups", "sent-referrals", "received-referrals"), "cw"),
    ("psikolog@balikpapan.demo", ("session-agenda", "received-referrals"), "psychologist"),
    ("penyidik@polres-ppu.demo", ("session-agenda", "received-referrals"), "police"),
    ("admin@ppu.demo", ("agreements-expiring", "partners-off-hub", "audit-watch"), "admin"),
    ("auditor@kaltim.demo", ("audit-watch",), "auditor"),
)


@pytest.fixture
def demo(app):
    with app.app_context():
        load_demo()
        sign_checkpoint(Actor.system("tests"))
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize(("email", "panels", "name"), HOMES)
def test_each_role_s_home_shows_its_work_at_both_widths(
    page, live_server, demo, email, panels, name
):
    sign_in(page, email, DEMO_PASSWORD, DEMO_TOTP_SECRET)
    page.goto("/")
    for panel in panels:
        assert page.locator(f"#panel-{panel}").is_visible(), panel
    for width, size in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(size)
        assert no_horizontal_scroll(page), width
        screenshot(page, f"home-{name}-{width}")


def test_the_psychologist_s_agenda_names_the_referral_time_mode_and_place(page, live_server, demo):
    sign_in(page, "psikolog@balikpapan.demo", DEMO_PASSWORD)
    page.goto("/")
    agenda = page.locator("#session-agenda li").first
    text = agenda.inner_text()
    assert "RJ-PPU-" in text
    assert "WITA" in text
    assert "Tatap muka" in text
    assert "Ruang konseling" in text
    agenda.get_by_role("link").click()
    assert "/received/" in page.url


#: The e-mail's lines as the browser laid them out, from the rectangles of its letters.
LINES = """(el) => {
    const node = document.createRange(), lines = [];
    let top = null, line = "";
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = walker.nextNode())) {
        for (let i = 0; i < n.data.length; i++) {
            node.setStart(n, i); node.setEnd(n, i + 1);
            const rect = node.getClientRects()[0];
            if (top !== null && rect && Math.abs(rect.top - top) > 2) {
                lines.push(line); line = "";
            }
            if (rect) top = rect.top;
            line += n.data[i];
        }
    }
    lines.push(line);
    return lines;
}"""


@pytest.mark.parametrize(
    ("email", "local"),
    [("caseworker@ppu.demo", "caseworker"), ("penyidik@polres-ppu.demo", "penyidik")],
)
def test_an_e_mail_wraps_before_its_at_sign_at_360_px(page, live_server, demo, email, local):
    page.set_viewport_size({"width": 360, "height": 800})
    sign_in(page, email, DEMO_PASSWORD)
    page.goto("/")
    lines = page.locator("dl.facts dd").nth(2).evaluate(LINES)  # the e-mail
    assert lines in ([email], [local, email[len(local) :]]), lines
    assert no_horizontal_scroll(page)
