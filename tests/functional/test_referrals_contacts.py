"""People can reach each other: the recipient sees the sending caseworker and the sending
unit's focal points, the sender the recipient's; staff contacts only, and only between
organisations that share an agreement."""

from __future__ import annotations

import json

from referral_hub.agreements.models import Agreement
from referral_hub.extensions import db
from tests.clients_support import CANARY
from tests.offhub_support import set_contacts, set_work_phone
from tests.referrals_support import BALIKPAPAN, PPU, Scenario, user_headers

PPU_DESK = {
    "name": "Bu Sari (Kepala Seksi Layanan)",
    "title": "Focal point",
    "phone": "0542-111-222",
    "email": "layanan@ppa-ppu.test",
}
BPN_DESK = {"name": "Pak Anton", "title": "Koordinator", "phone": "0542-333-444", "email": None}
CASEWORKER_PHONE = "0812-5555-0101"


def _setup(app, client, hub) -> tuple[Scenario, dict, dict]:
    s = Scenario(app, client, hub)
    set_contacts(app, PPU, [PPU_DESK])
    set_contacts(app, BALIKPAPAN, [BPN_DESK])
    worker = hub.user(PPU, "caseworker", "pekerja.sosial@ppu.test")
    set_work_phone(app, worker["id"], CASEWORKER_PHONE)
    headers = user_headers(app, hub, PPU, worker["id"])
    sent = client.post("/api/v1/referrals", json=s.body(), headers=headers)
    assert sent.status_code == 201, sent.get_data(as_text=True)
    return s, sent.get_json(), headers


def test_the_recipient_sees_who_sent_it_and_the_sender_the_recipients_desk(app, client, hub):
    s, referral, _ = _setup(app, client, hub)
    received = client.get(f"/api/v1/referrals/{referral['id']}", headers=s.balikpapan).get_json()
    assert received["contacts"] == {
        "organization": {
            "id": received["sender"]["id"],
            "code": PPU,
            "name": received["sender"]["name"],
        },
        "caseworker": received["contacts"]["caseworker"],
        "focal_points": [PPU_DESK],
    }
    assert received["contacts"]["caseworker"]["work_phone"] == CASEWORKER_PHONE
    assert received["contacts"]["caseworker"]["name"]

    sent = client.get(f"/api/v1/referrals/{referral['id']}", headers=s.ppu).get_json()
    assert sent["contacts"]["organization"]["code"] == BALIKPAPAN
    assert sent["contacts"]["caseworker"] is None
    assert sent["contacts"]["focal_points"] == [BPN_DESK]


def test_contacts_carry_no_client_data(app, client, hub):
    s, referral, _ = _setup(app, client, hub)
    received = client.get(f"/api/v1/referrals/{referral['id']}", headers=s.balikpapan).get_json()
    contacts = json.dumps(received["contacts"])
    for canary in CANARY.values():
        if isinstance(canary, str) and len(canary) > 5:
            assert canary not in contacts


def test_without_a_shared_agreement_no_contacts_pass(app, client, hub):
    s, referral, _ = _setup(app, client, hub)
    with app.app_context():
        agreement = db.session.get(Agreement, s.agreement_id)
        agreement.status = "terminated"
        db.session.commit()
        db.session.remove()
    for headers in (s.balikpapan, s.ppu):
        body = client.get(f"/api/v1/referrals/{referral['id']}", headers=headers).get_json()
        assert body["contacts"] is None
        text = json.dumps(body)
        assert CASEWORKER_PHONE not in text
        assert PPU_DESK["phone"] not in text
        assert BPN_DESK["phone"] not in text
    # An outsider learns nothing at all, contacts included.
    outsider = client.get(f"/api/v1/referrals/{referral['id']}", headers=s.bontang)
    assert outsider.status_code == 404
    assert CASEWORKER_PHONE not in outsider.get_data(as_text=True)


def test_the_contact_rule_refuses_an_organisation_without_an_agreement(app, client, hub):
    from referral_hub.actors import Actor
    from referral_hub.directory.operations import find_organization, shares_agreement
    from referral_hub.referrals import operations as ops
    from referral_hub.referrals.models import Referral

    _s, referral, _ = _setup(app, client, hub)
    with app.app_context():
        bontang = find_organization("uptd-ppa-bontang")
        ppu = find_organization(PPU)
        bpn = find_organization(BALIKPAPAN)
        assert shares_agreement(ppu.id, bpn.id)
        assert not shares_agreement(bontang.id, ppu.id)
        assert not shares_agreement(bontang.id, bpn.id)
        row = db.session.get(Referral, referral["id"])
        outsider = Actor(
            organization_id=bontang.id, kind="client", scopes=frozenset({"referrals:read"})
        )
        assert ops.referral_contacts(outsider, row) is None
