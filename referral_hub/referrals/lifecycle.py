"""The referral state machine: HL7 FHIR SDOH Clinical Care Task statuses.

One table says, for every action, which side may take it, from which statuses, to which
status, and what it requires. Everything that changes a referral's status goes through
`plan_transition`, so the API, the portal and the jobs cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = (
    "draft",
    "requested",
    "accepted",
    "rejected",
    "cancelled",
    "in-progress",
    "on-hold",
    "completed",
    "failed",
    "entered-in-error",
)
OPEN_STATUSES = frozenset({"requested", "accepted", "in-progress", "on-hold"})
#: An override that waits for its supervisor's approval: the sender's alone, never the
#: recipient's (it has not been sent yet).
DRAFT = "draft"
CLOSED_STATUSES = frozenset(STATUSES) - OPEN_STATUSES - {DRAFT}
#: Referrals whose work has not started: an agreement that ends cancels them
#: (`agreement_ended`), while accepted ones run to their close. A draft never reached its
#: recipient: the agreement's end cancels it too.
NOT_STARTED_STATUSES = frozenset({"requested", DRAFT})
#: Referrals whose recipient schedules sessions: accepted and not yet closed.
SCHEDULABLE_STATUSES = frozenset({"accepted", "in-progress", "on-hold"})

OUTCOMES = (
    "service_delivered",
    "partially_delivered",
    "client_declined",
    "unable_to_contact",
    "not_eligible",
    "no_capacity",
    "referred_elsewhere",
)

SENDER = "sender"
RECIPIENT = "recipient"


@dataclass(frozen=True)
class Transition:
    """One action: who takes it, from where, to where, and whether it needs a reason."""

    action: str
    side: str
    sources: frozenset[str]
    target: str
    needs_reason: bool = False
    needs_outcome: bool = False
    #: Taken only by an active supervisor of the sending unit acting as themselves (the
    #: override's approval); the operation checks who, the table says which actions.
    by_approver: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("approve", SENDER, frozenset({DRAFT}), "requested", by_approver=True),
        Transition(
            "decline-approval",
            SENDER,
            frozenset({DRAFT}),
            "cancelled",
            needs_reason=True,
            by_approver=True,
        ),
        Transition("accept", RECIPIENT, frozenset({"requested"}), "accepted"),
        Transition("reject", RECIPIENT, frozenset({"requested"}), "rejected", needs_reason=True),
        Transition("start", RECIPIENT, frozenset({"accepted"}), "in-progress"),
        Transition(
            "hold", RECIPIENT, frozenset({"accepted", "in-progress"}), "on-hold", needs_reason=True
        ),
        Transition("resume", RECIPIENT, frozenset({"on-hold"}), "in-progress"),
        Transition(
            "complete",
            RECIPIENT,
            frozenset({"accepted", "in-progress", "on-hold"}),
            "completed",
            needs_outcome=True,
        ),
        Transition(
            "fail",
            RECIPIENT,
            frozenset({"accepted", "in-progress", "on-hold"}),
            "failed",
            needs_reason=True,
        ),
        Transition(
            "cancel",
            SENDER,
            frozenset({"requested", "accepted", "in-progress", "on-hold"}),
            "cancelled",
            needs_reason=True,
        ),
        # A draft reached no one: its supervisor declines it instead (nothing to cancel or
        # to mark in error at the recipient's, who must not learn of it).
        Transition(
            "enter-in-error",
            SENDER,
            frozenset(STATUSES) - {"entered-in-error", DRAFT},
            "entered-in-error",
            needs_reason=True,
        ),
    )
}


class TransitionRefused(Exception):
    """The action is not possible. `reason` says why, in invalid-transition's vocabulary:
    unknown-action, recipient-only or sender-only (the other side takes it), status (not
    from this status); `fields` name the action (and the status it would reach)."""

    def __init__(self, reason: str, message: str, **fields: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.fields = fields


def plan_transition(action: str, side: str | None, status: str) -> Transition:
    """The transition for `action` taken by `side` from `status`, or TransitionRefused."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise TransitionRefused("unknown-action", f"Unknown action '{action}'.", action=action)
    if side != transition.side:
        who = "the recipient organisation" if transition.side == RECIPIENT else "the sender"
        raise TransitionRefused(
            f"{transition.side}-only", f"Only {who} can {action} a referral.", action=action
        )
    if status not in transition.sources:
        raise TransitionRefused(
            "status",
            f"A referral that is '{status}' cannot be {transition.target}.",
            action=action,
            target=transition.target,
        )
    return transition


def appointment_schedulable(side: str | None, status: str) -> bool:
    """Whether this side may schedule a session of a referral in `status` (the recipient's,
    once accepted and while open): `schedule_appointment` and the inbox page ask this."""
    return side == RECIPIENT and status in SCHEDULABLE_STATUSES


def allowed_actions(side: str | None, status: str, *, approver: bool = False) -> list[str]:
    """The actions one side may take now (for pages and API hints); the approval's only for
    a supervisor who may approve (`approver`)."""
    return [
        t.action
        for t in TRANSITIONS.values()
        if t.side == side and status in t.sources and (approver or not t.by_approver)
    ]
