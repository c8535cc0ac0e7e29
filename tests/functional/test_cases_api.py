"""Cases over HTTP: opening, the owning unit only, If-Match, closing, the plan referred
through every gate with the case's data, and follow-ups announced without personal data."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select

from referral_hub.cases.models import Case, CaseNote
from referral_hub.cases.operations import sweep_due_follow_ups
from referral_hub.clients.models import Disclosure, local_today
from referral_hub.delivery.models import Event
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from tests.conftest import problem
from tests.referrals_support import (
    ALL_REFERRAL_SCOPES,
    BALIKPAPAN,
    BONTANG,
    PPU,
    Scenario,
)

CASE_SCOPES = f"{ALL_REFERRAL_SCOPES} cases:read cases:write"
SUMMARY = "CANARY-CASE-SUMMARY-7731: dipukul ayah tiri di rumah"


class CaseWorld(Scenario):
    def __init__(self, app, client, hub) -> None:
        super().__init__(app, client, hub)
        self.app = app
        self.ppu = hub.headers(PPU, CASE_SCOPES)
        self.balikpapan = hub.headers(BALIKPAPAN, CASE_SCOPES)
        self.bontang = hub.headers(BONTANG, CASE_SCOPES)
        self.polres = hub.headers("polres-ppu", CASE_SCOPES)

    def open(self, **changes):
        body = {
            "client": self.client["id"],
            "risk_level": "high",
            "violence_types": ["physical", "psychological"],
            "incident": {
                "occurred_on": (local_today() - dt.timedelta(days=3)).isoformat(),
                "place_type": "household",
                "region_code": "64.09",
            },
            "perpetrator_relationship": "parent",
            "summary": SUMMARY,
        }
        body.update(changes)
        response = self.http.post("/api/v1/cases", json=body, headers=self.ppu)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response

    def item(self, case_id, **changes):
        body = {
            "service": "psychological_counseling",
            "provider": BALIKPAPAN,
            "due_on": (local_today() + dt.timedelta(days=7)).isoformat(),
            "note": "Konseling psikolog klinis",
        }
        body.update(changes)
        response = self.http.post(
            f"/api/v1/cases/{case_id}/plan-items", json=body, headers=self.ppu
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    def refer(self, case_id, item_id, **changes):
        body = {
            "consent": self.consent["id"],
            "data_categories": ["identity", "case_summary"],
            "reason": "Perlu konseling",
        }
        body.update(changes)
        return self.http.post(
            f"/api/v1/cases/{case_id}/plan-items/{item_id}/refer",
            json={k: v for k, v in body.items() if v is not None},
            headers=self.ppu,
        )


@pytest.fixture
def world(app, client, hub):
    return CaseWorld(app, client, hub)


def test_a_case_is_opened_numbered_per_unit_and_year_with_its_text_encrypted(app, world):
    response = world.open()
    case = response.get_json()
    year = local_today().year
    assert re.fullmatch(rf"KS-PPU-{year}-\d{{6}}", case["number"])
    assert case["status"] == "open"
    assert case["summary"] == SUMMARY
    assert case["incident"]["place_type"] == "household"
    # A machine client names nobody: both are left to be assigned.
    assert case["caseworker"] is None
    assert case["supervisor"] is None
    assert response.headers["ETag"]
    second = world.open().get_json()
    assert int(second["number"][-6:]) == int(case["number"][-6:]) + 1
    with app.app_context():
        row = db.session.get(Case, case["id"])
        assert "CANARY" not in row.summary_enc
        # Reading the case's text is a read of the client's case data.
        reads = db.session.scalars(
            select(Disclosure).where(Disclosure.client_id == world.client["id"])
        ).all()
        assert any(d.context.startswith(f"case:{case['number']}") for d in reads)


def test_caseworker_and_supervisor_must_be_the_units_people(app, hub, world):
    supervisor = hub.user(PPU, "supervisor", "sup.cases@test.example")
    stranger = hub.user(BONTANG, "caseworker", "cw.bontang.cases@test.example")
    ok = world.open(supervisor=supervisor["email"]).get_json()
    assert ok["supervisor"]["id"] == supervisor["id"]
    body = {"client": world.client["id"], "risk_level": "low", "caseworker": stranger["id"]}
    response = world.http.post("/api/v1/cases", json=body, headers=world.ppu)
    assert response.status_code == 422
    assert "caseworker" in problem(response)["errors"]


def test_the_api_and_the_portal_choices_agree_on_who_may_be_assigned(app, hub, world):
    """One rule (accounts.find_active_member / active_members): active, of the unit, of a
    role that works cases (a supervisor for `supervisor`)."""
    from referral_hub.accounts.models import User
    from referral_hub.cases import operations as ops

    worker = hub.user(PPU, "caseworker", "cw.assign@test.example")
    gone = hub.user(PPU, "caseworker", "cw.gone@test.example")
    admin = hub.user(PPU, "org_admin", "admin.assign@test.example")
    with app.app_context():
        db.session.get(User, gone["id"]).active = False
        db.session.commit()
    refused = [
        ("caseworker", gone["email"]),
        ("caseworker", admin["id"]),
        ("supervisor", worker["id"]),
    ]
    for field, ref in refused:
        body = {"client": world.client["id"], "risk_level": "low", field: ref}
        response = world.http.post("/api/v1/cases", json=body, headers=world.ppu)
        assert response.status_code == 422, (field, ref)
        assert field in problem(response)["errors"]
    assert world.open(caseworker=worker["email"].upper()).status_code == 201
    with app.app_context():
        org_id = db.session.get(User, worker["id"]).organization_id
        workers, supervisors = ops.assignable_people(org_id)
        ids = {u.id for u in workers}
        assert worker["id"] in ids
        assert gone["id"] not in ids
        assert admin["id"] not in ids
        assert all(u.role == "supervisor" and u.active for u in supervisors)


def test_another_unit_a_partner_and_the_operator_never_see_the_case(world):
    case = world.open().get_json()
    etag = world.http.get(f"/api/v1/cases/{case['id']}", headers=world.ppu).headers["ETag"]
    for headers in (world.bontang, world.balikpapan, world.polres):
        assert world.http.get(f"/api/v1/cases/{case['id']}", headers=headers).status_code == 404
        patched = world.http.patch(
            f"/api/v1/cases/{case['id']}",
            json={"risk_level": "low"},
            headers={**headers, "If-Match": etag},
        )
        assert patched.status_code == 404
        closed = world.http.post(
            f"/api/v1/cases/{case['id']}/close", json={"reason": "other"}, headers=headers
        )
        assert closed.status_code == 404
        listed = world.http.get("/api/v1/cases", headers=headers)
        if listed.status_code == 200:
            assert listed.get_json()["items"] == []
    refused = problem(world.http.get("/api/v1/cases", headers=world.polres))
    assert refused["type"].endswith("not-a-uptd")
    # said of cases, not of registering clients
    assert refused["reason"] == "keeps-cases"
    assert "client" not in (refused["title"] + refused["detail"]).lower()
    assert "case" in refused["detail"].lower()


def test_patch_needs_the_current_etag(world):
    case = world.open().get_json()
    url = f"/api/v1/cases/{case['id']}"
    etag = world.http.get(url, headers=world.ppu).headers["ETag"]
    missing = world.http.patch(url, json={"risk_level": "low"}, headers=world.ppu)
    assert missing.status_code == 428
    changed = world.http.patch(
        url, json={"risk_level": "medium"}, headers={**world.ppu, "If-Match": etag}
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["risk_level"] == "medium"
    assert changed.headers["ETag"] != etag
    stale = world.http.patch(
        url, json={"risk_level": "low"}, headers={**world.ppu, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert world.http.get(url, headers=world.ppu).get_json()["risk_level"] == "medium"


def test_close_with_a_reason_then_reopen(world):
    case = world.open().get_json()
    url = f"/api/v1/cases/{case['id']}"
    closed = world.http.post(
        f"{url}/close", json={"reason": "goals_met", "summary": "Klien pulih"}, headers=world.ppu
    )
    assert closed.status_code == 200
    assert closed.get_json()["closing"]["reason"] == "goals_met"
    again = world.http.post(f"{url}/close", json={"reason": "other"}, headers=world.ppu)
    assert again.status_code == 409
    bad = world.http.post(f"{url}/close", json={"reason": "bored"}, headers=world.ppu)
    assert bad.status_code == 422
    # A closed case takes no new plan items.
    item = world.http.post(f"{url}/plan-items", json={"service": "outreach"}, headers=world.ppu)
    assert item.status_code == 409
    assert problem(item)["type"].endswith("case-closed")
    reopened = world.http.post(f"{url}/reopen", headers=world.ppu)
    assert reopened.status_code == 200
    assert reopened.get_json()["status"] == "open"
    assert reopened.get_json()["closing"] is None
    listed = world.http.get("/api/v1/cases?status=open", headers=world.ppu).get_json()
    assert case["id"] in [c["id"] for c in listed["items"]]
    assert SUMMARY not in json.dumps(listed)


def test_unit_items_are_the_units_own_six_services(world):
    case = world.open().get_json()
    own = world.http.post(
        f"/api/v1/cases/{case['id']}/plan-items",
        json={"service": "temporary_shelter", "due_on": local_today().isoformat()},
        headers=world.ppu,
    )
    assert own.status_code == 201
    assert own.get_json()["by_unit"] is True
    not_own = world.http.post(
        f"/api/v1/cases/{case['id']}/plan-items",
        json={"service": "forensic_exam"},
        headers=world.ppu,
    )
    assert not_own.status_code == 422
    assert "service" in problem(not_own)["errors"]
    done = world.http.patch(
        f"/api/v1/cases/{case['id']}/plan-items/{own.get_json()['id']}",
        json={"status": "done"},
        headers=world.ppu,
    )
    assert done.get_json()["status"] == "done"


def test_a_plan_item_is_referred_with_the_case_data_and_follows_the_referral(world):
    case = world.open().get_json()
    item = world.item(case["id"])
    response = world.refer(case["id"], item["id"])
    assert response.status_code == 201, response.get_data(as_text=True)
    referred = response.get_json()
    assert referred["status"] == "in_progress"
    referral = referred["referral"]
    assert referral["status"] == "requested"
    # The recipient reads the case data the categories allow, retyped by nobody.
    seen = world.http.get(f"/api/v1/referrals/{referral['id']}", headers=world.balikpapan)
    body = seen.get_json()
    assert body["client"]["case_summary"]["chronology"] == SUMMARY
    assert body["client"]["case_summary"]["violence_types"] == ["physical", "psychological"]
    assert "perpetrator" not in body["client"]
    assert body["case"]["number"] == case["number"]
    sent = world.http.get(f"/api/v1/referrals/{referral['id']}", headers=world.ppu).get_json()
    assert sent["case"] == {"id": case["id"], "number": case["number"]}
    # A referred item's status is the referral's, not the unit's to set.
    patched = world.http.patch(
        f"/api/v1/cases/{case['id']}/plan-items/{item['id']}",
        json={"status": "done"},
        headers=world.ppu,
    )
    assert patched.status_code == 409
    assert problem(patched)["type"].endswith("plan-item-follows-referral")
    twice = world.refer(case["id"], item["id"])
    assert twice.status_code == 409
    for action in ("accept", "complete"):
        extra = {"outcome": "service_delivered"} if action == "complete" else {}
        assert world.act(referral["id"], action, world.balikpapan, **extra).status_code == 200
    case_now = world.http.get(f"/api/v1/cases/{case['id']}", headers=world.ppu).get_json()
    assert case_now["plan_items"][0]["status"] == "done"


def test_the_recipient_never_sees_the_case_number_without_the_case_data(world):
    case = world.open().get_json()
    item = world.item(case["id"])
    response = world.refer(case["id"], item["id"], data_categories=["identity"])
    assert response.status_code == 201, response.get_data(as_text=True)
    referral_id = response.get_json()["referral"]["id"]
    seen = world.http.get(f"/api/v1/referrals/{referral_id}", headers=world.balikpapan)
    text = seen.get_data(as_text=True)
    assert seen.get_json()["case"] is None
    assert case["number"] not in text
    assert SUMMARY not in text
    assert "case_summary" not in seen.get_json()["client"]


def test_a_plan_item_without_consent_is_refused_as_a_direct_send_is(world):
    case = world.open().get_json()
    item = world.item(case["id"])
    # Neither consent nor legal basis: the schema's own words, both ways.
    direct = world.http.post("/api/v1/referrals", json=world.body(consent=None), headers=world.ppu)
    from_plan = world.refer(case["id"], item["id"], consent=None)
    assert direct.status_code == from_plan.status_code == 422
    assert problem(direct)["type"] == problem(from_plan)["type"]
    assert problem(direct)["errors"]["consent"] == problem(from_plan)["errors"]["consent"]
    # A consent withdrawn: the gate's slug, both ways; nothing sent.
    withdrawn = world.http.post(
        f"/api/v1/consents/{world.consent['id']}/withdraw",
        json={"reason": "klien berubah pikiran"},
        headers=world.ppu,
    )
    assert withdrawn.status_code == 200
    direct = world.http.post("/api/v1/referrals", json=world.body(), headers=world.ppu)
    from_plan = world.refer(case["id"], item["id"])
    assert direct.status_code == from_plan.status_code == 422
    assert problem(direct)["type"] == problem(from_plan)["type"]
    assert problem(from_plan)["type"].endswith("consent-withdrawn")
    with world.app.app_context():
        assert (
            db.session.scalars(select(Referral).where(Referral.case_id == case["id"])).all() == []
        )


def test_a_due_follow_up_is_announced_once_without_personal_data(app, world):
    case = world.open().get_json()
    note = world.http.post(
        f"/api/v1/cases/{case['id']}/notes",
        json={"text": "CANARY-NOTE-7731 hubungi ibu", "follow_up_on": local_today().isoformat()},
        headers=world.ppu,
    )
    assert note.status_code == 201
    later = world.http.post(
        f"/api/v1/cases/{case['id']}/notes",
        json={"text": "nanti", "follow_up_on": (local_today() + dt.timedelta(days=5)).isoformat()},
        headers=world.ppu,
    )
    assert later.status_code == 201
    with app.app_context():
        assert sweep_due_follow_ups() == [note.get_json()["id"]]
        assert sweep_due_follow_ups() == []
        db.session.commit()
        events = db.session.scalars(select(Event).where(Event.type == "case.follow_up_due")).all()
        assert len(events) == 1
        text = json.dumps(events[0].data)
        assert "CANARY" not in text
        assert SUMMARY not in text
        assert events[0].data["number"] == case["number"]
    done = world.http.post(
        f"/api/v1/cases/{case['id']}/notes/{note.get_json()['id']}/follow-up-done",
        headers=world.ppu,
    )
    assert done.status_code == 200
    with app.app_context():
        row = db.session.get(CaseNote, note.get_json()["id"])
        assert row.follow_up_done_at is not None
        assert "CANARY" not in row.text_enc


def test_the_timeline_holds_consents_plan_referrals_notes_and_disclosures(world):
    case = world.open().get_json()
    item = world.item(case["id"])
    assert world.refer(case["id"], item["id"]).status_code == 201
    world.http.post(
        f"/api/v1/cases/{case['id']}/notes", json={"text": "catatan"}, headers=world.ppu
    )
    timeline = world.http.get(
        f"/api/v1/cases/{case['id']}/timeline?page_size=100", headers=world.ppu
    ).get_json()
    kinds = {entry["kind"] for entry in timeline["items"]}
    assert {
        "case_opened",
        "consent_recorded",
        "plan_item",
        "referral",
        "note",
        "disclosure",
    } <= kinds
    hidden = world.http.get(f"/api/v1/cases/{case['id']}/timeline", headers=world.bontang)
    assert hidden.status_code == 404
