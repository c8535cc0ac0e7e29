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

erasure_requested = _signals.signal(
    "erasure-requested",
    doc="""A client's erasure was asked for: what still holds the client's data open refuses it.

    Sender: the client (not yet erased). Keyword argument: `actor`, who asks. Each receiver
    returns a list of refusals, `{"reason": <code>, "count": <int>}` (empty: nothing open),
    and changes nothing: `clients.operations.erase_client` refuses the erasure with 409
    `client-has-open-work` listing them all when any receiver returns one. Receivers:
    `referrals.operations.open_referrals_of_client` (referrals in OPEN_STATUSES or drafts
    waiting for approval); `cases.rights.open_cases_of_client` (open cases).
    """,
)

export_requested = _signals.signal(
    "export-requested",
    doc="""A client's full export (UU PDP) is being built: each feature adds what it holds.

    Sender: the client. Keyword argument: `actor`, the owning unit's reader. Each receiver
    returns a dict of sections to add to the export (e.g. `{"referrals": [...]}`), as the
    owning unit sees them, and changes nothing. Receivers:
    `referrals.operations.referrals_for_export`, `cases.rights.cases_for_export`.
    """,
)
