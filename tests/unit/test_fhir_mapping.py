"""The FHIR status table: every referral status has its FHIR codes, in R4's value sets, and
every Task status a client may ask for leads to the lifecycle action that reaches it."""

from __future__ import annotations

from referral_hub.interchange.fhir.mapping import STATUS_TABLE, actions_reaching
from referral_hub.interchange.fhir.views import TASK_STATUSES
from referral_hub.referrals.lifecycle import STATUSES, TRANSITIONS

REQUEST_STATUSES = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error"}


def test_every_referral_status_says_how_fhir_names_it():
    assert set(STATUS_TABLE) == set(STATUSES)
    assert {s.task for s in STATUS_TABLE.values()} <= TASK_STATUSES
    assert {s.request for s in STATUS_TABLE.values()} <= REQUEST_STATUSES
    # The hub's statuses are the SDOH guide's Task statuses: the Task says them unchanged.
    assert all(hub == fhir.task for hub, fhir in STATUS_TABLE.items())
    # statusReason goes with the statuses whose action asks for a reason (the guide's four).
    with_reason = {hub for hub, fhir in STATUS_TABLE.items() if fhir.with_reason}
    assert with_reason == {"rejected", "cancelled", "on-hold", "failed"}


def test_a_task_status_is_reached_by_the_lifecycle_actions_leading_there():
    assert actions_reaching("accepted") == ["accept"]
    assert actions_reaching("in-progress") == ["start", "resume"]
    assert actions_reaching("cancelled") == ["cancel"]  # declining an approval is no one's ask
    for status in ("requested", "received", "ready", "draft"):
        assert actions_reaching(status) == [], status
    for status in TASK_STATUSES:
        for action in actions_reaching(status):
            assert TRANSITIONS[action].target == status
            assert not TRANSITIONS[action].by_approver
