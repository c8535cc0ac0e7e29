"""Plug referrals into consent withdrawal and the schedule (called once from create_app)."""

from __future__ import annotations


def register_referral_hooks() -> None:
    """Withdrawn consent cancels its open referrals; the scheduler sweeps overdue ones."""
    from referral_hub.clients.operations import WITHDRAWAL_LISTENERS
    from referral_hub.delivery.schedule import OVERDUE_SWEEPERS
    from referral_hub.referrals.operations import (
        cancel_referrals_on_withdrawn_consent,
        sweep_overdue_referrals,
    )

    if cancel_referrals_on_withdrawn_consent not in WITHDRAWAL_LISTENERS:
        WITHDRAWAL_LISTENERS.append(cancel_referrals_on_withdrawn_consent)
    if sweep_overdue_referrals not in OVERDUE_SWEEPERS:
        OVERDUE_SWEEPERS.append(sweep_overdue_referrals)
