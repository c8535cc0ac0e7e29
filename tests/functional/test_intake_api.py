"""Intakes over HTTP: the gate, who sees what, the clock, forward, accept and decline, the
overdue sweep, and events without personal data."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import time_machine
from sqlalchemy import func, select

from referral_hub.actors import Actor
from referral_hub.cases.models import Case
from referral_hub.clients.models import local_today
from referral_hub.delivery.models import Event, Notification
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.intake.models import Intake
from referral_hub.intake.operations import overdue_intakes, sweep_overdue_intakes
from tests.conftest import problem
from tests.intake_support import (
    BALIKPAPAN,
    BONTANG,
    CANARY_NAME,
    CANARY_REPORTER,
    CANARY_SUMMARY,
    PATBM,
    POLRES,
    PPU,
    PUSPAGA,
    SCOPES,
    agreement,
    intake_body,
)


class World:
    def __init__(self, app, client, hub) -> None:
        self.http = client
        with app.app_context():
            self.patbm_agreement = agreement(PATBM, PPU)
            db.session.remove()
        self.patbm = hub.headers(PATBM, SCOPES)
        self.ppu = hub.headers(PPU, SCOPES)
        self.balikpapan = hub.headers(BALIKPAPAN, SCOPES)
        self.bontang = hub.headers(BONTANG, SCOPES)

    def report(self, headers=None, **changes):
        return self.http.post(
            "/api/v1/intakes", json=intake_body(**changes), headers=headers or self.patbm
        )

    def sent(self, **changes):
        response = self.report(**changes)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    def get(self, intake_id, headers):
        return self.http.get(f"/api/v1/intakes/{intake_id}", headers=headers)

    def act(self, intake_id, action, body, headers=None):
        return self.http.post(
            f"/api/v1/intakes/{intake_id}/{action}", json=body, headers=headers or self.ppu
        )


@pytest.fixture
def world(app, client, hub):
    return World(app, client, hub)


def test_an_organisation_without_an_agreement_is_refused(world, hub):
    puspaga = hub.headers(PUSPAGA, SCOPES)
    response = world.report(puspaga, channel="puspaga")
    assert response.status_code == 422
    assert problem(response)["type"].endswith("no-active-agreement")
    # To a unit that is not a UPTD PPA: refused on the field.
    assert world.report(to=POLRES).status_code == 422


def test_an_intake_is_numbered_clocked_and_encrypted(app, world):
    body = world.sent()
    year = local_today().year
    assert re.fullmatch(rf"ADU-PPU-{year}-\d{{6}}", body["number"])
    assert body["status"] == "received"
    second = world.sent()
    assert int(second["number"][-6:]) == int(body["number"][-6:]) + 1
    with app.app_context():
        row = db.session.get(Intake, body["id"])
        # Untriaged and no immediate danger: the medium clock (6 h).
        assert row.respond_by - row.arrived_at == dt.timedelta(hours=6)
        for column in (row.reporter_enc, row.victim_enc, row.summary_enc):
            assert "CANARY" not in column
        assert row.victim["name"] == CANARY_NAME


def test_immediate_danger_counts_as_high_until_triaged(app, world):
    body = world.sent(immediate_danger=True)
    with app.app_context():
        row = db.session.get(Intake, body["id"])
        assert row.respond_by - row.arrived_at == dt.timedelta(hours=1)
    triaged = world.act(body["id"], "triage", {"risk_level": "low", "note": "aman"})
    assert triaged.status_code == 200, triaged.get_data(as_text=True)
    view = triaged.get_json()
    respond_by = dt.datetime.fromisoformat(view["respond_by"])
    received = dt.datetime.fromisoformat(view["received_at"])
    assert respond_by - received == dt.timedelta(hours=72)
    assert view["status"] == "triaged"
    assert view["risk_level"] == "low"


@pytest.mark.parametrize(("risk", "hours"), [("high", 1), ("medium", 6), ("low", 72)])
def test_triage_sets_the_clock_by_risk(world, risk, hours):
    body = world.sent()
    view = world.act(body["id"], "triage", {"risk_level": risk}).get_json()
    delta = dt.datetime.fromisoformat(view["respond_by"]) - dt.datetime.fromisoformat(
        view["received_at"]
    )
    assert delta == dt.timedelta(hours=hours)


def test_a_unit_may_set_its_own_clock(app, world):
    from referral_hub.actors import Actor
    from referral_hub.directory.operations import find_organization
    from referral_hub.intake.operations import set_response_hours

    with app.app_context():
        unit = find_organization(PPU)
        set_response_hours(Actor.for_organization(unit, "test"), {"high": 2})
        db.session.commit()
    body = world.sent()
    view = world.act(body["id"], "triage", {"risk_level": "high"}).get_json()
    delta = dt.datetime.fromisoformat(view["respond_by"]) - dt.datetime.fromisoformat(
        view["received_at"]
    )
    assert delta == dt.timedelta(hours=2)


def test_the_intake_reaches_the_unit_and_no_one_else(world, hub):
    body = world.sent()
    full = world.get(body["id"], world.ppu).get_json()
    assert full["victim"]["name"] == CANARY_NAME
    assert full["reporter"]["name"] == CANARY_REPORTER
    assert full["incident"]["summary"] == CANARY_SUMMARY
    for stranger in (world.bontang, world.balikpapan, hub.headers(PUSPAGA, SCOPES)):
        assert world.get(body["id"], stranger).status_code == 404
        assert world.act(body["id"], "triage", {"risk_level": "high"}, stranger).status_code == 404
    listed = world.http.get("/api/v1/intakes?box=received", headers=world.bontang).get_json()
    assert listed["items"] == []


def test_the_reporter_sees_what_it_sent_the_status_and_nothing_the_unit_added(world):
    """API.md: the reporting organisation sees what it sent and the status, never what the
    UPTD adds (risk, notes, reasons, the client and case)."""
    body = world.sent()
    world.act(body["id"], "triage", {"risk_level": "high", "note": "CANARY-NOTE-5521"})
    declined = world.act(body["id"], "decline", {"reason": "CANARY-REASON-5521 bukan KtP"})
    assert declined.status_code == 200
    seen = world.get(body["id"], world.patbm)
    assert seen.status_code == 200
    view = seen.get_json()
    assert view["status"] == "declined"
    assert view["victim"]["name"] == CANARY_NAME
    assert view["reporter"]["name"] == CANARY_REPORTER
    assert view["incident"]["summary"] == CANARY_SUMMARY
    text = json.dumps(view)
    for hidden in ("CANARY-NOTE", "CANARY-REASON", "high", 'risk_level": "'):
        assert hidden not in text
    for added in ("decline_reason", "case", "client", "triage_note", "respond_by", "overdue"):
        assert added not in view
    # The reporter cannot act on it.
    assert world.act(body["id"], "triage", {"risk_level": "low"}, world.patbm).status_code == 404
    sent = world.http.get("/api/v1/intakes?box=sent", headers=world.patbm).get_json()
    assert [i["number"] for i in sent["items"]] == [body["number"]]
    assert "victim" not in sent["items"][0]


def test_decline_needs_a_reason(world):
    body = world.sent()
    assert world.act(body["id"], "decline", {}).status_code == 422


def test_the_inbox_sorts_by_urgency_and_due_time(world):
    low = world.sent()
    world.act(low["id"], "triage", {"risk_level": "low"})
    medium = world.sent()
    danger = world.sent(immediate_danger=True)
    items = world.http.get("/api/v1/intakes", headers=world.ppu).get_json()["items"]
    assert [i["id"] for i in items] == [danger["id"], medium["id"], low["id"]]


def test_accept_registers_the_victim_and_opens_a_case_with_what_the_intake_told(app, world):
    body = world.sent()
    world.act(body["id"], "triage", {"risk_level": "medium"})
    missing = world.act(body["id"], "accept", {})
    assert missing.status_code == 422
    assert "register.birth_date" in problem(missing)["errors"]
    child = {"birth_date": "2014-03-02"}
    no_guardian = world.act(body["id"], "accept", {"register": child})
    assert no_guardian.status_code == 422  # a child is registered with a parent or guardian
    assert "register.guardian" in problem(no_guardian)["errors"]
    child["guardian"] = {
        "name": "Ibu Korban",
        "relationship": "ibu kandung",
        "phone": "081234567891",
    }
    response = world.act(body["id"], "accept", {"register": child})
    assert response.status_code == 200, response.get_data(as_text=True)
    out = response.get_json()
    assert out["intake"]["status"] == "accepted"
    assert out["case"]["risk_level"] == "medium"
    with app.app_context():
        case = db.session.get(Case, out["case"]["id"])
        assert case.intake_id == body["id"]
        assert case.violence_types == ["physical"]
        assert case.incident_place_type == "household"
        assert case.summary == CANARY_SUMMARY
        assert case.client.full_name == CANARY_NAME
    again = world.act(body["id"], "accept", {"register": child})
    assert again.status_code == 409
    seen = world.get(body["id"], world.patbm).get_json()
    assert seen["status"] == "accepted"
    assert "client" not in seen
    kinds = [step["kind"] for step in world.get(body["id"], world.ppu).get_json()["history"]]
    assert kinds == ["received", "triaged", "accepted"]


def test_accept_links_an_existing_client(world):
    from tests.clients_support import adult_body, create_client

    existing = create_client(world.http, world.ppu, adult_body())
    body = world.sent()
    out = world.act(body["id"], "accept", {"client": existing["id"]}).get_json()
    assert out["client"]["id"] == existing["id"]
    stranger = create_client(world.http, world.balikpapan, adult_body())
    other = world.sent()
    assert world.act(other["id"], "accept", {"client": stranger["id"]}).status_code == 422


def test_forward_goes_along_an_agreement_and_the_receiver_owns_it(app, world):
    body = world.sent()
    refused = world.act(body["id"], "forward", {"to": BALIKPAPAN})
    assert refused.status_code == 422
    assert problem(refused)["type"].endswith("no-active-agreement")
    with app.app_context():
        agreement(PPU, BALIKPAPAN, "case_management")
        db.session.remove()
    response = world.act(body["id"], "forward", {"to": BALIKPAPAN})
    assert response.status_code == 200, response.get_data(as_text=True)
    full = world.get(body["id"], world.balikpapan).get_json()
    assert full["status"] == "forwarded"
    assert full["victim"]["name"] == CANARY_NAME
    assert [s["kind"] for s in full["history"]] == ["received", "forwarded"]
    # PPU handed it on: it keeps the status view, and can no longer act.
    ppu_view = world.get(body["id"], world.ppu).get_json()
    assert "victim" not in ppu_view
    assert world.act(body["id"], "triage", {"risk_level": "low"}).status_code == 404
    assert (
        world.act(body["id"], "triage", {"risk_level": "low"}, world.balikpapan).status_code == 200
    )
    assert world.get(body["id"], world.patbm).get_json()["status"] == "triaged"


def test_a_unit_records_its_own_walk_ins_without_agreement(world):
    walk_in = world.report(world.ppu, channel="walk_in", reporter={"is_victim": True})
    assert walk_in.status_code == 201, walk_in.get_data(as_text=True)
    # A unit's own record is a walk-in, call or outreach; not a PATBM report.
    assert world.report(world.ppu, channel="patbm").status_code == 422


def test_overdue_intakes_are_announced_once_without_personal_data(app, world, hub):
    hub.user(PPU, "supervisor", "sup.intake@test.example")
    body = world.sent(immediate_danger=True)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    with app.app_context(), time_machine.travel(later, tick=False):
        assert sweep_overdue_intakes() == [body["number"]]
        assert sweep_overdue_intakes() == []
        unit = Actor.for_organization(find_organization(PPU), "test")
        assert [i["number"] for i in overdue_intakes(unit)] == [body["number"]]
        db.session.commit()
    with app.app_context():
        events = db.session.scalars(
            select(Event).where(Event.subject_id == body["id"]).order_by(Event.occurred_at)
        ).all()
        assert [e.type for e in events] == ["intake.received", "intake.overdue"]
        for event in events:
            assert "CANARY" not in json.dumps(event.data)
        notes = db.session.scalars(
            select(Notification).where(Notification.kind == "intake_overdue")
        ).all()
        assert len(notes) == 1
        assert notes[0].roles == ["supervisor"]
        assert "CANARY" not in json.dumps(notes[0].context)


@pytest.mark.commits
def test_two_submits_of_one_form_at_once_make_one_intake(app, world, is_postgres):
    """Both requests pass the token check before either commits: the unique token decides."""
    if not is_postgres:
        pytest.skip("concurrent writers are PostgreSQL's; SQLite serialises")
    import threading

    from referral_hub.actors import Actor
    from referral_hub.directory.operations import find_organization
    from referral_hub.intake.operations import receive_intake
    from referral_hub.intake.schemas import IntakeIn

    data = IntakeIn().load(intake_body())
    numbers: list[str] = []
    barrier = threading.Barrier(2)

    def submit() -> None:
        with app.app_context():
            actor = Actor.for_organization(find_organization(PATBM), "test")
            barrier.wait()
            intake = receive_intake(actor, data, form_token="same-form-token")
            db.session.commit()
            numbers.append(intake.number)
            db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(numbers) == 2
    assert numbers[0] == numbers[1]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Intake)) == 1


def test_before_accepting_the_unit_sees_who_may_be_the_same_person(world):
    """A near spelling of the victim's name, of a fitting age and region, is shown with why;
    an unrelated client, another unit's, and the reporter's side see nothing of it."""
    from tests.clients_support import adult_body, child_body, create_client, years_ago

    same = create_client(
        world.http,
        world.ppu,
        child_body(full_name="Siti Aminnah", birth_date=years_ago(12).isoformat()),
    )
    create_client(world.http, world.ppu, adult_body(full_name="Rahmat Hidayat"))
    create_client(
        world.http,
        world.balikpapan,
        child_body(full_name="Siti Aminah", birth_date=years_ago(12).isoformat()),
    )
    body = world.sent(
        victim={"name": "Siti Aminah", "age_years": 12, "sex": "female", "region_code": "64.09"}
    )
    found = world.http.get(f"/api/v1/intakes/{body['id']}/matches", headers=world.ppu)
    assert found.status_code == 200, found.get_data(as_text=True)
    items = found.get_json()["items"]
    assert [m["id"] for m in items] == [same["id"]]
    assert {"name_close", "age", "region"} <= set(items[0]["reasons"])
    # The reporter and units that do not own the intake learn nothing.
    assert (
        world.http.get(f"/api/v1/intakes/{body['id']}/matches", headers=world.patbm).status_code
        == 404
    )
    assert (
        world.http.get(
            f"/api/v1/intakes/{body['id']}/matches", headers=world.balikpapan
        ).status_code
        == 404
    )


def test_every_intake_event_obeys_its_contract_and_the_openapi_webhook(app, world, hub):
    """A real intake.* of each type, as delivered, validates against schemas/events/ and the
    OpenAPI document's webhook; the feed's copy against its EventData."""
    from jsonschema import Draft202012Validator, FormatChecker

    from referral_hub.contracts import SCHEMAS_DIR, openapi_document
    from referral_hub.delivery.dispatch import payload

    guardian = {"name": "Ibu Korban", "relationship": "ibu kandung", "phone": "081234567891"}
    accepted = world.sent()
    world.act(accepted["id"], "triage", {"risk_level": "low"})
    answer = {"register": {"birth_date": "2014-03-02", "guardian": guardian}}
    assert world.act(accepted["id"], "accept", answer).status_code == 200
    declined = world.sent()
    assert world.act(declined["id"], "decline", {"reason": "bukan kewenangan"}).status_code == 200
    forwarded = world.sent()
    with app.app_context():
        agreement(PPU, BALIKPAPAN, "case_management")
        db.session.remove()
    assert world.act(forwarded["id"], "forward", {"to": BALIKPAPAN}).status_code == 200
    world.sent(immediate_danger=True)
    with (
        app.app_context(),
        time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2), tick=False),
    ):
        assert sweep_overdue_intakes()
        db.session.commit()
    document = openapi_document(app)
    check = FormatChecker()
    with app.app_context():
        events = db.session.scalars(select(Event).where(Event.type.like("intake.%"))).all()
        bodies = [json.loads(payload(e, app.config["HUB_BASE_URL"])) for e in events]
        db.session.remove()
    assert {b["type"] for b in bodies} == {
        "intake.received",
        "intake.triaged",
        "intake.accepted",
        "intake.declined",
        "intake.forwarded",
        "intake.overdue",
    }
    for body in bodies:
        assert "CANARY" not in json.dumps(body)
        contract = json.loads((SCHEMAS_DIR / "events" / f"{body['type']}.json").read_text())
        Draft202012Validator(contract, format_checker=check).validate(body)
        webhook = document["webhooks"][body["type"]]["post"]["requestBody"]["content"]
        ref = webhook["application/json"]["schema"]["$ref"]
        Draft202012Validator({"$ref": ref, **document}, format_checker=check).validate(body)
    reader = hub.headers(PPU, "events:read")
    feed = world.http.get("/api/v1/events?limit=100", headers=reader).get_json()["items"]
    served = [e for e in feed if e["type"].startswith("intake.")]
    assert served
    for event in served:
        Draft202012Validator(
            {"$ref": "#/components/schemas/EventData", **document}, format_checker=check
        ).validate(event["data"])


def test_a_case_opened_from_an_intake_takes_only_the_units_own_open_intake(app, world):
    """`POST /cases` with `intake` is the accept of that intake: another unit's intake is not
    found, an intake already accepted refuses a second case, and the one case opened is
    linked both ways with the intake accepted."""
    from tests.clients_support import adult_body, create_client

    ppu_client = create_client(world.http, world.ppu, adult_body())
    case_body = {
        "client": ppu_client["id"],
        "risk_level": "low",
        "violence_types": ["psychological"],
    }
    # Balikpapan's own intake (a walk-in needs no agreement) is nothing to PPU.
    theirs = world.report(world.balikpapan, to=BALIKPAPAN, channel="walk_in").get_json()
    stolen = world.http.post(
        "/api/v1/cases", json={**case_body, "intake": theirs["id"]}, headers=world.ppu
    )
    assert stolen.status_code == 404, stolen.get_data(as_text=True)
    unknown = world.http.post(
        "/api/v1/cases", json={**case_body, "intake": "0" * 32}, headers=world.ppu
    )
    assert unknown.status_code == 404
    ours = world.sent()
    opened = world.http.post(
        "/api/v1/cases", json={**case_body, "intake": ours["id"]}, headers=world.ppu
    )
    assert opened.status_code == 201, opened.get_data(as_text=True)
    case = opened.get_json()
    assert case["risk_level"] == "low"  # what the caller said wins over what the intake told
    intake = world.get(ours["id"], world.ppu).get_json()
    assert intake["status"] == "accepted"
    assert (intake["case"], intake["client"]) == (case["id"], ppu_client["id"])
    second = world.http.post(
        "/api/v1/cases", json={**case_body, "intake": ours["id"]}, headers=world.ppu
    )
    assert second.status_code == 409
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Case).where(Case.intake_id == ours["id"])
            )
            == 1
        )
        assert (
            db.session.scalar(
                select(func.count()).select_from(Case).where(Case.intake_id == theirs["id"])
            )
            == 0
        )
