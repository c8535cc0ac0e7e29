"""Every signal's receivers are connected by create_app, once, however often it runs."""

from __future__ import annotations

from referral_hub.agreements.events import publish
from referral_hub.agreements.signals import agreement_changed, agreement_ended
from referral_hub.clients.signals import consent_withdrawn
from referral_hub.receivers import connect_receivers
from referral_hub.referrals.operations import (
    cancel_referrals_on_withdrawn_consent,
    cancel_referrals_under_ended_agreement,
)

EXPECTED = {
    agreement_changed: publish,
    agreement_ended: cancel_referrals_under_ended_agreement,
    consent_withdrawn: cancel_referrals_on_withdrawn_consent,
}


def test_the_app_has_each_receiver_connected_once(app):
    connect_receivers()  # a second app, a second call: still once
    for signal, receiver in EXPECTED.items():
        assert list(signal.receivers_for(object())) == [receiver], signal.name
