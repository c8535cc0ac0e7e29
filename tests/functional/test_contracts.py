"""The published contracts under schemas/ are what the code produces, and real events obey them."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.audit.checkpoints import sign_checkpoint
from referral_hub.contracts import EVENT_DATA, SCHEMAS_DIR, rendered_contracts
from referral_hub.delivery.dispatch import payload
from referral_hub.delivery.models import Event
from referral_hub.delivery.outbox import EVENT_TYPES
from referral_hub.extensions import db
from tests.referrals_support import Scenario


def test_committed_contracts_match_the_code(app):
    stale = [
        relative
        for relative, content in rendered_contracts(app).items()
        if not (SCHEMAS_DIR / relative).exists() or (SCHEMAS_DIR / relative).read_text() != content
    ]
    assert not stale, f"run `flask --app wsgi hub export-schemas`: {stale}"


def test_every_event_type_has_a_contract():
    assert set(EVENT_DATA) == set(EVENT_TYPES)


@pytest.fixture
def events_of_a_whole_story(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.send()
    s.act(referral["id"], "accept", s.balikpapan)
    client.post(
        f"/api/v1/referrals/{referral['id']}/appointments",
        json={"starts_at": "2030-01-02T09:00:00+08:00", "mode": "video"},
        headers=s.balikpapan,
    )
    s.act(referral["id"], "start", s.balikpapan)
    s.act(referral["id"], "complete", s.balikpapan, outcome="service_delivered")
    second = s.send()
    s.act(second["id"], "reject", s.balikpapan, reason="tidak ada kapasitas")
    third = s.send()
    client.post(
        f"/api/v1/consents/{s.consent['id']}/withdraw", json={"reason": "ditarik"}, headers=s.ppu
    )
    with app.app_context():
        sign_checkpoint(Actor.system("tests"))
        db.session.commit()
        items = db.session.scalars(select(Event).order_by(Event.occurred_at)).all()
        bodies = [json.loads(payload(item, app.config["HUB_BASE_URL"])) for item in items]
        db.session.remove()
    assert third
    return bodies


def test_real_payloads_validate_against_their_contracts(events_of_a_whole_story):
    seen = set()
    for body in events_of_a_whole_story:
        schema = json.loads((SCHEMAS_DIR / "events" / f"{body['type']}.json").read_text())
        errors = list(Draft202012Validator(schema).iter_errors(body))
        assert not errors, (body["type"], [e.message for e in errors])
        seen.add(body["type"])
    assert {
        "referral.requested",
        "referral.accepted",
        "referral.rejected",
        "referral.cancelled",
        "referral.status_changed",
        "appointment.scheduled",
        "consent.withdrawn",
        "agreement.signed",
        "agreement.activated",
        "audit.checkpoint",
    } <= seen
