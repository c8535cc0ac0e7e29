"""Agreement events reach the parties' events feed, and no one else's, without personal data."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from referral_hub.agreements import operations as ops
from referral_hub.clock import hub_zone
from referral_hub.delivery.models import Event
from referral_hub.extensions import db
from tests.agreements_support import BALIKPAPAN, BONTANG, PPU, Tokens, as_json, build, content


@pytest.fixture
def tokens(hub) -> Tokens:
    return Tokens(hub)


def _feed(client, tokens, org) -> list[dict]:
    response = client.get("/api/v1/events?limit=100", headers=tokens(org, "events:read"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return [e for e in response.get_json()["items"] if e["subject"]["type"] == "agreement"]


def test_signing_and_expiry_are_announced_to_both_parties(app, client, tokens):
    created = client.post(
        "/api/v1/agreements",
        json=as_json(content(notes="Psikolog: jadwal Selasa dan Kamis")),
        headers=tokens(PPU),
    ).get_json()
    for org in (PPU, BALIKPAPAN):
        client.post(f"/api/v1/agreements/{created['id']}/sign", headers=tokens(org))

    for org in (PPU, BALIKPAPAN):
        events = _feed(client, tokens, org)
        assert [e["type"] for e in events] == [
            "agreement.signed",
            "agreement.signed",
            "agreement.activated",
        ], org
        assert {e["subject"]["id"] for e in events} == {created["id"]}
        first = events[0]["data"]
        assert first["signed_by"] == PPU
        assert first["awaiting_signature_from"] == [BALIKPAPAN]
        assert first["number"] == created["number"]
        assert "notes" not in first
        assert "signatories" not in first
        assert events[2]["data"]["status"] == "active"
    assert _feed(client, tokens, BONTANG) == []

    with app.app_context():
        end = dt.date.fromisoformat(created["expires_on"])
        ops.sweep_agreement_expiry(
            dt.datetime.combine(end - dt.timedelta(days=20), dt.time(8), tzinfo=hub_zone())
        )
        db.session.commit()
    expiring = [e for e in _feed(client, tokens, BALIKPAPAN) if e["type"] == "agreement.expiring"]
    assert len(expiring) == 1
    assert expiring[0]["data"]["window_days"] == 30


def test_a_number_that_looks_like_a_phone_number_does_not_block_signing(app_ctx):
    agreement_id = build("active", number="0812 3456 7890")
    events = db.session.scalars(select(Event).where(Event.subject_id == agreement_id)).all()
    # Rows of one transaction: compare without relying on the order a database returns.
    assert sorted(e.type for e in events) == [
        "agreement.activated",
        "agreement.signed",
        "agreement.signed",
    ]
    assert all("number" not in e.data and e.data["id"] == agreement_id for e in events)
