"""Nothing leaks: canary values in every personal field, searched for in every GET a recipient
or an outsider can call. The list of GET routes comes from the app's URL map, so a new route
is searched too."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from referral_hub.spreadsheets import XLSX_MIMETYPE
from tests.clients_support import CANARY
from tests.referrals_support import CASE_CANARY, Scenario

#: What the recipient may see under the scenario's consent: identity and case_summary.
RECIPIENT_MAY_SEE = {
    CANARY["full_name"],
    CANARY["nik"],
    CASE_CANARY["chronology"],
    CANARY["reason"],
}
ALL_CANARIES = {*CANARY.values(), *CASE_CANARY.values()}


def _get_routes(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.rule.startswith("/api/"):
            yield rule


def _fill(rule, ids) -> str | None:
    path = rule.rule
    for name in rule.arguments:
        value = ids.get(name)
        if value is None:
            return None
        path = path.replace(f"<{name}>", value)
    return re.sub(r"<[^>]+>", "x", path)


@pytest.fixture
def world(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.send(data_categories=["identity", "case_summary"])
    s.act(referral["id"], "accept", s.balikpapan)
    s.http.post(
        f"/api/v1/referrals/{referral['id']}/appointments",
        json={
            "starts_at": "2030-01-02T09:00:00+08:00",
            "mode": "in_person",
            "location": CANARY["address"],
            "practitioner": "Psikolog klinis",
        },
        headers=s.balikpapan,
    )
    ids = {
        "referral_id": referral["id"],
        "client_id": s.client["id"],
        "consent_id": s.consent["id"],
        "agreement_id": s.agreement_id,
        "id_or_code": "uptd-ppa-ppu",
        "id": referral["id"],
    }
    return s, ids


def _bodies(app, client, headers, ids):
    for rule in _get_routes(app):
        path = _fill(rule, ids)
        if path is None:
            continue
        response = client.get(path, headers=headers)
        assert response.status_code < 500, (path, response.status_code)
        yield path, response.status_code, _text(response)


def _text(response) -> str:
    """The body as text; a workbook's (XLSX, a zip) as the text of its parts."""
    if response.mimetype == XLSX_MIMETYPE:
        with zipfile.ZipFile(io.BytesIO(response.get_data())) as book:
            return "".join(book.read(name).decode() for name in book.namelist())
    return response.get_data(as_text=True)


def test_the_recipient_sees_only_what_consent_and_agreement_allow(app, client, world):
    s, ids = world
    searched = 0
    for path, _status, body in _bodies(app, client, s.balikpapan, ids):
        searched += 1
        for canary in ALL_CANARIES - RECIPIENT_MAY_SEE:
            # The appointment's location is the recipient's own entry: allowed on the referral.
            if canary == CANARY["address"] and path.startswith("/api/v1/referrals/"):
                continue
            assert canary not in body, (path, canary)
    assert searched > 10
    detail = client.get(f"/api/v1/referrals/{ids['referral_id']}", headers=s.balikpapan).get_json()
    assert detail["client"]["identity"]["full_name"] == CANARY["full_name"]
    assert "contact" not in detail["client"]
    assert "guardian" not in detail["client"]


def test_an_outsider_sees_nothing_of_it(app, client, world):
    s, ids = world
    for headers in (s.bontang, s.operator):
        for path, status, body in _bodies(app, client, headers, ids):
            for canary in ALL_CANARIES:
                assert canary not in body, (path, canary)
            if path.startswith(("/api/v1/referrals/", "/api/v1/clients/")):
                assert status in (403, 404), (path, status)


def test_the_events_feed_and_lists_hold_no_personal_data(app, client, world):
    s, _ids = world
    for headers in (s.ppu, s.balikpapan):
        for path in (
            "/api/v1/events",
            "/api/v1/referrals?box=sent",
            "/api/v1/referrals?box=received",
        ):
            body = client.get(path, headers=headers).get_data(as_text=True)
            for canary in ALL_CANARIES:
                assert canary not in body, (path, canary)


