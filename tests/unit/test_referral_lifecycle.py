"""The referral state machine, stated as the table DOMAIN.md gives."""

import pytest

from referral_hub.referrals.lifecycle import (
    RECIPIENT,
    SENDER,
    STATUSES,
    TRANSITIONS,
    TransitionRefused,
    allowed_actions,
    plan_transition,
)

#: DOMAIN.md, "Lifecycles": every (from, to) pair that is allowed, and by whom.
ALLOWED = {
    ("requested", "accepted"): RECIPIENT,
    ("requested", "rejected"): RECIPIENT,
    ("requested", "cancelled"): SENDER,
    ("accepted", "in-progress"): RECIPIENT,
    ("accepted", "on-hold"): RECIPIENT,
    ("accepted", "completed"): RECIPIENT,
    ("accepted", "failed"): RECIPIENT,
    ("accepted", "cancelled"): SENDER,
    ("in-progress", "on-hold"): RECIPIENT,
    ("on-hold", "in-progress"): RECIPIENT,
    ("in-progress", "completed"): RECIPIENT,
    ("in-progress", "failed"): RECIPIENT,
    ("in-progress", "cancelled"): SENDER,
    ("on-hold", "completed"): RECIPIENT,
    ("on-hold", "failed"): RECIPIENT,
    ("on-hold", "cancelled"): SENDER,
    # API.md, "Override approval": a draft waits for a supervisor of the sending unit.
    ("draft", "requested"): SENDER,
    ("draft", "cancelled"): SENDER,
}
ALLOWED.update(
    {(s, "entered-in-error"): SENDER for s in STATUSES if s not in ("entered-in-error", "draft")}
)


#: API.md's actions: the statuses each may be taken from (DOMAIN.md's arrows, named).
ACTION_SOURCES = {
    "accept": {"requested"},
    "reject": {"requested"},
    "start": {"accepted"},
    "hold": {"accepted", "in-progress"},
    "resume": {"on-hold"},
    "complete": {"accepted", "in-progress", "on-hold"},
    "fail": {"accepted", "in-progress", "on-hold"},
    "cancel": {"requested", "accepted", "in-progress", "on-hold"},
    "enter-in-error": set(STATUSES) - {"entered-in-error", "draft"},
    "approve": {"draft"},
    "decline-approval": {"draft"},
}


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("side", [SENDER, RECIPIENT, None])
def test_every_action_from_every_status_by_every_side(action, status, side):
    target = TRANSITIONS[action].target
    allowed = status in ACTION_SOURCES[action] and ALLOWED.get((status, target)) == side
    if allowed:
        assert plan_transition(action, side, status).target == target
    else:
        with pytest.raises(TransitionRefused):
            plan_transition(action, side, status)


def test_table_reaches_every_allowed_pair_and_no_other():
    reachable = {(status, t.target): t.side for t in TRANSITIONS.values() for status in t.sources}
    assert reachable == ALLOWED


@pytest.mark.parametrize(
    "action", ["reject", "cancel", "hold", "fail", "enter-in-error", "decline-approval"]
)
def test_reasons_required_where_domain_says(action):
    assert TRANSITIONS[action].needs_reason


def test_complete_needs_an_outcome():
    assert TRANSITIONS["complete"].needs_outcome


def test_allowed_actions_for_pages():
    assert allowed_actions(RECIPIENT, "requested") == ["accept", "reject"]
    assert allowed_actions(SENDER, "requested") == ["cancel", "enter-in-error"]
    assert allowed_actions(RECIPIENT, "completed") == []


def test_only_an_approver_is_offered_the_approval():
    assert [t.action for t in TRANSITIONS.values() if t.by_approver] == [
        "approve",
        "decline-approval",
    ]
    assert allowed_actions(SENDER, "draft") == []
    assert allowed_actions(SENDER, "draft", approver=True) == ["approve", "decline-approval"]
    assert allowed_actions(RECIPIENT, "draft", approver=True) == []
