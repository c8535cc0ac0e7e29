"""The demo clients: fictional, marked as demo, consented as the walkthrough needs, loaded once."""

from __future__ import annotations

from sqlalchemy import func, select

from referral_hub.clients import operations as ops
from referral_hub.clients.demo import load_demo_clients
from referral_hub.clients.models import Client, Consent
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from tests.clients_support import BALIKPAPAN, PPU


def test_demo_clients_load_once_and_are_marked(app_ctx):
    first = load_demo_clients()
    db.session.commit()
    assert len(first["clients_created"]) == 3
    assert first["consents_created"] == 3
    second = load_demo_clients()
    db.session.commit()
    assert second == {"clients_created": [], "consents_created": 0}
    assert db.session.scalar(select(func.count()).select_from(Client)) == 3
    clients = db.session.scalars(select(Client)).all()
    assert all("Demo" in c.full_name and c.nik.startswith("000000000000000") for c in clients)
    assert {c.organization.code for c in clients} == {PPU}


def test_the_demo_child_may_be_referred_to_balikpapan_for_counselling(app_ctx):
    load_demo_clients()
    db.session.commit()
    child = ops.find_by_nik(find_organization(PPU).id, "0000000000000001")
    assert child.is_child()
    consent = db.session.scalars(select(Consent).where(Consent.client_id == child.id)).one()
    assert (consent.given_by, consent.child_assent) == ("parent", True)
    assert not ops.consent_problems(
        consent,
        recipient_org_id=find_organization(BALIKPAPAN).id,
        service_code="psychological_counseling",
        categories=["identity", "case_summary"],
    )
    assert [
        p.slug
        for p in ops.consent_problems(
            consent,
            recipient_org_id=find_organization(BALIKPAPAN).id,
            service_code="psychological_counseling",
            categories=["contact"],
        )
    ] == ["data-category-not-allowed"]
