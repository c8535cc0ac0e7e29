"""Partners not on the hub: the sender records their answers on their behalf, marked, until
they join; then only they answer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from referral_hub.audit.models import AuditEntry
from referral_hub.delivery.models import Event
from referral_hub.directory.operations import find_organization, is_on_hub, on_hub_ids
from referral_hub.extensions import db
from tests.conftest import problem
from tests.offhub_support import take_off_hub
from tests.referrals_support import (
    ALL_REFERRAL_SCOPES,
    BALIKPAPAN,
    BONTANG,
    KUKAR,
    PPU,
    Scenario,
)

BY_PHONE = "Telepon dari Ibu Rina, psikolog, 10.15"


def _on_hub(app, code: str) -> bool:
    with app.app_context():
        return is_on_hub(find_organization(code))


def test_an_organisation_is_on_the_hub_with_someone_who_answers_referrals(app, hub):
    take_off_hub(app, KUKAR)
    assert not _on_hub(app, KUKAR)
    # Its first admin, invited, keeps the entry but cannot answer a referral: the sender
    # still records the answers until someone who can is on the hub.
    hub.user(KUKAR, "org_admin")
    hub.user(KUKAR, "auditor")
    assert not _on_hub(app, KUKAR)
    user = hub.user(KUKAR, "caseworker")
    assert _on_hub(app, KUKAR)
    take_off_hub(app, KUKAR)  # the user deactivated
    assert not _on_hub(app, KUKAR)
    hub.oauth_client(KUKAR, "referrals:read directory:read")  # reads, never answers
    assert not _on_hub(app, KUKAR)
    hub.oauth_client(KUKAR, "referrals:read referrals:respond")
    assert _on_hub(app, KUKAR)
    take_off_hub(app, KUKAR)  # the client disabled
    assert not _on_hub(app, KUKAR)
    assert user["id"]

    hub.user(BONTANG, "caseworker")
    with app.app_context():
        ids = {code: find_organization(code).id for code in (KUKAR, BONTANG)}
        assert on_hub_ids(set(ids.values())) == {ids[BONTANG]}
        assert on_hub_ids(set()) == set()


def _off_hub_scenario(app, client, hub) -> Scenario:
    s = Scenario(app, client, hub)
    take_off_hub(app, BALIKPAPAN)
    return s


def test_the_sender_records_the_answers_of_a_partner_not_on_the_hub(app, client, hub):
    s = _off_hub_scenario(app, client, hub)
    referral = s.send()
    detail = client.get(f"/api/v1/referrals/{referral['id']}", headers=s.ppu).get_json()
    assert detail["recipient_on_hub"] is False
    assert detail["on_behalf_actions"] == ["accept", "reject"]
    assert detail["recorded_on_behalf"] is False

    accepted = s.act(referral["id"], "accept", s.ppu, recorded_on_behalf=True, note=BY_PHONE)
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    body = accepted.get_json()
    assert body["status"] == "accepted"
    assert body["recorded_on_behalf"] is True
    assert body["on_behalf_actions"] == ["start", "hold", "complete", "fail"]

    started = s.act(referral["id"], "start", s.ppu, recorded_on_behalf=True, note="surat")
    assert started.status_code == 200, started.get_data(as_text=True)
    done = s.act(
        referral["id"],
        "complete",
        s.ppu,
        recorded_on_behalf=True,
        note="surat balasan no. 12",
        outcome="service_delivered",
        summary="enam sesi",
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["status"] == "completed"

    timeline = client.get(f"/api/v1/referrals/{referral['id']}/events", headers=s.ppu).get_json()
    answers = [e for e in timeline if e["action"] in ("accept", "start", "complete")]
    assert [e["recorded_on_behalf"] for e in answers] == [True, True, True]
    assert [e["on_behalf_note"] for e in answers] == [BY_PHONE, "surat", "surat balasan no. 12"]
    assert answers[0]["organization"]["code"] == PPU  # who recorded it: the sender
    sent = [e for e in timeline if e["action"] == "requested"]
    assert sent
    assert sent[0]["recorded_on_behalf"] is False

    with app.app_context():
        audited = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == referral["id"], AuditEntry.action == "referral.accept"
            )
        ).one()
        assert audited.detail["recorded_on_behalf"] is True
        assert audited.subject_organization_id == find_organization(BALIKPAPAN).id
        events = db.session.scalars(
            select(Event).where(
                Event.subject_id == referral["id"], Event.type == "referral.accepted"
            )
        ).all()
        assert [e.data["recorded_on_behalf"] for e in events] == [True]


def test_an_answer_recorded_on_behalf_says_how_it_came(app, client, hub):
    s = _off_hub_scenario(app, client, hub)
    referral = s.send()
    for body in ({"recorded_on_behalf": True}, {"recorded_on_behalf": True, "note": "   "}):
        refused = s.act(referral["id"], "accept", s.ppu, **body)
        assert refused.status_code == 422, refused.get_data(as_text=True)
        assert list(problem(refused)["errors"]) == ["note"]
    # Without the flag the sender is not the recipient: 409, as ever.
    plain = s.act(referral["id"], "accept", s.ppu, note=BY_PHONE)
    assert plain.status_code == 409
    assert problem(plain)["type"].endswith("invalid-transition")


def test_once_the_recipient_is_on_the_hub_only_it_answers(app, client, hub):
    s = Scenario(app, client, hub)  # Balikpapan has an OAuth client: it is on the hub
    referral = s.send()
    detail = client.get(f"/api/v1/referrals/{referral['id']}", headers=s.ppu).get_json()
    assert detail["recipient_on_hub"] is True
    assert detail["on_behalf_actions"] == []
    refused = s.act(referral["id"], "accept", s.ppu, recorded_on_behalf=True, note=BY_PHONE)
    assert refused.status_code == 409
    body = problem(refused)
    assert body["type"].endswith("recipient-on-hub")
    assert body["status_now"] == "requested"

    # Off the hub, an answer recorded on its behalf; then it joins and answers itself.
    take_off_hub(app, BALIKPAPAN)
    other = s.send(sender_reference="PPU-INTERNAL-43")
    assert (
        s.act(other["id"], "accept", s.ppu, recorded_on_behalf=True, note=BY_PHONE).status_code
        == 200
    )
    hub.user(BALIKPAPAN, "caseworker", "psikolog@balikpapan.test")
    late = s.act(other["id"], "start", s.ppu, recorded_on_behalf=True, note=BY_PHONE)
    assert late.status_code == 409
    assert problem(late)["type"].endswith("recipient-on-hub")
    joined = hub.headers(BALIKPAPAN, ALL_REFERRAL_SCOPES)
    started = s.act(other["id"], "start", joined)
    assert started.status_code == 200, started.get_data(as_text=True)
    assert started.get_json()["recorded_on_behalf"] is False


def test_no_one_but_the_sender_records_on_behalf(app, client, hub):
    s = _off_hub_scenario(app, client, hub)
    referral = s.send()
    # A third organisation learns nothing: 404.
    outsider = s.act(referral["id"], "accept", s.bontang, recorded_on_behalf=True, note=BY_PHONE)
    assert outsider.status_code == 404
    assert referral["number"] not in outsider.get_data(as_text=True)
    # The recipient itself (back on the hub) answers as itself, never "on its own behalf".
    recipient = hub.headers(BALIKPAPAN, ALL_REFERRAL_SCOPES)
    partner = s.act(referral["id"], "accept", recipient, recorded_on_behalf=True, note=BY_PHONE)
    assert partner.status_code == 409
    assert problem(partner)["type"].endswith("invalid-transition")
    # A sender's token that may only respond, not send, records nothing on behalf.
    take_off_hub(app, BALIKPAPAN)
    respond_only = hub.headers(PPU, "referrals:read referrals:respond")
    refused = s.act(referral["id"], "accept", respond_only, recorded_on_behalf=True, note="x")
    assert refused.status_code == 403
    # The sender's own actions cannot be dressed up as the recipient's either.
    cancel = s.act(referral["id"], "cancel", s.ppu, reason="x", recorded_on_behalf=True)
    assert cancel.status_code == 422  # not a field of the sender's own actions
    status = client.get(f"/api/v1/referrals/{referral['id']}", headers=s.ppu).get_json()
    assert status["status"] == "requested"


def test_appointments_recorded_on_behalf(app, client, hub):
    s = _off_hub_scenario(app, client, hub)
    referral = s.send()
    assert (
        s.act(referral["id"], "accept", s.ppu, recorded_on_behalf=True, note=BY_PHONE).status_code
        == 200
    )
    starts_at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    url = f"/api/v1/referrals/{referral['id']}/appointments"
    missing_note = client.post(
        url,
        json={"starts_at": starts_at, "mode": "in_person", "recorded_on_behalf": True},
        headers=s.ppu,
    )
    assert missing_note.status_code == 422
    made = client.post(
        url,
        json={
            "starts_at": starts_at,
            "mode": "in_person",
            "recorded_on_behalf": True,
            "note": BY_PHONE,
        },
        headers=s.ppu,
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.get_json()["recorded_on_behalf"] is True
    cancelled = client.patch(
        f"{url}/{made.get_json()['id']}",
        json={"status": "cancelled", "recorded_on_behalf": True, "note": "SMS dari psikolog"},
        headers=s.ppu,
    )
    assert cancelled.status_code == 200, cancelled.get_data(as_text=True)
    # Without the flag the sender still schedules nothing.
    plain = client.post(url, json={"starts_at": starts_at, "mode": "phone"}, headers=s.ppu)
    assert plain.status_code == 409
    timeline = client.get(f"/api/v1/referrals/{referral['id']}/events", headers=s.ppu).get_json()
    sessions = [e for e in timeline if e["action"].startswith("appointment_")]
    assert [(e["action"], e["recorded_on_behalf"], e["on_behalf_note"]) for e in sessions] == [
        ("appointment_scheduled", True, BY_PHONE),
        ("appointment_cancelled", True, "SMS dari psikolog"),
    ]
    # Once the recipient joins, the sender's hand is off its sessions too.
    hub.user(BALIKPAPAN, "caseworker", "psikolog2@balikpapan.test")
    late = client.post(
        url,
        json={
            "starts_at": starts_at,
            "mode": "in_person",
            "recorded_on_behalf": True,
            "note": BY_PHONE,
        },
        headers=s.ppu,
    )
    assert late.status_code == 409
    assert problem(late)["type"].endswith("recipient-on-hub")
