"""What the agreement registry announces to other features (blinker signals).

A receiver runs inside the transaction of the change, so what it writes (outbox rows, audit
entries) commits or rolls back with it; it sends nothing itself.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

agreement_ended = _signals.signal(
    "agreement-ended",
    doc="""An agreement stopped covering new work: suspended, terminated, expired or superseded.

    Sender: the agreement. Keyword arguments: `actor`, who ended it (a party, or the system
    for the calendar's sweep), `how`, the event type (e.g. "agreement.suspended"), and `at`,
    the moment of the change (the sweep's clock, which may not be the wall clock).
    """,
)
