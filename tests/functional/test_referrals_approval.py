"""An override is approved by a supervisor, not named.

A referral on a legal basis instead of consent sent by anyone but an active supervisor of the
unit acting as themselves is a draft that waits for that supervisor: the recipient cannot see
it and nothing is shared until the supervisor approves it; a token without a user never
approves.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from sqlalchemy import select

from referral_hub.audit.models import AuditEntry
from referral_hub.clients.models import Disclosure
from referral_hub.delivery.models import Notification
from referral_hub.extensions import db
from tests.agreements_support import actor as agreement_actor
from tests.conftest import problem
from tests.referrals_support import (
    BALIKPAPAN,
    CASE_CANARY,
    JUSTIFICATION,
    PPU,
    Scenario,
    override_body,
    user_headers,
)


@pytest.fixture
def s(app, client, hub):
    return Scenario(app, client, hub)


@pytest.fixture
def supervisor(app, hub):
    user = hub.user(PPU, "supervisor", "supervisor.ppu@test.example")
    user["headers"] = user_headers(app, hub, PPU, user["id"])
    return user


@pytest.fixture
def caseworker(app, hub):
    user = hub.user(PPU, "caseworker", "caseworker.ppu@test.example")
    user["headers"] = user_headers(app, hub, PPU, user["id"])
    return user


def _draft(s) -> dict:
    """An override sent by the unit's machine client (no user): it waits for approval."""
    response = s.http.post("/api/v1/referrals", json=override_body(s), headers=s.ppu)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _rows(app, model, *where):
    with app.app_context():
        rows = db.session.scalars(select(model).where(*where)).all()
        db.session.expunge_all()
        return rows


def _recipient_event_ids(s) -> set[str]:
    events = s.http.get("/api/v1/events", headers=s.balikpapan).get_json()["items"]
    return {e["subject"]["id"] for e in events}


def _recipient_lists(s) -> str:
    return "".join(
        s.http.get(path, headers=s.balikpapan).get_data(as_text=True)
        for path in (
            "/api/v1/referrals?box=received",
            "/api/v1/referrals?box=received&status=draft",
            "/api/v1/referrals?box=received&status=cancelled",
        )
    )


# --- a draft reaches no one ------------------------------------------------------------------


def test_a_machine_sent_override_waits_as_a_draft_and_shares_nothing(app, s, supervisor):
    draft = _draft(s)
    assert draft["status"] == "draft"
    assert draft["approval"]["status"] == "pending"
    assert draft["approval"]["requested_by"]["kind"] == "client"
    assert draft["approval"]["decided_by"] is None
    assert draft["override"]["approved_by"] is None
    assert draft["allowed_actions"] == []  # a machine client approves nothing

    # The recipient: 404, not in its lists, no event, no e-mail.
    for path in ("", "/events"):
        seen = s.http.get(f"/api/v1/referrals/{draft['id']}{path}", headers=s.balikpapan)
        assert seen.status_code == 404, path
    for action, body in (("accept", {}), ("reject", {"reason": "no capacity"})):
        acted = s.act(draft["id"], action, s.balikpapan, **body)
        assert acted.status_code == 404, action
    assert draft["id"] not in _recipient_lists(s)
    assert draft["number"] not in _recipient_lists(s)
    assert draft["id"] not in _recipient_event_ids(s)
    assert _rows(app, Notification, Notification.kind == "referral_received") == []

    # Nothing shared: no share disclosure; the audit names no approver, nor the recipient.
    shares = _rows(
        app, Disclosure, Disclosure.client_id == s.client["id"], Disclosure.kind == "share"
    )
    assert shares == []
    [sent] = _rows(app, AuditEntry, AuditEntry.action == "referral.sent")
    assert sent.detail["approved_by"] is None
    assert sent.subject_organization_id is None

    # The sender sees it, among its sent referrals, with its approval state.
    listed = s.http.get("/api/v1/referrals?box=sent", headers=s.ppu).get_json()["items"]
    assert [(line["id"], line["status"], line["approval"]) for line in listed] == [
        (draft["id"], "draft", "pending")
    ]


