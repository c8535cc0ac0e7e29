"""A unit's intake clock and the case's intake in a real browser: the supervisor finds the
unit's hours from the intakes, a mistake comes back with what was typed and the summary in
focus, the new hours are saved; a case accepted from an intake links it on its timeline.
At 1280 and 390 px, checked by axe (screenshot)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.intake import operations as intake_ops
from referral_hub.intake.models import Intake
from tests.e2e.conftest import DESKTOP, PHONE, no_horizontal_scroll, screenshot, sign_in

pytestmark = pytest.mark.e2e

SUPERVISOR = "supervisor@ppu.demo"
CASEWORKER = "caseworker@ppu.demo"


def _demo(app) -> None:
    with app.app_context():
        load_demo()
        db.session.commit()
        db.session.remove()


def test_the_supervisor_sets_the_units_intake_clock(page, app):
    _demo(app)
    sign_in(page, SUPERVISOR, DEMO_PASSWORD, DEMO_TOTP_SECRET)
    page.goto("/intakes")
    page.get_by_role("link", name="Batas waktu menanggapi aduan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Batas waktu menanggapi aduan")
    expect(
        page.get_by_text("Aduan yang batas waktunya sudah berjalan tidak berubah")
    ).to_be_visible()
    screenshot(page, "intake-clock-desktop")
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    screenshot(page, "intake-clock-phone")
    # Medium shorter than high: refused, everything typed stays, the summary has the focus.
    page.get_by_label("Risiko Tinggi (jam)").fill("8")
    page.get_by_label("Risiko Sedang (jam)").fill("6")
    page.get_by_label("Risiko Rendah (jam)").fill("48")
    page.get_by_role("button", name="Simpan batas waktu").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.get_by_label("Risiko Tinggi (jam)")).to_have_value("8")
    expect(page.get_by_label("Risiko Rendah (jam)")).to_have_value("48")
    expect(page.locator("#f-medium-error")).to_contain_text("lebih singkat daripada risiko tinggi")
    assert no_horizontal_scroll(page)
    screenshot(page, "intake-clock-refused-phone")
    page.get_by_label("Risiko Tinggi (jam)").fill("2")
    page.get_by_role("button", name="Simpan batas waktu").click()
    expect(page.get_by_text("Batas waktu aduan unit disimpan.")).to_be_visible()
    high = page.locator("tbody tr").first
    expect(high).to_contain_text("Tinggi")
    expect(high.locator("td").first).to_have_text("2 jam")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "intake-clock-saved-desktop")


def test_a_case_from_an_intake_links_it_on_its_timeline(page, app):
    _demo(app)
    with app.app_context():
        ppu = find_organization("uptd-ppa-ppu")
        intake = db.session.scalars(
            select(Intake).where(
                Intake.organization_id == ppu.id, Intake.status.in_(("received", "triaged"))
            )
        ).first()
        number = intake.number
        _intake, _client, case = intake_ops.accept_intake(
            Actor.for_organization(ppu, "e2e"),
            intake.id,
            {
                "register": {
                    "full_name": "Korban Uji Peramban",
                    "birth_date": dt.date(1990, 1, 1),
                    "sex": "female",
                    "domicile_region": "64.09",
                }
            },
        )
        db.session.commit()
        case_id = case.id
        db.session.remove()
    sign_in(page, CASEWORKER, DEMO_PASSWORD, DEMO_TOTP_SECRET)
    page.goto(f"/cases/{case_id}")
    link = page.get_by_role("link", name=number).first
    expect(link).to_be_visible()
    screenshot(page, "case-timeline-intake-desktop")
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    screenshot(page, "case-timeline-intake-phone")
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
