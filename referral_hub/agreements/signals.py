"""What the agreement registry announces to other features (blinker signals).

Declared here, and only here; the receivers are connected once per process by
`referral_hub.receivers.connect_receivers` (create_app runs it, so the web app, the CLI,
the rq workers and the embedded runner all have them). Tests add their own for a while with
`signal.connected_to(receiver)`.

A receiver runs inside the transaction of the change, so what it writes (outbox rows, audit
entries) commits or rolls back with it, and an exception it raises rolls the change back;
it sends nothing itself.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: The event types `agreement_changed` carries, in the order an agreement may meet them.
EVENT_TYPES = (
    "agreement.signed",
    "agreement.activated",
    "agreement.expiring",
    "agreement.expired",
    "agreement.terminated",
    "agreement.suspended",
    "agreement.resumed",
    "agreement.superseded",
)

agreement_changed = _signals.signal(
    "agreement-changed",
    doc="""Something happened to an agreement that its parties' systems may hear of.

    Sender: the agreement. Keyword arguments: `actor`, who did it (a party, or the system for
    the calendar's sweep), and `how`, one of EVENT_TYPES. Sent by
    `agreements.operations.record.emit` for every change (signatures, activation, the sweep's
    expiry notices and expiries, termination, suspension, resumption, supersession).
    Receivers: `agreements.events.publish` (the event for the outbox, hence the events feed
    and webhooks); receivers ignore event types they do not know.
    """,
)

agreement_ended = _signals.signal(
    "agreement-ended",
    doc="""An agreement stopped covering new work: suspended, terminated, expired or superseded.

    Sender: the agreement. Keyword arguments: `actor`, who ended it (a party, or the system
    for the calendar's sweep), `how`, the event type (e.g. "agreement.suspended"), and `at`,
    the moment of the change (the sweep's clock, which may not be the wall clock). Sent by
    `agreements.operations.record.emit`, after `agreement_changed`. Receivers:
    `referrals.operations.cancel_referrals_under_ended_agreement` (referrals not yet started
    are cancelled).
    """,
)
