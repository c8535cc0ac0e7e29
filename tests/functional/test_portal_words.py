"""Plain words for the people who use the portal: e-mails that lead back to the hub they
came from and are signed with the portal's name, demo data in Indonesian."""

from __future__ import annotations

import re

from referral_hub.delivery.notifications import hub_address, render


def test_email_links_follow_the_hub_address_or_the_local_address_it_was_opened_at(app):
    configured = app.config["HUB_BASE_URL"]
    with app.test_request_context("/", base_url="http://127.0.0.1:8123"):
        assert hub_address() == configured  # HUB_BASE_URL given: it is the address
    app.config["HUB_BASE_URL_SET"] = False
    try:
        with app.test_request_context("/", base_url="http://127.0.0.1:8123"):
            assert hub_address() == "http://127.0.0.1:8123"  # `make run PORT=8123`
        with app.test_request_context("/", base_url="http://hub.evil.example"):
            assert hub_address() == configured  # a forged Host never reaches an e-mail
        with app.app_context():
            assert hub_address() == configured  # a job, outside any request
    finally:
        app.config["HUB_BASE_URL_SET"] = True


def test_every_email_is_signed_with_the_portals_name(app):
    context = {
        "referral_number": "RJ-2026-000001",
        "agreement_number": "PKS/1",
        "status": "accepted",
        "link": "http://127.0.0.1:5000/referrals/x",
        "reason": "consent_withdrawn",
    }
    with app.app_context():
        for kind in (
            "referral_received",
            "referral_answered",
            "referral_cancelled",
            "referral_overdue",
            "approval_pending",
            "signature_disputed",
        ):
            _subject, body = render(kind, context, "UPTD PPA Kota Balikpapan")
            assert body.rstrip().endswith("Hub Rujukan PPA (surel otomatis, mohon tidak dibalas)")
            assert "Referral Hub" not in body


def test_demo_agreements_speak_indonesian():
    from referral_hub.agreements.demo import DEMO_AGREEMENTS

    english = re.compile(r"\b(the|and|of|for|with|who|their)\b")
    for agreement in DEMO_AGREEMENTS:
        purpose = agreement[7]
        assert not english.search(purpose), purpose
