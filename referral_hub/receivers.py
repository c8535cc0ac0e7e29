"""Who hears which signal: every receiver of the hub's signals, connected here and only here.

The signals are declared, with what they carry and who sends them, in each area's
`signals.py` (agreements/signals.py, clients/signals.py). create_app calls
`connect_receivers`, so every entry point has them: the web app, the CLI, `flask hub
worker` and `rq worker -w referral_hub.delivery.worker.HubWorker` (both build the app
before their first job) and the embedded runner (it runs in the app's process). Connecting
again is harmless: blinker keeps one connection per receiver and sender. Receivers are plain
module functions, held strongly (`weak=False`), so none is ever dropped by the collector.
"""

from __future__ import annotations


def connect_receivers() -> None:
    """Connect every receiver to its signal (idempotent)."""
    from referral_hub.agreements.events import publish
    from referral_hub.agreements.signals import agreement_changed, agreement_ended
    from referral_hub.cases.rights import cases_for_export, open_cases_of_client
    from referral_hub.cases.signals import timeline_requested
    from referral_hub.clients.signals import (
        consent_withdrawn,
        erasure_requested,
        export_requested,
    )
    from referral_hub.intake.operations import intake_entries_for_case
    from referral_hub.referrals.operations import (
        cancel_referrals_on_withdrawn_consent,
        cancel_referrals_under_ended_agreement,
        open_referrals_of_client,
        referrals_for_export,
    )

    # Partners hear of agreement events through the outbox (events feed, webhooks).
    agreement_changed.connect(publish, weak=False)
    # Referrals not yet started stop with their agreement.
    agreement_ended.connect(cancel_referrals_under_ended_agreement, weak=False)
    # Open referrals resting on a withdrawn consent are cancelled, recipients told.
    consent_withdrawn.connect(cancel_referrals_on_withdrawn_consent, weak=False)
    # A client is not erased while a referral holding their data is open.
    erasure_requested.connect(open_referrals_of_client, weak=False)
    # The client's export lists their referrals as the sender sees them.
    export_requested.connect(referrals_for_export, weak=False)
    # Nor while a case of the client is open; the export lists the cases, plan and notes.
    erasure_requested.connect(open_cases_of_client, weak=False)
    export_requested.connect(cases_for_export, weak=False)
    # A case's timeline shows the intake it came from (cases cannot import intake).
    timeline_requested.connect(intake_entries_for_case, weak=False)
