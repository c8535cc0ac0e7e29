"""Plain words for the people who use the portal: e-mails that lead back to the hub they
came from and are signed with the portal's name, demo data in Indonesian."""

from __future__ import annotations

import re

from referral_hub.delivery.notifications import hub_address, render


def test_email_links_follow_the_hub_address_or_the_local_address_it_was_opened_at(app):
    configured = app.config["HUB_BASE_URL"]
    with app.test_request_context("/", base_url="http://127.0.0.1:8123"):
        assert hub_address() == configured  # HUB_BASE_URL given: it is the address
    app.config["BASE_URL_GIVEN"] = False
    try:
        with app.test_request_context("/", base_url="http://127.0.0.1:8123"):
            assert hub_address() == "http://127.0.0.1:8123"  # `make run PORT=8123`
        with app.test_request_context("/", base_url="http://hub.evil.example"):
            assert hub_address() == configured  # a forged Host never reaches an e-mail
        with app.app_context():
            assert hub_address() == configured  # a job, outside any request
    finally:
        app.config["BASE_URL_GIVEN"] = True


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


def test_english_names_a_page_in_the_plural_and_one_thing_in_the_singular(app, hub):
    from flask_babel import force_locale, ngettext, pgettext
    from flask_babel import gettext as _

    from tests.conftest import _csrf_from

    user = hub.user("uptd-ppa-ppu", "supervisor")
    browser = app.test_client()
    hub.login(browser, user["email"])
    token = _csrf_from(browser.get("/").get_data(as_text=True))
    browser.post("/language", data={"locale": "en", "next": "/", "csrf_token": token})
    page = browser.get("/clients").get_data(as_text=True)
    assert re.search(r"<h1>Clients</h1>", page)
    assert '<a href="/clients" aria-current="page">Clients</a>' in page
    with app.test_request_context("/"), force_locale("en"):
        assert _("Klien") == "Client"  # a referral's client, a table's column
        assert pgettext("page", "Perjanjian") == "Agreements"
        assert _("Perjanjian") == "Agreement"
        assert ngettext("%(num)d menit", "%(num)d menit", 1) == "1 minute"
        assert ngettext("%(num)d menit", "%(num)d menit", 45) == "45 minutes"
        assert ngettext("%(num)d celah cakupan", "%(num)d celah cakupan", 1) == "1 coverage gap"
