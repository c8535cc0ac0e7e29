"""Why the hub itself cancelled a referral, in words on both sides' pages.

An agreement that ends cancels its referrals still waiting (`agreement_ended`), a withdrawn
consent cancels those it covered (`consent_withdrawn`). The API keeps the codes; the portal
tells the caseworker and the partner what happened and what it means, in Indonesian (and in
English), never the code itself, under "Keterangan status" and in the timeline.
"""

from __future__ import annotations

from referral_hub.actors import Actor
from referral_hub.agreements.operations import terminate_agreement
from referral_hub.clients.operations import withdraw_consent
from referral_hub.extensions import db
from tests.portal_sender_support import BALIKPAPAN, PPU, post, referral_form, signed_in
from tests.portal_sender_support import build_world as _build_world


def _sent(app, hub):
    world = _build_world(app)
    caseworker = signed_in(app, hub, PPU)
    response = post(caseworker, "/referrals/new", referral_form(world))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    referral_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    return world, caseworker, referral_id


def _pages(app, hub, caseworker, referral_id):
    partner = signed_in(app, hub, BALIKPAPAN)
    sender = caseworker.get(f"/referrals/{referral_id}").get_data(as_text=True)
    recipient = partner.get(f"/referrals/received/{referral_id}").get_data(as_text=True)
    return sender, recipient, partner


def test_an_ended_agreement_is_said_in_words(app, hub):
    world, caseworker, referral_id = _sent(app, hub)
    with app.app_context():
        terminate_agreement(Actor.system("tests"), world.agreement_id, reason="PKS diakhiri.")
        db.session.commit()
        db.session.remove()
    sender, recipient, partner = _pages(app, hub, caseworker, referral_id)
    for html in (sender, recipient):
        assert "Dibatalkan" in html
        assert "agreement_ended" not in html
        assert "Perjanjian yang menjadi dasar rujukan ini berakhir" in html
    post(partner, "/language", {"locale": "en", "next": "/"})
    english = partner.get(f"/referrals/received/{referral_id}").get_data(as_text=True)
    assert "agreement_ended" not in english
    assert "The agreement this referral rested on ended" in english


def test_a_withdrawn_consent_is_said_in_words(app, hub):
    world, caseworker, referral_id = _sent(app, hub)
    with app.app_context():
        withdraw_consent(Actor.system("tests"), world.consent_id, "Ibu mencabut persetujuan.")
        db.session.commit()
        db.session.remove()
    sender, recipient, _partner = _pages(app, hub, caseworker, referral_id)
    for html in (sender, recipient):
        assert "consent_withdrawn" not in html
        assert "Persetujuan klien yang menjadi dasar rujukan ini dicabut" in html
