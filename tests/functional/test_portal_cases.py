"""Kasus in the portal: open from the client's page, the case page as the caseworker's home,
the plan referred, follow-ups on the start page, and other units kept out."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from referral_hub.cases.models import Case, CaseNote
from referral_hub.clients.models import local_today
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from tests.portal_sender_support import BALIKPAPAN, BONTANG, PPU, build_world, post, signed_in

SUMMARY = "CANARY-PORTAL-CASE-5512 dipukul di rumah"


@pytest.fixture
def world(app):
    return build_world(app)


def _open(browser, world, **changes):
    form = {
        "client": world.client_code,
        "risk_level": "high",
        "violence_types": ["physical", "psychological"],
        "occurred_on": (local_today() - dt.timedelta(days=2)).isoformat(),
        "place_type": "household",
        "region_code": "64.09",
        "perpetrator_relationship": "parent",
        "summary": SUMMARY,
    }
    form.update(changes)
    response = post(browser, "/cases/new", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_a_caseworker_opens_a_case_and_is_its_caseworker(app, hub, world):
    browser = signed_in(app, hub, PPU)
    page = browser.get(f"/clients/{world.client_id}").get_data(as_text=True)
    assert f"/cases/new?client={world.client_id}" in page
    form = browser.get(f"/cases/new?client={world.client_id}")
    assert form.status_code == 200
    case_id = _open(browser, world)
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.caseworker_id == browser.user["id"]
        number = case.number
    html = browser.get(f"/cases/{case_id}").get_data(as_text=True)
    assert number in html
    assert SUMMARY in html
    assert "Linimasa klien" in html
    listing = browser.get("/cases?mine=1&status=open").get_data(as_text=True)
    assert number in listing
    assert SUMMARY not in listing


def test_the_form_keeps_what_was_typed_and_says_what_is_wrong(app, hub, world):
    browser = signed_in(app, hub, PPU)
    response = post(
        browser, "/cases/new", {"client": "KL-NOPE-1", "risk_level": "", "summary": SUMMARY}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Klien tidak ditemukan" in html
    assert SUMMARY in html


def test_another_units_caseworker_and_partners_never_see_the_case(app, hub, world):
    owner = signed_in(app, hub, PPU)
    case_id = _open(owner, world)
    other = signed_in(app, hub, BONTANG)
    assert other.get(f"/cases/{case_id}").status_code == 404
    assert post(other, f"/cases/{case_id}/notes", {"text": "x"}).status_code == 404
    assert post(other, f"/cases/{case_id}/close", {"reason": "other"}).status_code == 404
    assert SUMMARY not in other.get("/cases").get_data(as_text=True)
    partner = signed_in(app, hub, BALIKPAPAN, "caseworker", "cw2.bpp@test.example")
    assert partner.get(f"/cases/{case_id}").status_code == 404
    admin = signed_in(app, hub, PPU, "org_admin")
    assert admin.get(f"/cases/{case_id}").status_code in (302, 403)


def test_a_plan_item_is_referred_from_the_case_page(app, hub, world):
    browser = signed_in(app, hub, PPU)
    case_id = _open(browser, world)
    added = post(
        browser,
        f"/cases/{case_id}/plan-items/new",
        {
            "service": "psychological_counseling",
            "provider": world.balikpapan_id,
            "note": "konseling",
        },
    )
    assert added.status_code == 302
    with app.app_context():
        item_id = db.session.get(Case, case_id).plan_items[0].id
    form = browser.get(f"/cases/{case_id}/plan-items/{item_id}/refer")
    assert form.status_code == 200
    sent = post(
        browser,
        f"/cases/{case_id}/plan-items/{item_id}/refer",
        {"consent": world.consent_id, "urgency": "routine", "data_categories": ["case_summary"]},
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)[:3000]
    with app.app_context():
        referral = db.session.scalars(select(Referral).where(Referral.case_id == case_id)).one()
        assert referral.case_data["case_summary"]["chronology"] == SUMMARY
        number, case_number = referral.number, referral.case.number
    page = browser.get(f"/cases/{case_id}").get_data(as_text=True)
    assert number in page
    detail = browser.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert case_number in detail


def test_a_due_follow_up_shows_on_the_caseworkers_home_and_overdue_ones_to_the_supervisor(
    app, hub, world
):
    browser = signed_in(app, hub, PPU)
    case_id = _open(browser, world)
    today = local_today()
    noted = post(
        browser,
        f"/cases/{case_id}/notes",
        {"text": "CANARY-NOTE-5512 telepon ibu", "follow_up_on": today.isoformat()},
    )
    assert noted.status_code == 302
    with app.app_context():
        number = db.session.get(Case, case_id).number
        note = db.session.scalars(select(CaseNote).where(CaseNote.case_id == case_id)).one()
        note_id = note.id
    home = browser.get("/").get_data(as_text=True)
    assert "Tindak lanjut jatuh tempo" in home
    assert number in _follow_ups(home)
    assert "CANARY-NOTE" not in home
    supervisor = signed_in(app, hub, PPU, "supervisor")
    # Due today is the caseworker's; the supervisor sees what is late.
    assert number not in supervisor.get("/").get_data(as_text=True)
    with app.app_context():
        row = db.session.get(CaseNote, note_id)
        row.follow_up_on = today - dt.timedelta(days=2)
        db.session.commit()
    assert number in supervisor.get("/").get_data(as_text=True)
    done = post(browser, f"/cases/{case_id}/notes/{note_id}/done", {})
    assert done.status_code == 302
    assert number not in _follow_ups(browser.get("/").get_data(as_text=True))


def _follow_ups(home: str) -> str:
    """The caseworker's own due follow-ups on her start page (her open cases are listed
    above them)."""
    return home.split("Tindak lanjut jatuh tempo", 1)[1].split("<h3>", 1)[0]


def test_close_and_reopen_from_the_case_page(app, hub, world):
    browser = signed_in(app, hub, PPU)
    case_id = _open(browser, world)
    refused = post(browser, f"/cases/{case_id}/close", {"reason": ""})
    assert refused.status_code == 422
    closed = post(browser, f"/cases/{case_id}/close", {"reason": "goals_met", "summary": "pulih"})
    assert closed.status_code == 302
    assert "Buka kembali" in browser.get(f"/cases/{case_id}").get_data(as_text=True)
    assert post(browser, f"/cases/{case_id}/reopen", {}).status_code == 302
    with app.app_context():
        assert db.session.get(Case, case_id).status == "open"


def test_a_stale_edit_keeps_what_was_typed(app, hub, world):
    browser = signed_in(app, hub, PPU)
    case_id = _open(browser, world)
    page = browser.get(f"/cases/{case_id}/edit").get_data(as_text=True)
    etag = re.search(r'name="etag" value="([^"]+)"', page).group(1)
    form = {"risk_level": "low", "summary": "versi saya", "etag": etag}
    assert (
        post(browser, f"/cases/{case_id}/edit", {**form, "risk_level": "medium"}).status_code == 302
    )
    stale = post(browser, f"/cases/{case_id}/edit", form)
    assert stale.status_code == 422
    assert "versi saya" in stale.get_data(as_text=True)
