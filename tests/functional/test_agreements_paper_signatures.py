"""Paper signatures over HTTP: PPU records that Polres signed its PKS on paper, with the scan.

The rule: an administrator of another party (or of the hub operator) records a party's
paper signature with the signed scan; it counts toward activation; the party, once on the
hub, confirms it or disputes it, and a dispute suspends the agreement and tells the others.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from referral_hub.delivery.models import Notification
from referral_hub.extensions import db
from tests.agreements_support import BONTANG, OPERATOR, PPU, Tokens, as_json, content, today
from tests.conftest import problem
from tests.orgs import POLRES

URL = "/api/v1/agreements"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def tokens(hub) -> Tokens:
    return Tokens(hub)


def _polres_pks(**overrides) -> dict:
    return as_json(
        content(
            **{"number": "PKS/003/2026", **overrides},
            title="PKS penanganan laporan kekerasan (UPTD PPA PPU - Polres PPU)",
            parties=[PPU, POLRES],
            services=[{"service": "law_enforcement", "provider": POLRES}],
            signatories=[
                {"name": None, "title": "Kepala UPTD PPA PPU", "organization": PPU},
                {"name": None, "title": "Kapolres Penajam Paser Utara", "organization": POLRES},
            ],
        )
    )


@pytest.fixture
def draft(client, tokens) -> str:
    made = client.post(URL, json=_polres_pks(), headers=tokens(PPU))
    assert made.status_code == 201, made.get_data(as_text=True)
    return made.get_json()["id"]


def _scan(client, tokens, agreement_id, org=PPU, data=PDF) -> str:
    up = client.post(
        f"{URL}/{agreement_id}/documents",
        data={"file": (io.BytesIO(data), "pks-ttd-polres.pdf", "application/pdf")},
        content_type="multipart/form-data",
        headers=tokens(org),
    )
    assert up.status_code == 201, up.get_data(as_text=True)
    return up.get_json()["id"]


def _record(client, tokens, agreement_id, document, *, org=PPU, party=POLRES, **extra):
    body = {
        "organization": party,
        "signed_on": (today() - dt.timedelta(days=2)).isoformat(),
        "signatory_name": None,
        "signatory_title": "Kapolres Penajam Paser Utara",
        "document": document,
        **extra,
    }
    return client.post(f"{URL}/{agreement_id}/signatures", json=body, headers=tokens(org))


def _sign(client, tokens, agreement_id, org=PPU):
    response = client.post(f"{URL}/{agreement_id}/sign", json={}, headers=tokens(org))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_a_paper_signature_counts_and_the_agreement_shows_how_each_was_given(client, tokens, draft):
    _sign(client, tokens, draft)
    scan = _scan(client, tokens, draft)
    response = _record(client, tokens, draft, scan)
    assert response.status_code == 200, response.get_data(as_text=True)
    agreement = response.get_json()
    assert agreement["status"] == "active"
    by_party = {s["organization"]["code"]: s for s in agreement["signatures"]}
    assert by_party[PPU]["method"] == "hub"
    assert by_party[PPU]["recorded_by"] is None
    assert by_party[PPU]["confirmation"] is None
    paper = by_party[POLRES]
    assert paper["method"] == "paper"
    assert paper["recorded_by"]["code"] == PPU
    assert paper["document"] == scan
    assert paper["signed_on"] == (today() - dt.timedelta(days=2)).isoformat()
    assert paper["signatory_title"] == "Kapolres Penajam Paser Utara"
    assert paper["confirmation"]["state"] == "pending"
    # Audited for the parties; the scan's SHA-256 is in the record.
    history = client.get(f"{URL}/{draft}/history", headers=tokens(POLRES)).get_json()
    recorded = [e for e in history["items"] if e["action"] == "agreement.paper_signature_recorded"]
    assert len(recorded) == 1
    assert recorded[0]["detail"]["document"] == scan
    assert "agreement.activated" in [e["action"] for e in history["items"]]


def test_the_hub_operator_records_a_paper_signature_too(client, tokens, draft):
    _sign(client, tokens, draft)
    scan = _scan(client, tokens, draft)
    response = _record(client, tokens, draft, scan, org=OPERATOR)
    assert response.status_code == 200, response.get_data(as_text=True)
    paper = [s for s in response.get_json()["signatures"] if s["method"] == "paper"]
    assert paper[0]["recorded_by"]["code"] == OPERATOR


def test_the_hub_operator_uploads_the_scan_of_a_paper_signature_it_records(client, tokens, draft):
    """Whoever may record a paper signature may upload its scan; once every party has
    signed, there is none left to record and the operator attaches nothing."""
    _sign(client, tokens, draft)
    scan = _scan(client, tokens, draft, org=OPERATOR)
    response = _record(client, tokens, draft, scan, org=OPERATOR)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "active"
    late = client.post(
        f"{URL}/{draft}/documents",
        data={"file": (io.BytesIO(PDF), "lampiran.pdf", "application/pdf")},
        content_type="multipart/form-data",
        headers=tokens(OPERATOR),
    )
    assert late.status_code == 403
    assert problem(late)["type"].endswith("agreement-read-only")
    # A party still attaches in any status.
    assert _scan(client, tokens, draft, org=PPU)


def test_an_outsider_uploads_no_scan(client, tokens, draft):
    refused = client.post(
        f"{URL}/{draft}/documents",
        data={"file": (io.BytesIO(PDF), "pks.pdf", "application/pdf")},
        content_type="multipart/form-data",
        headers=tokens(BONTANG),
    )
    assert refused.status_code == 404


def test_own_party_on_paper_is_refused_a_party_on_the_hub_signs_there(client, tokens, draft):
    scan = _scan(client, tokens, draft)
    refused = _record(client, tokens, draft, scan, party=PPU)
    assert refused.status_code == 422
    assert problem(refused)["type"].endswith("/own-signature-on-paper")


def test_an_organisation_not_in_the_agreement_is_refused(client, tokens, draft):
    scan = _scan(client, tokens, draft)
    refused = _record(client, tokens, draft, scan, party=BONTANG)
    assert refused.status_code == 422
    body = problem(refused)
    assert body["type"].endswith("/not-a-party")
    assert "organization" in body["errors"]


def test_a_non_party_cannot_record_nor_see(client, tokens, draft):
    scan = _scan(client, tokens, draft)
    refused = _record(client, tokens, draft, scan, org=BONTANG)
    assert refused.status_code == 404


def test_recording_twice_is_refused(client, tokens, draft):
    scan = _scan(client, tokens, draft)
    assert _record(client, tokens, draft, scan).status_code == 200
    again = _record(client, tokens, draft, scan)
    assert again.status_code == 409
    assert problem(again)["type"].endswith("/party-already-signed")
    # Nor may the party then sign on the hub over it.
    over = client.post(f"{URL}/{draft}/sign", json={}, headers=tokens(POLRES))
    assert over.status_code == 409


def test_the_scan_must_be_a_pdf_of_this_agreement(client, tokens, draft):
    not_pdf = client.post(
        f"{URL}/{draft}/documents",
        data={"file": (io.BytesIO(b"GIF89a not a pdf"), "scan.pdf", "application/pdf")},
        content_type="multipart/form-data",
        headers=tokens(PPU),
    )
    assert not_pdf.status_code == 422
    other = client.post(URL, json=_polres_pks(number="PKS/009/2026"), headers=tokens(PPU))
    foreign_scan = _scan(client, tokens, other.get_json()["id"])
    refused = _record(client, tokens, draft, foreign_scan)
    assert refused.status_code == 422
    assert "document" in problem(refused)["errors"]
    missing = _record(client, tokens, draft, "nope")
    assert missing.status_code == 422


def test_a_date_on_paper_in_the_future_is_refused(client, tokens, draft):
    scan = _scan(client, tokens, draft)
    refused = _record(
        client, tokens, draft, scan, signed_on=(today() + dt.timedelta(days=1)).isoformat()
    )
    assert refused.status_code == 422
    assert "signed_on" in problem(refused)["errors"]


def test_the_scan_is_readable_by_the_parties_and_the_operator_only(client, tokens, draft):
    scan = _scan(client, tokens, draft)
    _record(client, tokens, draft, scan)
    for org, status in ((PPU, 200), (POLRES, 200), (OPERATOR, 200), (BONTANG, 404)):
        got = client.get(f"{URL}/{draft}/documents/{scan}", headers=tokens(org, "agreements:read"))
        assert got.status_code == status, org


def test_the_party_confirms_its_paper_signature(client, tokens, draft):
    _sign(client, tokens, draft)
    _record(client, tokens, draft, _scan(client, tokens, draft))
    # Another party may not answer for Polres.
    refused = client.post(f"{URL}/{draft}/signatures/{POLRES}/confirm", headers=tokens(PPU))
    assert refused.status_code == 403
    assert problem(refused)["type"].endswith("/not-your-signature")
    confirmed = client.post(f"{URL}/{draft}/signatures/{POLRES}/confirm", headers=tokens(POLRES))
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    paper = next(s for s in confirmed.get_json()["signatures"] if s["method"] == "paper")
    assert paper["confirmation"]["state"] == "confirmed"
    assert confirmed.get_json()["status"] == "active"
    again = client.post(
        f"{URL}/{draft}/signatures/{POLRES}/dispute", json={"reason": "x"}, headers=tokens(POLRES)
    )
    assert again.status_code == 409


def test_a_dispute_suspends_the_agreement_and_tells_the_other_party(app, client, tokens, draft):
    _sign(client, tokens, draft)
    _record(client, tokens, draft, _scan(client, tokens, draft))
    stranger = client.post(
        f"{URL}/{draft}/signatures/{POLRES}/dispute",
        json={"reason": "bukan tanda tangan kami"},
        headers=tokens(PPU),
    )
    assert stranger.status_code == 403
    outsider = client.post(
        f"{URL}/{draft}/signatures/{POLRES}/dispute",
        json={"reason": "bukan tanda tangan kami"},
        headers=tokens(BONTANG),
    )
    assert outsider.status_code == 404
    no_reason = client.post(
        f"{URL}/{draft}/signatures/{POLRES}/dispute", json={}, headers=tokens(POLRES)
    )
    assert no_reason.status_code == 422
    disputed = client.post(
        f"{URL}/{draft}/signatures/{POLRES}/dispute",
        json={"reason": "Kapolres tidak pernah menandatangani naskah ini"},
        headers=tokens(POLRES),
    )
    assert disputed.status_code == 200, disputed.get_data(as_text=True)
    body = disputed.get_json()
    assert body["status"] == "suspended"
    assert body["status_reason"] == "Kapolres tidak pernah menandatangani naskah ini"
    assert [p["signed"] for p in body["parties"] if p["code"] == POLRES] == [False]
    # Not resumed while the dispute stands.
    resumed = client.post(f"{URL}/{draft}/resume", json={}, headers=tokens(PPU))
    assert resumed.status_code == 409
    assert problem(resumed)["type"].endswith("/signature-disputed")
    with app.app_context():
        notes = db.session.scalars(
            select(Notification).where(Notification.kind == "signature_disputed")
        ).all()
        assert [n.context["agreement_number"] for n in notes] == ["PKS/003/2026"]
    history = client.get(f"{URL}/{draft}/history", headers=tokens(PPU)).get_json()
    actions = [e["action"] for e in history["items"]]
    assert "agreement.paper_signature_disputed" in actions
    assert "agreement.suspended" in actions
    # Polres settles it by confirming; then the parties may resume.
    confirmed = client.post(f"{URL}/{draft}/signatures/{POLRES}/confirm", headers=tokens(POLRES))
    assert confirmed.status_code == 200
    resumed = client.post(f"{URL}/{draft}/resume", json={}, headers=tokens(PPU))
    assert resumed.status_code == 200
    assert resumed.get_json()["status"] == "active"


def test_a_dispute_in_a_draft_leaves_the_party_awaited(client, tokens, draft):
    _record(client, tokens, draft, _scan(client, tokens, draft))
    disputed = client.post(
        f"{URL}/{draft}/signatures/{POLRES}/dispute",
        json={"reason": "belum ditandatangani"},
        headers=tokens(POLRES),
    )
    assert disputed.status_code == 200
    body = disputed.get_json()
    assert body["status"] == "draft"
    assert [o["code"] for o in body["awaiting_signature_from"]] == [PPU, POLRES]
    _sign(client, tokens, draft)
    assert client.get(f"{URL}/{draft}", headers=tokens(PPU)).get_json()["status"] == "draft"


def test_the_signed_event_names_the_party_and_the_method(app, client, tokens, draft):
    from referral_hub.delivery.models import Event

    _sign(client, tokens, draft)
    _record(client, tokens, draft, _scan(client, tokens, draft))
    with app.app_context():
        events = db.session.scalars(
            select(Event).where(Event.type == "agreement.signed").order_by(Event.occurred_at)
        ).all()
        last = events[-1].data
        assert last["signed_by"] == POLRES
        assert last["signature_method"] == "paper"
