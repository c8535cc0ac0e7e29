"""A client's UU PDP rights over cases: an open case refuses the erasure; after it the case
keeps its number, status and codes while its texts read as erased; the export lists the
client's cases with their plan and notes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from referral_hub.cases.models import Case, CaseNote
from referral_hub.clients.models import local_today
from referral_hub.extensions import db
from tests.clients_support import CANARY
from tests.functional.test_cases_api import SUMMARY, CaseWorld
from tests.referrals_support import PPU, user_headers

NOTE = "CANARY-CASE-NOTE-4419 ibu klien menelepon"
ITEM_NOTE = "CANARY-PLAN-NOTE-6620 jangkau ke rumah nenek"
CLOSING = "CANARY-CLOSING-8812 klien pindah ke Samarinda"


@pytest.fixture
def world(app, client, hub):
    return CaseWorld(app, client, hub)


def _supervisor(app, hub):
    user = hub.user(PPU, "supervisor", email="supervisor.case-rights@test.example")
    return user_headers(app, hub, PPU, user["id"], "clients:read clients:write clients:erase")


def _erase(world, headers):
    return world.http.post(
        f"/api/v1/clients/{world.client['id']}/erase",
        json={"reason": "data_subject_request"},
        headers=headers,
    )


def _case_with_plan_and_note(world):
    case = world.open().get_json()
    url = f"/api/v1/cases/{case['id']}"
    item = world.item(case["id"], service="outreach", provider=PPU, note=ITEM_NOTE)
    due = (local_today() + dt.timedelta(days=2)).isoformat()
    noted = world.http.post(
        f"{url}/notes", json={"text": NOTE, "follow_up_on": due}, headers=world.ppu
    )
    assert noted.status_code == 201, noted.get_data(as_text=True)
    return case, item


def test_an_open_case_refuses_the_erasure(app, hub, world):
    case = world.open().get_json()
    response = _erase(world, _supervisor(app, hub))
    assert response.status_code == 409
    body = response.get_json()
    assert body["type"].endswith("/client-has-open-work")
    assert {"reason": "open-cases", "count": 1} in body["open_work"]
    got = world.http.get(f"/api/v1/cases/{case['id']}", headers=world.ppu).get_json()
    assert got["summary"] == SUMMARY


def test_the_export_lists_the_cases_with_plan_and_notes(world):
    case, _item = _case_with_plan_and_note(world)
    export = world.http.get(f"/api/v1/clients/{world.client['id']}/export", headers=world.ppu)
    assert export.status_code == 200, export.get_data(as_text=True)
    (exported,) = export.get_json()["cases"]
    assert exported["number"] == case["number"]
    assert exported["summary"] == SUMMARY
    assert [p["note"] for p in exported["plan"]] == [ITEM_NOTE]
    assert [n["text"] for n in exported["notes"]] == [NOTE]


def test_after_erasure_the_case_keeps_numbers_and_statuses_but_no_text(app, hub, world):
    case, item = _case_with_plan_and_note(world)
    url = f"/api/v1/cases/{case['id']}"
    closed = world.http.post(
        f"{url}/close", json={"reason": "client_withdrew", "summary": CLOSING}, headers=world.ppu
    )
    assert closed.status_code == 200, closed.get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(Case, case["id"])
        assert stored.summary_enc.startswith("c1.")
        assert stored.close_summary_enc.startswith("c1.")
        note = db.session.query(CaseNote).filter_by(case_id=case["id"]).one()
        assert note.text_enc.startswith("c1.")
    response = _erase(world, _supervisor(app, hub))
    assert response.status_code == 200, response.get_data(as_text=True)

    got = world.http.get(url, headers=world.ppu)
    assert got.status_code == 200, got.get_data(as_text=True)
    body = got.get_json()
    assert body["number"] == case["number"]
    assert body["status"] == "closed"
    assert body["closing"]["reason"] == "client_withdrew"
    assert body["summary"] == "[erased]"
    assert body["risk_level"] == "high"
    assert [p["status"] for p in body["plan_items"]] == [item["status"]]
    notes = world.http.get(f"{url}/notes", headers=world.ppu)
    timeline = world.http.get(f"{url}/timeline", headers=world.ppu)
    export = world.http.get(f"/api/v1/clients/{world.client['id']}/export", headers=world.ppu)
    listed = world.http.get("/api/v1/cases", headers=world.ppu)
    for answer in (got, notes, timeline, export, listed):
        assert answer.status_code == 200, answer.get_data(as_text=True)
        text = answer.get_data(as_text=True)
        for canary in (SUMMARY, NOTE, ITEM_NOTE, CLOSING, CANARY["full_name"]):
            assert canary not in text
    (exported,) = export.get_json()["cases"]
    assert exported["number"] == case["number"]
    assert exported["status"] == "closed"
    # Nothing more is written under the destroyed key: a reopened case takes no note.
    assert world.http.post(f"{url}/reopen", headers=world.ppu).status_code in (200, 409)
    more = world.http.post(f"{url}/notes", json={"text": "lagi"}, headers=world.ppu)
    assert more.status_code == 409
    assert more.get_json()["type"].endswith("/client-erased")
    assert json.dumps(body)
