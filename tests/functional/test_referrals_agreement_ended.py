"""Agreements that end stop what has not started (DOMAIN; API.md, Referrals).

When an agreement is suspended, terminated, or expires, its referrals still `requested` are
cancelled with reason `agreement_ended`; accepted ones run to their close. Both sides are
told: a `referral.cancelled` event to each, an e-mail to the recipient without personal data,
the referral's timeline, and the audit log, by the party that ended the agreement or by the
system for the sweep. A renewal carries on what it still covers.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from jsonschema import Draft202012Validator
from sqlalchemy import select

from referral_hub.agreements import operations as agreements
from referral_hub.audit.models import AuditEntry
from referral_hub.contracts import SCHEMAS_DIR
from referral_hub.delivery.dispatch import payload
from referral_hub.delivery.models import Event, Notification
from referral_hub.delivery.notifications import render
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from tests.agreements_support import actor, sign_all, stored
from tests.clients_support import CANARY
from tests.conftest import problem
from tests.referrals_support import (
    ALL_REFERRAL_SCOPES,
    BALIKPAPAN,
    CASE_CANARY,
    PPU,
    Scenario,
)

WRITE = "agreements:read agreements:write"


@pytest.fixture
def story(app, client, hub):
    """An active agreement with one referral still requested and one accepted."""
    s = Scenario(app, client, hub)
    requested = s.send()
    accepted = s.in_status("accepted")
    return s, requested, accepted


def _stored(app, referral_id: str) -> tuple[str, str | None]:
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        found = (referral.status, referral.status_reason)
        db.session.remove()
    return found


def _assert_told(app, client, s, requested, accepted, *, by: str | None) -> None:
    """Requested cancelled, accepted untouched, and both sides told, by `by` (None: system)."""
    assert _stored(app, requested["id"]) == ("cancelled", "agreement_ended")
    assert _stored(app, accepted["id"]) == ("accepted", None)
    for headers in (s.ppu, s.balikpapan):
        events = client.get("/api/v1/events?limit=100", headers=headers).get_json()["items"]
        cancelled = [e["subject"]["id"] for e in events if e["type"] == "referral.cancelled"]
        assert cancelled == [requested["id"]]
        detail = client.get(f"/api/v1/referrals/{requested['id']}", headers=headers).get_json()
        assert (detail["status"], detail["status_reason"]) == ("cancelled", "agreement_ended")
    timeline = client.get(
        f"/api/v1/referrals/{requested['id']}/events", headers=s.balikpapan
    ).get_json()
    last = timeline[-1] if isinstance(timeline, list) else timeline["items"][-1]
    assert (last["action"], last["to_status"], last["note"]) == (
        "cancel",
        "cancelled",
        "agreement_ended",
    )
    assert (last["organization"] or {}).get("code") == by
    with app.app_context():
        notes = db.session.scalars(
            select(Notification).where(Notification.kind == "referral_cancelled")
        ).all()
        assert [(n.organization_id, n.context["referral_number"]) for n in notes] == [
            (find_organization(BALIKPAPAN).id, requested["number"])
        ]
        assert notes[0].context["reason"] == "agreement_ended"
        subject, text = render(notes[0].kind, notes[0].context, "UPTD PPA Kota Balikpapan")
        assert requested["number"] in subject
        assert "perjanjian kerja sama" in text
        mailed = json.dumps(notes[0].context) + subject + text
        for canary in (*CANARY.values(), *CASE_CANARY.values()):
            assert canary not in mailed
        events = db.session.scalars(select(Event).where(Event.type == "referral.cancelled"))
        contract = json.loads((SCHEMAS_DIR / "events" / "referral.cancelled.json").read_text())
        for event in events:
            body = json.loads(payload(event, app.config["HUB_BASE_URL"]))
            assert not list(Draft202012Validator(contract).iter_errors(body))
            assert body["data"]["reason"] == "agreement_ended"
        entries = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "referral.cancel", AuditEntry.object_id == requested["id"]
            )
        ).all()
        assert len(entries) == 1
        assert entries[0].detail["reason"] == "agreement_ended"
        if by is None:
            assert entries[0].actor_kind == "system"
        else:
            assert entries[0].organization_id == find_organization(by).id
        assert not db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "referral.cancel", AuditEntry.object_id == accepted["id"]
            )
        ).all()
        db.session.remove()


def test_suspending_cancels_what_has_not_started(app, client, hub, story):
    s, requested, accepted = story
    response = client.post(
        f"/api/v1/agreements/{s.agreement_id}/suspend",
        json={"reason": "review of the cooperation"},
        headers=hub.headers(PPU, WRITE),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    _assert_told(app, client, s, requested, accepted, by=PPU)
    # The accepted referral runs to its close.
    assert s.act(accepted["id"], "start", s.balikpapan).status_code == 200


def test_terminating_cancels_what_has_not_started(app, client, hub, story):
    s, requested, accepted = story
    response = client.post(
        f"/api/v1/agreements/{s.agreement_id}/terminate",
        json={"reason": "the service is no longer offered"},
        headers=hub.headers(BALIKPAPAN, WRITE),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    _assert_told(app, client, s, requested, accepted, by=BALIKPAPAN)


def _after_the_end(app, agreement_id: str) -> dt.datetime:
    with app.app_context():
        expires_on = stored(agreement_id).expires_on
        db.session.remove()
    return agreements.start_of_day(expires_on + dt.timedelta(days=1)) + dt.timedelta(hours=2)


def test_expiry_by_the_sweep_cancels_what_has_not_started(app, client, hub, story):
    s, requested, accepted = story
    with time_machine.travel(_after_the_end(app, s.agreement_id)), app.app_context():
        found = agreements.sweep_agreement_expiry()
        db.session.commit()
        assert found["expired"] == [s.agreement_id]
        db.session.remove()
    _assert_told(app, client, s, requested, accepted, by=None)


def test_past_its_end_date_an_agreement_carries_no_new_acceptance(app, client, hub, story):
    # Status at the moment of use: the sweep has not run yet, the agreement is over all the same.
    s, requested, _accepted = story
    with time_machine.travel(_after_the_end(app, s.agreement_id)):
        headers = hub.headers(BALIKPAPAN, ALL_REFERRAL_SCOPES)
        response = s.act(requested["id"], "accept", headers)
        assert response.status_code == 409, response.get_data(as_text=True)
        assert problem(response)["type"].endswith("/agreement-ended")
        assert _stored(app, requested["id"]) == ("requested", None)
        rejected = s.act(requested["id"], "reject", headers, reason="the agreement has ended")
        assert rejected.status_code == 200


def _renew(app, agreement_id: str, **changes) -> None:
    with app.app_context():
        renewal = agreements.renew_agreement(
            actor(PPU), agreement_id, {"effective_from": agreements.local_date(), **changes}
        )
        sign_all(renewal.id)  # in force today: the old agreement is superseded now
        db.session.commit()
        assert stored(agreement_id).status == "superseded"
        db.session.remove()


def test_a_renewal_carries_on_what_it_still_covers(app, client, hub, story):
    s, requested, accepted = story
    _renew(app, s.agreement_id)
    assert _stored(app, requested["id"]) == ("requested", None)
    assert _stored(app, accepted["id"]) == ("accepted", None)
    assert s.act(requested["id"], "accept", s.balikpapan).status_code == 200


def test_a_renewal_without_the_service_cancels_what_has_not_started(app, client, hub, story):
    s, requested, accepted = story
    _renew(app, s.agreement_id, services=[{"service": "mediation", "provider": BALIKPAPAN}])
    # Balikpapan's signature, the last, brought the renewal into force.
    _assert_told(app, client, s, requested, accepted, by=BALIKPAPAN)


@pytest.mark.commits  # writers in other threads
def test_an_accept_and_a_suspension_at_once_leave_one_story(app, client, hub, is_postgres):
    # Either the accept lands first (the referral runs to its close) or the suspension does
    # (the referral is cancelled and the accept refused): never both, never neither.
    if not is_postgres:
        pytest.skip("row locks and concurrent writers are PostgreSQL's; SQLite serialises")
    from tests.functional.test_referrals_concurrency import _at_once

    s = Scenario(app, client, hub)
    ppu = hub.headers(PPU, WRITE)
    agreement = f"/api/v1/agreements/{s.agreement_id}"
    outcomes = set()
    for _ in range(4):
        referral = s.send()

        def act(http, index, referral=referral):
            if index == 0:
                return http.post(f"/api/v1/referrals/{referral['id']}/accept", headers=s.balikpapan)
            return http.post(f"{agreement}/suspend", json={"reason": "review"}, headers=ppu)

        accept, suspend = _at_once(app, 2, act)
        assert suspend.status_code == 200, suspend.get_data(as_text=True)
        final = _stored(app, referral["id"])
        if accept.status_code == 200:
            assert final == ("accepted", None)
        else:
            assert accept.status_code == 409
            assert final == ("cancelled", "agreement_ended")
        outcomes.add(final[0])
        actions = [
            e["action"]
            for e in client.get(
                f"/api/v1/referrals/{referral['id']}/events", headers=s.ppu
            ).get_json()
        ]
        assert actions.count("accept") + actions.count("cancel") == 1, actions
        resumed = client.post(f"{agreement}/resume", json={}, headers=ppu)
        assert resumed.status_code == 200, resumed.get_data(as_text=True)
    assert outcomes <= {"accepted", "cancelled"}
