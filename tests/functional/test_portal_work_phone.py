"""Work phones: the organisation's admin keeps each person's work phone on Pengguna, an invitee
gives theirs when accepting, and it is the number the partner sees on a referral."""

from __future__ import annotations

from sqlalchemy import select

from referral_hub.accounts.models import User
from referral_hub.audit.models import AuditEntry
from referral_hub.extensions import db
from tests.conftest import _csrf_from
from tests.functional.test_directory_network_api import invitation_link
from tests.functional.test_portal_network import invite, signed_in
from tests.invitation_support import CHOSEN_PASSWORD
from tests.referrals_support import BALIKPAPAN, PPU, Scenario, user_headers

PHONE = "+62 812-3456-7890"


def _phone_of(app, user_id: str) -> str | None:
    with app.app_context():
        phone = db.session.get(User, user_id).work_phone
        db.session.remove()
        return phone


def _set(browser, user_id: str, phone: str):
    token = _csrf_from(browser.get("/users").get_data(as_text=True))
    return browser.post(
        f"/users/{user_id}/work-phone", data={"work_phone": phone, "csrf_token": token}
    )


def test_the_admin_sets_a_work_phone_and_the_recipient_sees_it(app, client, hub):
    s = Scenario(app, client, hub)
    worker = hub.user(PPU, "caseworker", "pendamping@ppu.test")
    admin = signed_in(app, hub, PPU)
    done = _set(admin, worker["id"], PHONE)
    assert done.status_code == 302
    assert "Telepon kantor pendamping@ppu.test" in admin.get(done.headers["Location"]).get_data(
        as_text=True
    )
    assert _phone_of(app, worker["id"]) == PHONE
    page = admin.get("/users").get_data(as_text=True)
    assert f'value="{PHONE}"' in page
    with app.app_context():
        changed = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.work_phone_changed")
        ).all()
        assert [e.object_id for e in changed] == [worker["id"]]
        db.session.remove()

    sent = client.post(
        "/api/v1/referrals", json=s.body(), headers=user_headers(app, hub, PPU, worker["id"])
    )
    assert sent.status_code == 201, sent.get_data(as_text=True)
    recipient = signed_in(app, hub, BALIKPAPAN, "caseworker")
    page = recipient.get(f"/referrals/received/{sent.get_json()['id']}").get_data(as_text=True)
    assert PHONE in page
    assert 'href="tel:+62812-3456-7890"' in page


def test_a_bad_work_phone_is_refused_and_nothing_changes(app, hub):
    worker = hub.user(PPU, "caseworker", "pendamping@ppu.test")
    admin = signed_in(app, hub, PPU)
    refused = _set(admin, worker["id"], "call me maybe")
    assert refused.status_code == 302
    assert "Telepon kantor tidak sah" in admin.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    assert _phone_of(app, worker["id"]) is None
    # Cleared with an empty field.
    assert _set(admin, worker["id"], PHONE).status_code == 302
    assert _set(admin, worker["id"], "").status_code == 302
    assert _phone_of(app, worker["id"]) is None


def test_another_organisations_admin_cannot_set_it(app, hub):
    worker = hub.user(PPU, "caseworker", "pendamping@ppu.test")
    other = signed_in(app, hub, BALIKPAPAN)
    assert _set(other, worker["id"], PHONE).status_code == 404
    assert _phone_of(app, worker["id"]) is None


def test_a_new_account_and_an_invitee_give_a_work_phone(app, hub):
    admin = signed_in(app, hub, PPU)
    token = _csrf_from(admin.get("/users/new").get_data(as_text=True))
    made = admin.post(
        "/users/new",
        data={
            "name": "Staf Baru",
            "email": "staf.baru@ppu.test",
            "role": "caseworker",
            "work_phone": "0542 733 123",
            "password": CHOSEN_PASSWORD,
            "csrf_token": token,
        },
    )
    assert made.status_code == 302, made.get_data(as_text=True)[:1500]

    assert invite(admin, PPU, "undangan@ppu.test", "caseworker").status_code == 302
    link = invitation_link(app, "undangan@ppu.test")
    browser = app.test_client()
    form = browser.get(link).get_data(as_text=True)
    assert "Telepon kantor" in form
    fields = {
        "name": "Pendamping Undangan",
        "password": CHOSEN_PASSWORD,
        "password_again": CHOSEN_PASSWORD,
        "csrf_token": _csrf_from(form),
    }
    bad = browser.post(link, data={**fields, "work_phone": "nomor saya"})
    assert bad.status_code == 422
    assert "Telepon kantor tidak sah" in bad.get_data(as_text=True) or "angka, spasi" in (
        bad.get_data(as_text=True)
    )
    done = browser.post(link, data={**fields, "work_phone": "0812 1111 2222"})
    assert done.status_code == 302
    with app.app_context():
        phones = dict(
            db.session.execute(
                select(User.email, User.work_phone).where(
                    User.email.in_(["staf.baru@ppu.test", "undangan@ppu.test"])
                )
            ).all()
        )
        db.session.remove()
    assert phones == {"staf.baru@ppu.test": "0542 733 123", "undangan@ppu.test": "0812 1111 2222"}
