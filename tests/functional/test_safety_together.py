"""The safety rules of issue 11 taken together, over HTTP: an override approved by its
supervisor, a retried send, an ending agreement, and the audit verification that must stay
whole through all of them and still find a row changed behind the operations."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from referral_hub.audit.verification import verify_audit
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from tests.agreements_support import actor as agreement_actor
from tests.referrals_support import PPU, Scenario, override_body, user_headers


@pytest.fixture
def s(app, client, hub):
    return Scenario(app, client, hub)


def _verified(app):
    with app.app_context():
        verification = verify_audit()
        return verification.ok, verification.problems()


def test_every_safety_flow_leaves_the_audit_verification_whole(app, s, hub):
    supervisor = hub.user(PPU, "supervisor", "supervisor.together@test.example")
    as_supervisor = user_headers(app, hub, PPU, supervisor["id"])
    # A machine-sent override waits; its supervisor approves it personally.
    draft = s.http.post("/api/v1/referrals", json=override_body(s), headers=s.ppu).get_json()
    assert draft["status"] == "draft"
    approved = s.act(draft["id"], "approve", as_supervisor)
    assert approved.status_code == 200, approved.get_data(as_text=True)
    # A retried consented send with the same key is answered, not repeated.
    keyed = {**s.ppu, "Idempotency-Key": "together-1"}
    first = s.http.post("/api/v1/referrals", json=s.body(), headers=keyed)
    again = s.http.post("/api/v1/referrals", json=s.body(), headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    # The agreement is suspended: what was not started is cancelled.
    from referral_hub.agreements import operations as agreements

    with app.app_context():
        agreements.suspend_agreement(agreement_actor(PPU), s.agreement_id, reason="review")
        db.session.commit()
    cancelled = s.http.get(f"/api/v1/referrals/{first.get_json()['id']}", headers=s.ppu)
    assert cancelled.get_json()["status_reason"] == "agreement_ended"
    ok, problems = _verified(app)
    assert ok, problems


def test_widening_an_approved_override_behind_the_operations_is_found(app, s, hub):
    supervisor = hub.user(PPU, "supervisor", "supervisor.widen@test.example")
    draft = s.http.post("/api/v1/referrals", json=override_body(s), headers=s.ppu).get_json()
    s.act(draft["id"], "approve", user_headers(app, hub, PPU, supervisor["id"]))
    assert _verified(app)[0]
    with app.app_context():
        db.session.execute(
            update(Referral)
            .where(Referral.id == draft["id"])
            .values(data_categories=["demographics", "identity", "contact", "guardian", "health"])
        )
        db.session.commit()
    ok, problems = _verified(app)
    assert not ok
    assert any(draft["id"] in line for line in problems), problems


def test_an_override_approved_under_the_renewal_of_its_agreement_verifies(app, s, hub):
    # Sent under one agreement, approved under its renewal: the approval records the agreement
    # it was sent under, so the row's new agreement is what the chain says.
    from referral_hub.agreements import operations as agreements
    from tests.agreements_support import sign_all

    supervisor = hub.user(PPU, "supervisor", "supervisor.renewal@test.example")
    draft = s.http.post("/api/v1/referrals", json=override_body(s), headers=s.ppu).get_json()
    with app.app_context():
        renewal = agreements.renew_agreement(
            agreement_actor(PPU), s.agreement_id, {"effective_from": agreements.local_date()}
        )
        sign_all(renewal.id)
        db.session.commit()
        renewal_id = renewal.id
    approved = s.act(draft["id"], "approve", user_headers(app, hub, PPU, supervisor["id"]))
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert approved.get_json()["agreement"]["id"] == renewal_id
    ok, problems = _verified(app)
    assert ok, problems