def test_withdrawal_cancels_and_hides_the_client_at_once(app, client, world):
    s, ids = world
    response = client.post(
        f"/api/v1/consents/{ids['consent_id']}/withdraw",
        json={"reason": "the mother withdrew consent"},
        headers=s.ppu,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    detail = client.get(f"/api/v1/referrals/{ids['referral_id']}", headers=s.balikpapan).get_json()
    assert detail["status"] == "cancelled"
    assert detail["status_reason"] == "consent_withdrawn"
    assert set(detail["client"]) == {"code", "demographics"}
    for path, _status, body in _bodies(app, client, s.balikpapan, ids):
        for canary in ALL_CANARIES - {CANARY["address"]}:
            assert canary not in body, (path, canary)
    events = client.get("/api/v1/events", headers=s.balikpapan).get_json()["items"]
    assert {"referral.cancelled", "consent.withdrawn"} <= {e["type"] for e in events}
    # The recipient's staff are e-mailed: the number and the reason, nothing personal.
    from sqlalchemy import select

    from referral_hub.delivery.models import Notification
    from referral_hub.extensions import db

    with app.app_context():
        notes = db.session.scalars(
            select(Notification).where(Notification.kind == "referral_cancelled")
        ).all()
        assert [(n.context["referral_number"], n.context["reason"]) for n in notes] == [
            (detail["number"], "consent_withdrawn")
        ]
        assert notes[0].organization_id == s.hub.org("uptd-ppa-balikpapan")["id"]
        for canary in ALL_CANARIES:
            assert canary not in repr(notes[0].context)
        db.session.remove()


def test_the_recipients_reads_are_listed_as_disclosures(app, client, world):
    s, ids = world
    client.get(f"/api/v1/referrals/{ids['referral_id']}", headers=s.balikpapan)
    listed = client.get(
        f"/api/v1/clients/{ids['client_id']}/disclosures", headers=s.ppu
    ).get_json()["items"]
    reads = [d for d in listed if d["organization"]["code"] == "uptd-ppa-balikpapan"]
    assert any(d["kind"] == "read" for d in reads), listed
    assert any(d["kind"] == "share" for d in reads), listed
    read = next(d for d in reads if d["kind"] == "read")
    assert set(read["categories"]) == {"identity", "case_summary"}
    assert read["basis"] == f"consent:{ids['consent_id']}"


def test_referral_text_is_encrypted_at_rest(app, world):
    from sqlalchemy import text

    from referral_hub.extensions import db

    with app.app_context():
        for table in ("referrals", "referral_events", "appointments"):
            rows = db.session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
            dump = repr(rows)
            for canary in ALL_CANARIES:
                assert canary not in dump, (table, canary)
        db.session.remove()


# --- an override waiting for its supervisor ---------------------------------------------------


@pytest.fixture
def draft_world(app, client, hub):
    """An override sent by PPU's machine client, sharing every category the agreement allows:
    a draft, which must reach the recipient in no way at all."""
    from tests.referrals_support import override_body

    s = Scenario(app, client, hub)
    draft = s.send(
        consent=None,
        **override_body(
            s,
            data_categories=["identity", "contact", "guardian", "case_summary", "health"],
            case_data={
                "case_summary": {
                    "violence_types": ["sexual"],
                    "chronology": CASE_CANARY["chronology"],
                },
                "health": {"notes": CASE_CANARY["health"]},
            },
        ),
    )
    assert draft["status"] == "draft"
    ids = {
        "referral_id": draft["id"],
        "client_id": s.client["id"],
        "consent_id": s.consent["id"],
        "agreement_id": s.agreement_id,
        "id_or_code": "uptd-ppa-ppu",
        "id": draft["id"],
    }
    return s, draft, ids


def test_a_draft_leaks_nothing_to_the_recipient(app, client, draft_world):
    s, draft, ids = draft_world
    searched = 0
    for headers in (s.balikpapan, s.bontang, s.operator):
        for path, status, body in _bodies(app, client, headers, ids):
            searched += 1
            for canary in ALL_CANARIES:
                assert canary not in body, (path, canary)
            if headers is s.operator and path.startswith("/api/v1/audit"):
                continue  # the hub operator audits the whole hub (no personal data there)
            # Not even that it exists: its number nowhere (lists, counts, events, audit
            # log), its id only echoed back in a 404 for the id the caller asked for.
            assert draft["number"] not in body, path
            if status != 404:
                assert draft["id"] not in body, (path, status)
            if path.startswith("/api/v1/referrals/"):
                assert status == 404, (path, status)
    assert searched > 30
    for path in ("/api/v1/referrals?box=received", "/api/v1/events", "/api/v1/audit"):
        body = client.get(path, headers=s.balikpapan).get_data(as_text=True)
        assert draft["id"] not in body, path


def test_a_draft_shares_nothing_and_tells_the_recipient_nothing(app, hub, draft_world):
    """No share, no e-mail, no event (so no webhook) for the recipient; declining it tells
    the sender alone."""
    from sqlalchemy import select

    from referral_hub.clients.models import Disclosure
    from referral_hub.delivery.models import Event, EventAudience, Notification
    from referral_hub.directory.operations import find_organization
    from referral_hub.extensions import db
    from tests.referrals_support import PPU, user_headers

    s, draft, _ids = draft_world
    supervisor = hub.user(PPU, "supervisor", "supervisor.ppu@test.example")
    declined = s.act(
        draft["id"],
        "decline-approval",
        user_headers(app, hub, PPU, supervisor["id"]),
        reason="Ask the mother first.",
    )
    assert declined.status_code == 200, declined.get_data(as_text=True)
    with app.app_context():
        recipient = find_organization("uptd-ppa-balikpapan").id
        assert db.session.scalars(select(Disclosure).where(Disclosure.kind == "share")).all() == []
        notes = select(Notification).where(Notification.organization_id == recipient)
        assert db.session.scalars(notes).all() == []
        told = (
            select(EventAudience)
            .join(Event)
            .where(EventAudience.organization_id == recipient, Event.subject_id == draft["id"])
        )
        assert db.session.scalars(told).all() == []
        db.session.remove()
    feed = s.http.get("/api/v1/events", headers=s.ppu).get_json()["items"]
    assert [e["type"] for e in feed if e["subject"]["id"] == draft["id"]] == ["referral.cancelled"]
    assert s.http.get(f"/api/v1/referrals/{draft['id']}", headers=s.balikpapan).status_code == 404