def test_the_units_supervisors_are_told_an_approval_waits_without_personal_data(app, s, supervisor):
    draft = _draft(s)
    [note] = _rows(app, Notification, Notification.kind == "approval_pending")
    assert note.roles == ["supervisor"]
    assert note.organization_id == s.hub.org(PPU)["id"]
    assert note.context["referral_number"] == draft["number"]
    assert note.context["link"].endswith(f"/referrals/approvals/{draft['id']}")
    text = str(note.context)
    for secret in (*CASE_CANARY.values(), JUSTIFICATION, s.client["code"]):
        assert secret not in text

    from referral_hub.delivery.notifications import render

    with app.app_context():
        subject, body = render(note.kind, note.context, "UPTD PPA PPU")
    assert draft["number"] in subject
    assert "persetujuan" in body.lower()
    for secret in (*CASE_CANARY.values(), JUSTIFICATION):
        assert secret not in body


def test_a_caseworkers_override_waits_too(s, caseworker):
    response = s.http.post(
        "/api/v1/referrals", json=override_body(s), headers=caseworker["headers"]
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    draft = response.get_json()
    assert draft["status"] == "draft"
    assert draft["approval"]["requested_by"] == {
        "kind": "user",
        "id": caseworker["id"],
        "name": draft["approval"]["requested_by"]["name"],
    }
    approve = s.act(draft["id"], "approve", caseworker["headers"])
    assert approve.status_code == 403
    assert problem(approve)["type"].endswith("/problems/override-not-authorised")


# --- approved_by names the caller, or nobody ----------------------------------------------------


def test_naming_someone_else_as_approver_is_refused(app, s, supervisor, caseworker):
    for headers in (s.ppu, caseworker["headers"]):
        response = s.http.post(
            "/api/v1/referrals",
            json=override_body(s, approved_by=supervisor["email"]),
            headers=headers,
        )
        assert response.status_code == 422, response.get_data(as_text=True)
        details = problem(response)
        assert details["type"].endswith("/problems/validation-error"), details
        assert "approved_by" in details["errors"]
    assert _rows(app, AuditEntry, AuditEntry.action == "referral.sent") == []


def test_the_supervisors_own_override_is_sent_at_once(app, s, supervisor):
    for changes in ({}, {"approved_by": supervisor["email"]}, {"approved_by": supervisor["id"]}):
        response = s.http.post(
            "/api/v1/referrals", json=override_body(s, **changes), headers=supervisor["headers"]
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        sent = response.get_json()
        assert sent["status"] == "requested"
        assert sent["approval"]["status"] == "approved"
        assert sent["approval"]["decided_by"]["id"] == supervisor["id"]
        assert sent["override"]["approved_by"]["id"] == supervisor["id"]
        assert (
            s.http.get(f"/api/v1/referrals/{sent['id']}", headers=s.balikpapan).status_code == 200
        )


# --- approving ------------------------------------------------------------------------------


def test_a_token_without_a_user_never_approves(app, s, supervisor):
    draft = _draft(s)
    for action, body in (("approve", {}), ("decline-approval", {"reason": "not needed now"})):
        response = s.act(draft["id"], action, s.ppu, **body)
        assert response.status_code == 403, response.get_data(as_text=True)
        assert problem(response)["type"].endswith("/problems/override-not-authorised")
    assert s.http.get(f"/api/v1/referrals/{draft['id']}", headers=s.ppu).get_json()["status"] == (
        "draft"
    )


def test_the_supervisor_approves_and_then_it_is_shared(app, s, supervisor):
    draft = _draft(s)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)
    with time_machine.travel(later, tick=False):
        response = s.act(draft["id"], "approve", supervisor["headers"])
    assert response.status_code == 200, response.get_data(as_text=True)
    approved = response.get_json()
    assert approved["status"] == "requested"
    approval = approved["approval"]
    assert approval["status"] == "approved"
    assert approval["decided_by"]["id"] == supervisor["id"]
    assert approval["requested_by"]["kind"] == "client"
    decided_at = dt.datetime.fromisoformat(approval["decided_at"])
    assert abs(decided_at - later) < dt.timedelta(seconds=1)
    # The recipient's time runs from the approval, not from the draft.
    assert dt.datetime.fromisoformat(approved["respond_by"]) - decided_at == dt.timedelta(hours=72)
    assert approved["override"]["approved_by"]["id"] == supervisor["id"]

    seen = s.http.get(f"/api/v1/referrals/{draft['id']}", headers=s.balikpapan)
    assert seen.status_code == 200
    assert seen.get_json()["client"]["case_summary"]["chronology"] == CASE_CANARY["chronology"]
    assert draft["id"] in _recipient_lists(s)
    assert draft["id"] in _recipient_event_ids(s)
    [received] = _rows(app, Notification, Notification.kind == "referral_received")
    assert received.organization_id == s.hub.org(BALIKPAPAN)["id"]

    [share] = _rows(
        app, Disclosure, Disclosure.client_id == s.client["id"], Disclosure.kind == "share"
    )
    assert share.user_id == supervisor["id"]
    assert share.organization_id == s.hub.org(BALIKPAPAN)["id"]
    [entry] = _rows(app, AuditEntry, AuditEntry.action == "referral.override_approved")
    assert entry.actor_user_id == supervisor["id"]
    assert entry.detail["approved_by"] == supervisor["id"]
    assert entry.subject_organization_id == s.hub.org(BALIKPAPAN)["id"]
    shared = _rows(app, AuditEntry, AuditEntry.action == "client.share")
    assert [e.actor_user_id for e in shared] == [supervisor["id"]]


def test_the_supervisor_declines_and_it_is_cancelled_unseen(app, s, supervisor):
    draft = _draft(s)
    missing = s.act(draft["id"], "decline-approval", supervisor["headers"])
    assert missing.status_code == 422
    assert "reason" in problem(missing)["errors"]
    response = s.act(
        draft["id"], "decline-approval", supervisor["headers"], reason="Ask the mother first."
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    declined = response.get_json()
    assert declined["status"] == "cancelled"
    assert declined["approval"]["status"] == "declined"
    assert declined["approval"]["reason"] == "Ask the mother first."
    assert declined["approval"]["decided_by"]["id"] == supervisor["id"]
    assert declined["override"]["approved_by"] is None
    # Declined before it was ever sent: the recipient never learns of it.
    assert s.http.get(f"/api/v1/referrals/{draft['id']}", headers=s.balikpapan).status_code == 404
    assert draft["id"] not in _recipient_lists(s)
    assert draft["id"] not in _recipient_event_ids(s)
    [entry] = _rows(app, AuditEntry, AuditEntry.action == "referral.override_declined")
    assert entry.actor_user_id == supervisor["id"]
    assert entry.subject_organization_id is None
    assert _rows(app, Disclosure, Disclosure.kind == "share") == []


def test_approve_twice_or_a_referral_that_is_no_draft_is_invalid(s, supervisor):
    draft = _draft(s)
    assert s.act(draft["id"], "approve", supervisor["headers"]).status_code == 200
    for action, body in (("approve", {}), ("decline-approval", {"reason": "too late"})):
        again = s.act(draft["id"], action, supervisor["headers"], **body)
        assert again.status_code == 409, action
        assert problem(again)["type"].endswith("/problems/invalid-transition")
    consented = s.send()
    refused = s.act(consented["id"], "approve", supervisor["headers"])
    assert refused.status_code == 409
    assert problem(refused)["type"].endswith("/problems/invalid-transition")


def test_the_recipients_supervisor_cannot_approve(app, s, hub):
    draft = _draft(s)
    theirs = hub.user(BALIKPAPAN, "supervisor", "supervisor.bpp@test.example")
    headers = user_headers(app, hub, BALIKPAPAN, theirs["id"])
    assert s.act(draft["id"], "approve", headers).status_code == 404


def test_a_deactivated_supervisor_approves_nothing(app, s, supervisor, hub):
    from referral_hub.accounts.models import User

    draft = _draft(s)
    portal_like = user_headers(app, hub, PPU, supervisor["id"])
    with app.app_context():
        db.session.get(User, supervisor["id"]).role = "caseworker"
        db.session.commit()
    refused = s.act(draft["id"], "approve", portal_like)
    assert refused.status_code == 403
    assert problem(refused)["type"].endswith("/problems/override-not-authorised")


def _agreement_ran_out(app, agreement_id: str) -> None:
    """The agreement's end date passed and the expiry sweep has not run yet."""
    from referral_hub.agreements.models import Agreement

    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        agreement.expires_on = dt.date.today() - dt.timedelta(days=2)
        db.session.commit()


def test_an_agreement_ended_meanwhile_refuses_approval(app, s, supervisor):
    draft = _draft(s)
    _agreement_ran_out(app, s.agreement_id)
    refused = s.act(draft["id"], "approve", supervisor["headers"])
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert problem(refused)["type"].endswith("/problems/no-active-agreement")
    assert s.http.get(f"/api/v1/referrals/{draft['id']}", headers=s.ppu).get_json()["status"] == (
        "draft"
    )


def test_a_suspended_agreement_cancels_the_draft_and_tells_only_the_sender(app, s, supervisor):
    from referral_hub.agreements import operations as agreements

    draft = _draft(s)
    with app.app_context():
        agreements.suspend_agreement(agreement_actor(PPU), s.agreement_id, reason="review")
        db.session.commit()
    seen = s.http.get(f"/api/v1/referrals/{draft['id']}", headers=s.ppu).get_json()
    assert (seen["status"], seen["status_reason"]) == ("cancelled", "agreement_ended")
    refused = s.act(draft["id"], "approve", supervisor["headers"])
    assert refused.status_code == 409
    assert problem(refused)["type"].endswith("/problems/invalid-transition")
    feed = s.http.get("/api/v1/events?limit=100", headers=s.balikpapan).get_json()
    assert draft["id"] not in json.dumps(feed)
    assert s.http.get(f"/api/v1/referrals/{draft['id']}", headers=s.balikpapan).status_code == 404


def test_the_overdue_sweep_ignores_drafts(app, s):
    from referral_hub.referrals.operations import sweep_overdue_referrals

    _draft(s)
    with app.app_context():
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
        assert sweep_overdue_referrals(later) == []
        db.session.commit()
    lines = s.http.get("/api/v1/referrals?box=sent&overdue=true", headers=s.ppu).get_json()
    assert lines["items"] == []


def test_a_draft_is_not_cancelled_nor_marked_in_error_by_the_generic_actions(s):
    draft = _draft(s)
    for action in ("cancel", "enter-in-error"):
        response = s.act(draft["id"], action, s.ppu, reason="wrong client")
        assert response.status_code == 409, action


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.commits  # writers in other threads
def test_approve_and_decline_at_once_exactly_one_wins(app, client, s, supervisor, is_postgres):
    if not is_postgres:
        pytest.skip("row locks and concurrent writers are PostgreSQL's; SQLite serialises")
    from tests.functional.test_referrals_concurrency import _at_once

    for _ in range(4):
        draft = _draft(s)
        base = f"/api/v1/referrals/{draft['id']}"

        def act(http, index, base=base):
            if index == 0:
                return http.post(f"{base}/approve", json={}, headers=supervisor["headers"])
            return http.post(
                f"{base}/decline-approval",
                json={"reason": "not now"},
                headers=supervisor["headers"],
            )

        results = _at_once(app, 2, act)
        assert sorted(r.status_code for r in results) == [200, 409], [r.json for r in results]
        final = client.get(base, headers=s.ppu).get_json()
        assert final["status"] in ("requested", "cancelled")
        assert final["approval"]["status"] == (
            "approved" if final["status"] == "requested" else "declined"
        )
        actions = [e["action"] for e in client.get(f"{base}/events", headers=s.ppu).get_json()]
        assert actions.count("override_approved") + actions.count("override_declined") == 1


def test_a_declined_override_marked_in_error_still_tells_the_recipient_nothing(app, s, supervisor):
    from referral_hub.delivery.models import Event, EventAudience

    draft = _draft(s)
    declined = s.act(draft["id"], "decline-approval", supervisor["headers"], reason="Not now.")
    assert declined.status_code == 200
    marked = s.act(draft["id"], "enter-in-error", s.ppu, reason="wrong client")
    assert marked.status_code == 200, marked.get_data(as_text=True)
    assert draft["id"] not in _recipient_event_ids(s)
    with app.app_context():
        recipient = s.hub.org(BALIKPAPAN)["id"]
        told = db.session.scalars(
            select(EventAudience)
            .join(Event)
            .where(EventAudience.organization_id == recipient, Event.subject_id == draft["id"])
        ).all()
        assert told == []
        db.session.remove()
    [entry] = _rows(app, AuditEntry, AuditEntry.action == "referral.enter-in-error")
    assert entry.subject_organization_id is None
