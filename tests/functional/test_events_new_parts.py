"""The events of the newer parts, `case.follow_up_due` and `audit.checkpoint`, reach the feed,
and what is served obeys both published contracts: schemas/events/<type>.json (the webhook
payload) and the OpenAPI document (the feed's `data`, the webhook's request body).

(The `intake.*` events are not here: intake is built on its own branch.)"""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.audit.checkpoints import sign_checkpoint
from referral_hub.cases.operations import sweep_due_follow_ups
from referral_hub.clients.models import local_today
from referral_hub.contracts import SCHEMAS_DIR, openapi_document
from referral_hub.delivery.dispatch import payload
from referral_hub.delivery.models import Event
from referral_hub.extensions import db
from tests.functional.test_cases_api import CaseWorld


@pytest.fixture
def world(app, client, hub):
    return CaseWorld(app, client, hub)


def _announce_a_follow_up(app, world) -> str:
    case = world.open().get_json()
    note = world.http.post(
        f"/api/v1/cases/{case['id']}/notes",
        json={"text": "hubungi ibu", "follow_up_on": local_today().isoformat()},
        headers=world.ppu,
    )
    assert note.status_code == 201, note.get_data(as_text=True)
    with app.app_context():
        assert sweep_due_follow_ups() == [note.get_json()["id"]]
        db.session.commit()
        db.session.remove()
    return case["id"]


def _sign_a_checkpoint(app, world) -> str:
    world.open()  # something in the audit chain to sign
    with app.app_context():
        checkpoint = sign_checkpoint(Actor.system("tests"))
        db.session.commit()
        head = checkpoint.head
        db.session.remove()
    return head


EMITTERS = {
    "case.follow_up_due": (_announce_a_follow_up, "case_id"),
    "audit.checkpoint": (_sign_a_checkpoint, "head"),
}


@pytest.mark.parametrize("event_type", sorted(EMITTERS))
def test_a_real_event_is_in_the_feed_and_obeys_both_contracts(app, world, event_type):
    emit, key = EMITTERS[event_type]
    marker = emit(app, world)
    feed = world.http.get("/api/v1/events?limit=100", headers=world.ppu)
    assert feed.status_code == 200, feed.get_data(as_text=True)
    served = [
        e
        for e in feed.get_json()["items"]
        if e["type"] == event_type and e["data"].get(key) == marker
    ]
    assert len(served) == 1, feed.get_json()
    document = openapi_document(app)
    assert event_type in document["webhooks"]
    feed_data = Draft202012Validator(
        {"$ref": "#/components/schemas/EventData", **document}, format_checker=FormatChecker()
    )
    feed_data.validate(served[0]["data"])
    contract = json.loads((SCHEMAS_DIR / "events" / f"{event_type}.json").read_text())
    webhook = document["webhooks"][event_type]["post"]["requestBody"]["content"]
    ref = webhook["application/json"]["schema"]["$ref"]
    with app.app_context():
        events = db.session.scalars(select(Event).where(Event.type == event_type)).all()
        bodies = [json.loads(payload(e, app.config["HUB_BASE_URL"])) for e in events]
        db.session.remove()
    assert bodies
    for body in bodies:
        Draft202012Validator(contract, format_checker=FormatChecker()).validate(body)
        Draft202012Validator({"$ref": ref, **document}, format_checker=FormatChecker()).validate(
            body
        )
