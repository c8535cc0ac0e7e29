"""A supervisor, in a real browser, approves an override the unit's machine client sent.

The machine client (a token without a user) can only ask: its override waits as a draft
until the demo supervisor of PPU opens Menunggu persetujuan, reads the justification and
exactly what Balikpapan would see, and approves it; Balikpapan's psychologist then finds it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from referral_hub.actors import Actor
from referral_hub.demo import DEMO_PASSWORD
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.oauth.operations import create_client
from referral_hub.referrals.operations import send_referral
from tests.e2e.conftest import no_horizontal_scroll, screenshot, sign_in
from tests.e2e.test_portal_uptd import _demo_client

pytestmark = pytest.mark.e2e

SUPERVISOR = "supervisor@ppu.demo"
PSYCHOLOGIST = "psikolog@balikpapan.demo"
JUSTIFICATION = (
    "UU TPKS Pasal 41: kekerasan seksual terhadap anak wajib dilaporkan dalam 3x24 jam; "
    "ibu kandung tidak dapat dihubungi."
)


def _machine_draft(app, client_id: str) -> dict[str, str]:
    """An override sent by PPU's SIMFONI bridge (an OAuth client without a user)."""
    with app.app_context():
        ppu = find_organization("uptd-ppa-ppu")
        oauth, _secret = create_client(
            Actor.system("tests"),
            organization="uptd-ppa-ppu",
            name="Jembatan SIMFONI-PPA",
            scope="referrals:write",
        )
        machine = Actor(
            ppu.id,
            client_id=oauth.client_id,
            kind="client",
            label=oauth.name,
            organization_type=ppu.type,
            scopes=frozenset({"referrals:write"}),
        )
        referral = send_referral(
            machine,
            {
                "client": client_id,
                "to": "uptd-ppa-balikpapan",
                "service": "psychological_counseling",
                "urgency": "urgent",
                "reason": "Pendampingan psikologis segera setelah pemeriksaan.",
                "legal_basis": "legal_obligation",
                "justification": JUSTIFICATION,
                "data_categories": ["identity", "case_summary"],
                "case_data": {
                    "case_summary": {
                        "violence_types": ["sexual"],
                        "incident_place_type": "household",
                        "chronology": "Kronologi singkat dari laporan awal.",
                    }
                },
            },
        )
        assert referral.status == "draft"
        db.session.commit()
        made = {"id": referral.id, "number": referral.number}
        db.session.remove()
        return made


def test_a_supervisor_approves_a_machine_sent_override(app, page, phone, browser, live_server):
    client = _demo_client(app, "0000000000000001")
    draft = _machine_draft(app, client["id"])

    # The recipient cannot see it yet.
    recipient = browser.new_context(base_url=live_server, locale="id-ID").new_page()
    sign_in(recipient, PSYCHOLOGIST, DEMO_PASSWORD)
    recipient.goto("/referrals/received")
    expect(recipient.locator("main")).not_to_contain_text(draft["number"])

    # On a phone: the menu shows what waits; the page fits the screen.
    sign_in(phone, SUPERVISOR, DEMO_PASSWORD)
    menu = phone.get_by_role("navigation", name="Menu utama")
    expect(menu.get_by_role("link", name=re.compile("Menunggu persetujuan"))).to_contain_text("1")
    menu.get_by_role("link", name=re.compile("Menunggu persetujuan")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Menunggu persetujuan")
    assert no_horizontal_scroll(phone)
    screenshot(phone, "approvals-list-phone")
    phone.get_by_role("link", name=draft["number"]).click()
    expect(phone.locator("#justification")).to_have_text(JUSTIFICATION)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "approval-phone")

    # On a desktop: what Balikpapan would see, then the decision.
    sign_in(page, SUPERVISOR, DEMO_PASSWORD)
    page.goto(f"/referrals/approvals/{draft['id']}")
    seen = page.locator("section.recipient-view")
    expect(seen).to_contain_text("UPTD PPA Kota Balikpapan")
    expect(seen).to_contain_text("Identitas")
    expect(seen).to_contain_text("Kronologi singkat dari laporan awal.")
    expect(seen).not_to_contain_text(JUSTIFICATION)
    expect(page.get_by_text("Jembatan SIMFONI-PPA", exact=False)).to_be_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, "approval-desktop")
    page.get_by_role("button", name="Setujui", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("disetujui dan dikirim")
    expect(page.locator("#status")).to_contain_text("Menunggu jawaban")
    expect(page.locator("main")).to_contain_text("Demo Supervisor PPU")
    screenshot(page, "approval-approved-desktop")

    # Now Balikpapan's psychologist finds it.
    recipient.goto("/referrals/received")
    expect(recipient.locator("main")).to_contain_text(draft["number"])
    recipient.context.close()
