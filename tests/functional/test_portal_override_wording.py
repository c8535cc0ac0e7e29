"""A caseworker's override, as she reads it on her referral's page after asking.

"Persetujuan" is both the client's consent and the supervisor's approval in Indonesian; the
row of the supervisor's decision is named for what it is (in English too: never "Consent").
A declined override says, in its box at the top, why and what she can do next.
"""

from __future__ import annotations

import re

from tests.portal_sender_support import (
    JUSTIFICATION,
    PPU,
    post,
    referral_form,
    signed_in,
)
from tests.portal_sender_support import build_world as _build_world

OVERRIDE = {
    "basis": "override",
    "consent": None,
    "legal_basis": "legal_obligation",
    "justification": JUSTIFICATION,
}
DECLINE = "Wali sudah bisa dihubungi; minta persetujuannya dulu."


def _waiting(app, hub):
    world = _build_world(app)
    caseworker = signed_in(app, hub, PPU)
    response = post(caseworker, "/referrals/new", referral_form(world, **OVERRIDE))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return caseworker, response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def _approval_box(html: str) -> str:
    match = re.search(r'id="approval-state">(.*?)</div>', html, re.S)
    assert match, "no approval box"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def test_the_approval_row_is_named_for_the_supervisor_in_both_languages(app, hub):
    caseworker, referral_id = _waiting(app, hub)
    html = caseworker.get(f"/referrals/{referral_id}").get_data(as_text=True)
    assert "<dt>Persetujuan supervisor</dt>" in html
    post(caseworker, "/language", {"locale": "en", "next": "/"})
    english = caseworker.get(f"/referrals/{referral_id}").get_data(as_text=True)
    assert "<dt>Supervisor approval</dt>" in english
    assert "<dt>Consent</dt>" not in english


def test_a_declined_override_says_why_and_what_next(app, hub):
    caseworker, referral_id = _waiting(app, hub)
    supervisor = signed_in(app, hub, PPU, "supervisor")
    declined = post(
        supervisor, f"/referrals/approvals/{referral_id}/decline", {"decline_reason": DECLINE}
    )
    assert declined.status_code == 302
    box = _approval_box(caseworker.get(f"/referrals/{referral_id}").get_data(as_text=True))
    assert DECLINE in box
    assert "catat persetujuan klien" in box
