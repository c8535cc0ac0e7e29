"""The demo agreements: the seeds' partnerships, in force, loaded once."""

from __future__ import annotations

from sqlalchemy import func, select

from referral_hub.agreements import operations as ops
from referral_hub.agreements.demo import DEMO_AGREEMENTS, load_demo_agreements
from referral_hub.agreements.models import Agreement
from referral_hub.extensions import db
from tests.agreements_support import actor


def _covered(org: str, service: str) -> set[str]:
    return {
        c.provider.code for c in ops.covering_agreements_for(actor(org).organization_id, service)
    }


def test_demo_agreements_are_in_force_and_loading_again_adds_nothing(app_ctx):
    first = load_demo_agreements()
    db.session.commit()
    assert len(first["agreements_created"]) == len(DEMO_AGREEMENTS)
    assert load_demo_agreements() == {"agreements_created": []}
    assert db.session.scalar(select(func.count()).select_from(Agreement)) == len(DEMO_AGREEMENTS)

    for agreement in db.session.scalars(select(Agreement)):
        assert agreement.number.startswith("DEMO/")
        assert ops.effective_status(agreement) == "active", agreement.number
        assert agreement.signed_party_ids == set(agreement.party_ids)
        assert all(s["name"] is None and s["title"] for s in agreement.signatories)

    # UPTD PPA PPU: police, prosecutor, courts, social service, and Balikpapan's psychologist.
    assert _covered("uptd-ppa-ppu", "psychological_counseling") == {"uptd-ppa-balikpapan"}
    for service, provider in (
        ("law_enforcement", "polres-ppu"),
        ("prosecution", "kejari-ppu"),
        ("court_process", "pn-penajam"),
        ("family_court", "pa-penajam"),
        ("temporary_shelter", "dinsos-ppu"),
    ):
        assert _covered("uptd-ppa-ppu", service) == {provider}
    # UPTD PPA Balikpapan: religious court, Ministry of Religious Affairs, LPSK.
    for service, provider in (
        ("family_court", "pa-balikpapan"),
        ("religious_counseling", "kemenag-balikpapan"),
        ("witness_protection", "lpsk"),
    ):
        assert _covered("uptd-ppa-balikpapan", service) == {provider}
    # Bontang only came to learn: nothing covers it.
    assert ops.covering_agreements_for(actor("uptd-ppa-bontang").organization_id) == []


def test_the_kukar_expert_contract_ends_within_30_days(app_ctx):
    load_demo_agreements()
    db.session.commit()
    expiring = db.session.scalars(
        ops.registry_query(actor("dp3a-kaltim"), expiring_within_days=30)
    ).all()
    assert [(a.kind, a.number) for a in expiring] == [("contract", "DEMO/KONTRAK/021/DP3A-KUKAR")]
    (contract,) = expiring
    assert (contract.expires_on - contract.effective_from).days + 1 == 91
    assert {p.organization.code for p in contract.parties} == {"dp3a-kukar", "uptd-ppa-kukar"}
    found = ops.sweep_agreement_expiry()
    assert found["expiring_30"] == [contract.id]
