"""Who may do what to a referral in each status: every action x party x status.

Expected outcomes come from DOMAIN.md (the lifecycle table in tests/unit) and API.md: an
outsider and the hub operator get 404 (they must not learn the referral exists), the wrong
side or status gets 409 invalid-transition, the right side from the right status gets 200.
A draft (an override waiting for approval) is 404 for the recipient too; its approval is
taken by a supervisor of the sending unit personally, never by the unit's machine client (403).
"""

from __future__ import annotations

import pytest

from referral_hub.referrals.lifecycle import STATUSES, TRANSITIONS
from tests.conftest import problem
from tests.referrals_support import PPU, Scenario, user_headers

PARTIES = ("sender", "supervisor", "recipient", "outsider", "operator")
BODIES = {
    "approve": {},
    "complete": {"outcome": "service_delivered", "summary": "Six sessions attended."},
    "accept": {},
    "start": {},
    "resume": {},
}


def _headers(s: Scenario, party: str):
    return {
        "sender": s.ppu,
        "supervisor": s.supervisor,
        "recipient": s.balikpapan,
        "outsider": s.bontang,
        "operator": s.operator,
    }[party]


def _expected(action: str, party: str, status: str) -> int:
    if party in ("outsider", "operator") or (party == "recipient" and status == "draft"):
        return 404
    transition = TRANSITIONS[action]
    side = "sender" if party == "supervisor" else party
    if transition.by_approver and party == "sender":
        return 403  # the unit's machine client never approves
    if transition.side == side and status in transition.sources:
        return 200
    return 409


@pytest.mark.parametrize("status", STATUSES)
def test_matrix(app, client, hub, status):
    s = Scenario(app, client, hub)
    supervisor = hub.user(PPU, "supervisor", "supervisor.ppu@test.example")
    s.supervisor = user_headers(app, hub, PPU, supervisor["id"])
    standing = s.in_status(status)
    seen: dict[tuple[str, str], int] = {}
    for action in TRANSITIONS:
        for party in PARTIES:
            expected = _expected(action, party, status)
            body = BODIES.get(action, {"reason": "a reason the party gives"})
            target = s.in_status(status) if expected == 200 else standing
            response = s.act(target["id"], action, _headers(s, party), **body)
            seen[(action, party)] = response.status_code
            assert response.status_code == expected, (action, party, status, response.json)
            if expected == 200:
                assert response.get_json()["status"] == TRANSITIONS[action].target
            else:
                details = problem(response)
                slug = {
                    404: "not-found",
                    403: "override-not-authorised",
                    409: "invalid-transition",
                }[expected]
                assert details["type"].endswith(slug), details
                if expected == 409:  # which refusal it is, for the portal to say
                    side = "sender" if party in ("sender", "supervisor") else party
                    owner = TRANSITIONS[action].side
                    reason = "status" if side == owner else f"{owner}-only"
                    assert details["reason"] == reason, details
    # The refused attempts changed nothing.
    after = client.get(f"/api/v1/referrals/{standing['id']}", headers=s.ppu).get_json()
    assert after["status"] == status


@pytest.mark.parametrize(
    "action", ["reject", "hold", "fail", "cancel", "enter-in-error", "decline-approval"]
)
def test_reasons_are_required(app, client, hub, action):
    s = Scenario(app, client, hub)
    start = {"reject": "requested", "cancel": "requested", "enter-in-error": "requested"}.get(
        action, "draft" if action == "decline-approval" else "accepted"
    )
    referral = s.in_status(start)
    headers = s.ppu if TRANSITIONS[action].side == "sender" else s.balikpapan
    if action == "decline-approval":
        supervisor = hub.user(PPU, "supervisor", "supervisor.ppu@test.example")
        headers = user_headers(app, hub, PPU, supervisor["id"])
    for body in ({}, {"reason": ""}):
        response = s.act(referral["id"], action, headers, **body)
        assert response.status_code == 422, (body, response.json)
        assert "reason" in problem(response)["errors"]


def test_complete_needs_a_known_outcome(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.in_status("accepted")
    response = s.act(referral["id"], "complete", s.balikpapan, outcome="cured")
    assert response.status_code == 422
    assert "outcome" in problem(response)["errors"]


def test_scopes_split_sending_from_responding(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.send()
    read_only = hub.headers("uptd-ppa-balikpapan", "referrals:read")
    response = s.act(referral["id"], "accept", read_only)
    assert response.status_code == 403
    assert problem(response)["type"].endswith("insufficient-scope")
    sender_without_write = hub.headers("uptd-ppa-ppu", "referrals:read referrals:respond")
    response = s.act(referral["id"], "cancel", sender_without_write, reason="x")
    assert response.status_code == 403


def test_auditor_and_admin_users_cannot_act(app, client, hub):
    from referral_hub.actors import Actor
    from referral_hub.directory.operations import find_organization
    from referral_hub.problems import Problem
    from referral_hub.referrals.operations import act_on_referral

    s = Scenario(app, client, hub)
    referral = s.send()
    with app.app_context():
        org = find_organization("uptd-ppa-balikpapan")
        for role in ("auditor", "org_admin"):
            actor = Actor(org.id, user_id="u-" + role, role=role, organization_type="uptd_ppa")
            with pytest.raises(Problem) as refused:
                act_on_referral(actor, referral["id"], "accept")
            assert refused.value.status == 403
