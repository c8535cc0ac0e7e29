"""The portal with a partner not on the hub: the sender is told, prints the letter, records the
partner's answers and sessions on its behalf (marked), until the partner joins; and both sides
see each other's staff contacts."""

from __future__ import annotations

import datetime as dt

from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from tests.offhub_support import set_contacts, set_work_phone, take_off_hub
from tests.portal_sender_support import field_error, post, signed_in
from tests.referrals_support import BALIKPAPAN, PPU, Scenario

OFF_HUB = "Mitra ini belum memakai hub"
HOW = "melalui telepon dengan Ibu Rina"


def _status(app, referral_id: str) -> str:
    with app.app_context():
        status = db.session.get(Referral, referral_id).status
        db.session.remove()
        return status


def _world(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.send()
    take_off_hub(app, BALIKPAPAN)
    return s, referral, signed_in(app, hub, PPU, "caseworker", "pengirim@ppu.test")


def test_the_sender_is_told_and_records_the_partners_answer(app, client, hub):
    _, referral, browser = _world(app, client, hub)
    page = browser.get(f"/referrals/{referral['id']}").get_data(as_text=True)
    assert OFF_HUB in page
    assert "kirim surat rujukan cetak dan catat jawabannya di sini" in page.lower()
    assert 'id="on-behalf"' in page

    answered = post(
        browser, f"/referrals/{referral['id']}/on-behalf", {"answer": "accept", "how": HOW}
    )
    assert answered.status_code == 302, answered.get_data(as_text=True)[:500]
    assert _status(app, referral["id"]) == "accepted"
    page = browser.get(f"/referrals/{referral['id']}").get_data(as_text=True)
    assert f"dicatat oleh pengirim atas nama mitra: {HOW}" in page
    assert 'id="status-on-behalf"' in page

    starts = (dt.datetime.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    session = post(
        browser,
        f"/referrals/{referral['id']}/on-behalf/session",
        {"starts_at": starts, "mode": "in_person", "session_how": "SMS dari psikolog"},
    )
    assert session.status_code == 302, session.get_data(as_text=True)[:500]
    page = browser.get(f"/referrals/{referral['id']}").get_data(as_text=True)
    assert "dicatat oleh pengirim atas nama mitra: SMS dari psikolog" in page

    letter = browser.get(f"/referrals/{referral['id']}/letter").get_data(as_text=True)
    assert 'id="answer-by-phone"' in letter
    assert f"dicatat oleh pengirim atas nama mitra: {HOW}" in letter


def test_an_answer_without_how_it_came_is_shown_beside_the_field(app, client, hub):
    _, referral, browser = _world(app, client, hub)
    refused = post(browser, f"/referrals/{referral['id']}/on-behalf", {"answer": "reject"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert field_error(html, "how")
    assert _status(app, referral["id"]) == "requested"
    # The operation's own refusal lands beside the form's field too.
    no_reason = post(
        browser, f"/referrals/{referral['id']}/on-behalf", {"answer": "reject", "how": HOW}
    )
    assert no_reason.status_code == 422
    assert field_error(no_reason.get_data(as_text=True), "answer_reason")


def test_once_the_partner_joins_the_form_is_gone_and_a_late_answer_refused(app, client, hub):
    _, referral, browser = _world(app, client, hub)
    hub.user(BALIKPAPAN, "caseworker", "psikolog@balikpapan.test")
    page = browser.get(f"/referrals/{referral['id']}").get_data(as_text=True)
    assert OFF_HUB not in page
    assert 'id="on-behalf"' not in page
    late = post(browser, f"/referrals/{referral['id']}/on-behalf", {"answer": "accept", "how": HOW})
    assert late.status_code == 409
    assert "sudah memakai hub dan menjawab sendiri" in late.get_data(as_text=True)
    assert _status(app, referral["id"]) == "requested"


def test_another_organisation_cannot_record_on_behalf(app, client, hub):
    _, referral, _ = _world(app, client, hub)
    outsider = signed_in(app, hub, "uptd-ppa-bontang", "caseworker")
    refused = post(
        outsider, f"/referrals/{referral['id']}/on-behalf", {"answer": "accept", "how": HOW}
    )
    assert refused.status_code == 404
    assert _status(app, referral["id"]) == "requested"


def test_both_sides_see_each_others_staff_contacts(app, client, hub):
    s = Scenario(app, client, hub)
    set_contacts(app, PPU, [{"name": "Bu Sari", "title": "Focal point", "phone": "0542-111"}])
    set_contacts(app, BALIKPAPAN, [{"name": "Pak Anton", "phone": "0542-333"}])
    sender = signed_in(app, hub, PPU, "caseworker", "sender@ppu.test")
    set_work_phone(app, sender.user["id"], "0812-777")
    with app.app_context():
        from referral_hub.actors import Actor
        from referral_hub.directory.operations import find_organization
        from referral_hub.referrals import operations as ops

        actor = Actor(
            organization_id=find_organization(PPU).id,
            user_id=sender.user["id"],
            role="caseworker",
            kind="user",
        )
        referral = ops.send_referral(actor, s.body() | {"case_data": {}})
        referral_id = referral.id
        db.session.commit()
        db.session.remove()
    recipient = signed_in(app, hub, BALIKPAPAN, "caseworker", "penerima@balikpapan.test")
    page = recipient.get(f"/referrals/received/{referral_id}").get_data(as_text=True)
    assert 'id="sending-caseworker"' in page
    assert "0812-777" in page
    assert "Bu Sari" in page
    mine = sender.get(f"/referrals/{referral_id}").get_data(as_text=True)
    assert "Pak Anton" in mine
    assert "0812-777" not in mine  # the sender is not shown its own caseworker


# --- told before sending: the wizard, the coverage page, the admins' start page -------------


def test_the_wizard_and_the_coverage_page_say_when_a_partner_cannot_answer(app, hub):
    from tests.portal_sender_support import build_world, referral_form

    world = build_world(app)
    take_off_hub(app, BALIKPAPAN)
    browser = signed_in(app, hub, PPU, "caseworker", "wizard@ppu.test")
    form = referral_form(world, step="service", go="partner", to=None)
    html = post(browser, "/referrals/new", form).get_data(as_text=True)
    assert "Mitra ini belum memakai hub:" in html
    assert "kirim surat rujukan cetak dan catat jawabannya di sini" in html
    coverage = browser.get("/coverage").get_data(as_text=True)
    assert 'id="off-hub"' in coverage
    assert "belum memakai hub" in coverage

    hub.oauth_client(BALIKPAPAN, "referrals:read referrals:respond")  # it joins
    html = post(browser, "/referrals/new", form).get_data(as_text=True)
    assert "Mitra ini belum memakai hub:" not in html
    assert 'id="off-hub"' not in browser.get("/coverage").get_data(as_text=True)


def test_the_admins_start_page_lists_partners_with_agreements_off_the_hub(app, hub):
    from tests.agreements_support import build

    with app.app_context():
        build("active")
        db.session.commit()
        db.session.remove()
    take_off_hub(app, BALIKPAPAN)
    admin = signed_in(app, hub, PPU, "org_admin", "admin@ppu.test")
    home = admin.get("/").get_data(as_text=True)
    assert 'id="partners-off-hub"' in home
    listed = home.split('id="partners-off-hub"')[1].split("</ul>")[0]
    assert "Balikpapan" in listed
    assert "Bontang" not in listed  # no agreement with PPU
    assert "Penajam" not in listed  # not itself

    hub.user(BALIKPAPAN, "caseworker", "joined@balikpapan.test")
    home = admin.get("/").get_data(as_text=True)
    assert 'id="partners-off-hub"' not in home
    assert "Setiap mitra dengan perjanjian sudah memakai hub." in home
