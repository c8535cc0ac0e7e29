"""What cases announce to other features (blinker signals).

Declared here, and only here; the receivers are connected once per process by
`referral_hub.receivers.connect_receivers` (create_app runs it). A feature that cases may not
import (intake imports cases to open a case on acceptance) adds to a case's pages this way.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

timeline_requested = _signals.signal(
    "case-timeline-requested",
    doc="""A case's timeline is being built: each feature adds the entries it holds.

    Sender: the case (already reached by the actor: its own unit). Keyword argument:
    `actor`, the reader. Each receiver returns a list of timeline entries (`{"at", "kind",
    ...}` with the fields of `cases.schemas.TimelineItemOut`), as the case's unit may see
    them, and changes nothing. Receivers: `intake.operations.intake_entries_for_case` (the
    intake the case came from: its arrival, triage, forwards, acceptance).
    """,
)
