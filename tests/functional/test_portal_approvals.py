"""Menunggu persetujuan: a supervisor approves, or declines, the unit's waiting overrides.

The override here is sent by the unit's machine client (a token without a user), as the
issue describes: it waits as a draft until a supervisor of the unit, signed in, approves it
after seeing exactly what the recipient would see.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations import send_referral
from tests.clients_support import CANARY
from tests.portal_sender_support import (
    BALIKPAPAN,
    CHRONOLOGY,
    HEALTH,
    JUSTIFICATION,
    PPU,
    SENDER_REFERENCE,
    SERVICE,
    field_error,
    post,
    signed_in,
)
from tests.portal_sender_support import build_world as _build_world

#: What the override shares: identity and the case summary (not contact, guardian, health).
SHARED = (CANARY["full_name"], CANARY["nik"], CHRONOLOGY, CANARY["reason"])
NOT_SHARED = (
    CANARY["phone"],
    CANARY["address"],
    CANARY["guardian_name"],
    CANARY["guardian_phone"],
    HEALTH,
)
ALL = (*SHARED, *NOT_SHARED)


@pytest.fixture
def world(app):
    return _build_world(app)


def machine_draft(app, hub, world) -> dict[str, str]:
    """An override sent by PPU's machine client: a draft waiting for a supervisor."""
    creds = hub.oauth_client(PPU, "referrals:write")
    with app.app_context():
        org = find_organization(PPU)
        machine = Actor(
            org.id,
            client_id=creds["client_id"],
            kind="client",
            label="SIMFONI-PPA bridge",
            organization_type=org.type,
            scopes=frozenset({"referrals:write"}),
        )
        referral = send_referral(
            machine,
            {
                "client": world.client_id,
                "to": BALIKPAPAN,
                "service": SERVICE,
                "urgency": "urgent",
                "reason": CANARY["reason"],
                "legal_basis": "legal_obligation",
                "justification": JUSTIFICATION,
                "data_categories": ["identity", "case_summary"],
                "case_data": {
                    "case_summary": {"violence_types": ["sexual"], "chronology": CHRONOLOGY}
                },
                "sender_reference": SENDER_REFERENCE,
            },
        )
        db.session.commit()
        out = {"id": referral.id, "number": referral.number}
        db.session.remove()
        return out


def _stored(app, referral_id: str) -> Referral:
    with app.app_context():
        referral = db.session.scalar(select(Referral).where(Referral.id == referral_id))
        db.session.expunge(referral)
        return referral


def _section(html: str, heading_id: str) -> str:
    """The <section> labelled by `heading_id`."""
    match = re.search(
        rf'<section[^>]*aria-labelledby="{heading_id}"[^>]*>(.*?)</section>', html, re.S
    )
    assert match, heading_id
    return match.group(1)


