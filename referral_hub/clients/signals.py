"""What the client register announces to other features (blinker signals).

Declared here, and only here; the receivers are connected once per process by
`referral_hub.receivers.connect_receivers` (create_app runs it). Tests add their own for a
while with `signal.connected_to(receiver)`.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

consent_withdrawn = _signals.signal(
    "consent-withdrawn",
    doc="""A consent was withdrawn: nothing may be shared on it from now on.

    Sender: the consent (withdrawn_at, reason and the withdrawing party already set and
    flushed, the audit entry written). Keyword argument: `actor`, who withdrew it. Sent by
    `clients.operations.withdraw_consent` inside the withdrawing transaction: an exception in
    a receiver rolls the whole withdrawal back, so it never half happens. Receivers:
    `referrals.operations.cancel_referrals_on_withdrawn_consent` (open referrals resting on
    it are cancelled, recipients told).
    """,
)
