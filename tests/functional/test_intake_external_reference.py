"""An app's backend retrying without an Idempotency-Key: the same `external_reference` from
the same reporting organisation is one intake (409 intake-already-reported, naming it), and
`GET /api/v1/intakes?box=sent&external_reference=` finds it."""

from __future__ import annotations

from sqlalchemy import func, select

from referral_hub.extensions import db
from referral_hub.intake.models import Intake
from tests.conftest import problem
from tests.functional.test_intake_api import World
from tests.intake_support import PPU, SCOPES

URL = "/api/v1/intakes"


def test_the_same_reference_twice_is_one_intake_and_the_answer_names_it(app, client, hub):
    world = World(app, client, hub)
    first = world.sent(external_reference="LAPOR-2026-0042")
    again = world.report(external_reference="LAPOR-2026-0042")
    assert again.status_code == 409, again.get_data(as_text=True)
    refused = problem(again)
    assert refused["type"].endswith("/problems/intake-already-reported")
    assert refused["intake"] == {"id": first["id"], "number": first["number"]}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Intake)) == 1
    # Another reference, no reference at all, or another organisation's same reference: new.
    assert world.report(external_reference="LAPOR-2026-0043").status_code == 201
    assert world.report().status_code == 201
    assert world.report().status_code == 201
    own = world.report(world.ppu, channel="walk_in", external_reference="LAPOR-2026-0042")
    assert own.status_code == 201, own.get_data(as_text=True)


def test_the_sender_finds_its_intake_by_its_own_reference(app, client, hub):
    world = World(app, client, hub)
    first = world.sent(external_reference="LAPOR-2026-0042")
    world.sent(external_reference="LAPOR-2026-0043")
    found = client.get(f"{URL}?box=sent&external_reference=LAPOR-2026-0042", headers=world.patbm)
    assert found.status_code == 200, found.get_data(as_text=True)
    assert [item["id"] for item in found.get_json()["items"]] == [first["id"]]
    # the unit receiving it does not look intakes up by the sender's reference
    received = client.get(f"{URL}?external_reference=LAPOR-2026-0042", headers=world.ppu)
    assert received.status_code == 422
    assert "external_reference" in str(problem(received))
    # nor does another organisation find it
    other = hub.headers(PPU, SCOPES)
    mine = client.get(f"{URL}?box=sent&external_reference=LAPOR-2026-0042", headers=other)
    assert mine.get_json()["items"] == []


def test_a_reference_with_spaces_around_it_is_the_same_reference(app, client, hub):
    """An app that pads its reference on a retry does not make a second report; the letters'
    case is the app's own (its ids may be case-sensitive)."""
    world = World(app, client, hub)
    first = world.sent(external_reference="REV-1")
    again = world.report(external_reference="  REV-1 ")
    assert again.status_code == 409, again.get_data(as_text=True)
    assert problem(again)["intake"]["number"] == first["number"]
    blank = world.report(external_reference="   ")
    assert blank.status_code == 422
    found = client.get(f"{URL}?box=sent&external_reference=%20REV-1", headers=world.patbm)
    assert [item["id"] for item in found.get_json()["items"]] == [first["id"]]


def test_only_the_unit_itself_records_a_walk_in(app, client, hub):
    world = World(app, client, hub)
    refused = world.report(channel="walk_in")
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert "channel" in problem(refused)["errors"]
    assert world.report(channel="hotline").status_code == 201


def test_an_incident_date_before_1900_is_refused(app, client, hub):
    world = World(app, client, hub)
    long_ago = world.report(incident={"occurred_on": "0001-01-01"})
    assert long_ago.status_code == 422, long_ago.get_data(as_text=True)
    assert world.report(incident={"occurred_on": "1990-05-01"}).status_code == 201
