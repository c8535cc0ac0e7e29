"""Plug referrals into consent withdrawal, agreements' ends and the schedule (from create_app)."""

from __future__ import annotations


def register_referral_hooks() -> None:
    """Withdrawn consent cancels its open referrals, an agreement's end those not started;
    the scheduler sweeps overdue ones."""
    from referral_hub.agreements.signals import agreement_ended
    from referral_hub.clients.operations import WITHDRAWAL_LISTENERS
    from referral_hub.delivery.schedule import OVERDUE_SWEEPERS
    from referral_hub.referrals.operations import (
        cancel_referrals_on_withdrawn_consent,
        cancel_referrals_under_ended_agreement,
        sweep_overdue_referrals,
    )

    if cancel_referrals_on_withdrawn_consent not in WITHDRAWAL_LISTENERS:
        WITHDRAWAL_LISTENERS.append(cancel_referrals_on_withdrawn_consent)
    agreement_ended.connect(cancel_referrals_under_ended_agreement)  # once: blinker keeps a set
    if sweep_overdue_referrals not in OVERDUE_SWEEPERS:
        OVERDUE_SWEEPERS.append(sweep_overdue_referrals)