def test_the_supervisor_sees_it_waiting_with_what_the_recipient_would_see(app, hub, world):
    draft = machine_draft(app, hub, world)
    supervisor = signed_in(app, hub, PPU, "supervisor")
    home = supervisor.get("/").get_data(as_text=True)
    assert re.search(
        r'href="/referrals/approvals">Menunggu persetujuan <span class="nav-count">1<', home
    )

    listing = supervisor.get("/referrals/approvals").get_data(as_text=True)
    assert draft["number"] in listing
    for canary in ALL:
        assert canary not in listing  # lines carry no personal data

    page = supervisor.get(f"/referrals/approvals/{draft['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    request = _section(html, "request-heading")
    assert JUSTIFICATION in request
    assert "Kewajiban hukum" in request
    assert "SIMFONI-PPA bridge" not in request  # the client's registered name, not the label
    assert "test client of uptd-ppa-ppu" in request
    preview = _section(html, "seen-heading")
    for canary in SHARED:
        assert canary in preview, canary
    for canary in (*NOT_SHARED, JUSTIFICATION, SENDER_REFERENCE):
        assert canary not in preview, canary
    for canary in NOT_SHARED:
        assert canary not in html, canary
    assert 'action="/referrals/approvals/' in html
    assert html.count('name="csrf_token"') >= 2

    # Approved, the recipient sees exactly the personal data the preview showed.
    assert post(supervisor, f"/referrals/approvals/{draft['id']}/approve", {}).status_code == 302
    recipient = signed_in(app, hub, BALIKPAPAN, "caseworker", "cw.bpp@test.example")
    seen = recipient.get(f"/referrals/received/{draft['id']}").get_data(as_text=True)
    shown_then = {c for c in ALL if c in preview}
    assert {c for c in ALL if c in seen} == shown_then


def test_approving_sends_it_to_the_recipient(app, hub, world):
    draft = machine_draft(app, hub, world)
    recipient = signed_in(app, hub, BALIKPAPAN, "caseworker", "cw.bpp@test.example")
    for path in (f"/referrals/received/{draft['id']}", f"/referrals/{draft['id']}"):
        assert recipient.get(path).status_code == 404, path
    assert draft["number"] not in recipient.get("/referrals/received").get_data(as_text=True)
    assert draft["number"] not in recipient.get("/").get_data(as_text=True)

    supervisor = signed_in(app, hub, PPU, "supervisor")
    done = post(supervisor, f"/referrals/approvals/{draft['id']}/approve", {})
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/referrals/{draft['id']}")
    detail = supervisor.get(done.headers["Location"]).get_data(as_text=True)
    assert "disetujui dan dikirim" in detail
    stored = _stored(app, draft["id"])
    assert (stored.status, stored.approval_status) == ("requested", "approved")
    assert stored.override_approved_by_id == supervisor.user["id"]
    assert draft["number"] in recipient.get("/referrals/received").get_data(as_text=True)
    assert recipient.get(f"/referrals/received/{draft['id']}").status_code == 200
    # Decided: the approval page sends the supervisor to the referral itself.
    again = supervisor.get(f"/referrals/approvals/{draft['id']}")
    assert again.status_code == 302
    assert "Menunggu persetujuan <span" not in supervisor.get("/").get_data(as_text=True)


def test_declining_needs_a_reason_and_cancels_it_unsent(app, hub, world):
    draft = machine_draft(app, hub, world)
    supervisor = signed_in(app, hub, PPU, "supervisor")
    url = f"/referrals/approvals/{draft['id']}/decline"
    empty = post(supervisor, url, {"decline_reason": "  "})
    assert empty.status_code == 422
    assert field_error(empty.get_data(as_text=True), "decline_reason")
    assert _stored(app, draft["id"]).status == "draft"
    done = post(supervisor, url, {"decline_reason": "Minta persetujuan ibunya dulu."})
    assert done.status_code == 302
    stored = _stored(app, draft["id"])
    assert (stored.status, stored.approval_status) == ("cancelled", "declined")
    detail = supervisor.get(f"/referrals/{draft['id']}").get_data(as_text=True)
    assert "Persetujuan ditolak oleh" in detail
    assert "Minta persetujuan ibunya dulu." in detail
    recipient = signed_in(app, hub, BALIKPAPAN, "caseworker", "cw.bpp@test.example")
    assert recipient.get(f"/referrals/received/{draft['id']}").status_code == 404


def test_a_caseworker_neither_sees_nor_decides_approvals(app, hub, world):
    draft = machine_draft(app, hub, world)
    caseworker = signed_in(app, hub, PPU, "caseworker")
    assert 'href="/referrals/approvals"' not in caseworker.get("/").get_data(as_text=True)
    for path in ("/referrals/approvals", f"/referrals/approvals/{draft['id']}"):
        assert caseworker.get(path).status_code == 403, path
    assert post(caseworker, f"/referrals/approvals/{draft['id']}/approve", {}).status_code == 403
    decline = post(
        caseworker, f"/referrals/approvals/{draft['id']}/decline", {"decline_reason": "no"}
    )
    assert decline.status_code == 403
    # The unit's own detail page tells the caseworker it waits, and offers no decision.
    detail = caseworker.get(f"/referrals/{draft['id']}").get_data(as_text=True)
    assert "Belum dikirim: menunggu persetujuan supervisor." in detail
    assert "Periksa dan putuskan" not in detail
    assert _stored(app, draft["id"]).status == "draft"


def test_another_units_supervisor_gets_404(app, hub, world):
    draft = machine_draft(app, hub, world)
    theirs = signed_in(app, hub, BALIKPAPAN, "supervisor", "sup.bpp@test.example")
    assert theirs.get(f"/referrals/approvals/{draft['id']}").status_code == 404
    assert post(theirs, f"/referrals/approvals/{draft['id']}/approve", {}).status_code == 404


def test_approving_without_the_csrf_token_is_refused(app, hub, world):
    draft = machine_draft(app, hub, world)
    supervisor = signed_in(app, hub, PPU, "supervisor")
    response = supervisor.post(f"/referrals/approvals/{draft['id']}/approve", data={})
    assert response.status_code == 400
    assert _stored(app, draft["id"]).status == "draft"


def test_an_agreement_ended_meanwhile_is_said_on_the_page(app, hub, world):
    from referral_hub.agreements.models import Agreement

    draft = machine_draft(app, hub, world)
    with app.app_context():
        # The end date passed; the expiry sweep has not run yet.
        agreement = db.session.get(Agreement, world.agreement_id)
        agreement.expires_on = dt.date.today() - dt.timedelta(days=2)
        db.session.commit()
    supervisor = signed_in(app, hub, PPU, "supervisor")
    refused = post(supervisor, f"/referrals/approvals/{draft['id']}/approve", {})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert "perjanjian" in html.lower()
    assert _stored(app, draft["id"]).status == "draft"


def test_the_page_is_in_english_too(app, hub, world):
    draft = machine_draft(app, hub, world)
    supervisor = signed_in(app, hub, PPU, "supervisor")
    post(supervisor, "/language", {"locale": "en", "next": "/"})
    html = supervisor.get(f"/referrals/approvals/{draft['id']}").get_data(as_text=True)
    assert "Awaiting approval" in html
    assert "Approve" in html
    assert "Decline approval" in html
