"""The demo agreements: the seeds' partnerships, in force, loaded once."""

from __future__ import annotations

from sqlalchemy import func, select

from referral_hub.agreements import operations as ops
from referral_hub.agreements.demo import DEMO_AGREEMENTS, load_demo_agreements
from referral_hub.agreements.models import Agreement
from referral_hub.agreements.operations.terms import term_months
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
    # Three calendar months, first of a month to the end of this one.
    assert contract.effective_from.day == 1
    assert term_months(contract.effective_from, contract.expires_on) == 3
    assert contract.expires_on.month == ops.local_date().month
    assert {p.organization.code for p in contract.parties} == {"dp3a-kukar", "uptd-ppa-kukar"}
    found = ops.sweep_agreement_expiry()
    assert found["expiring_30"] == [contract.id]


def test_ppu_pks_with_polres_was_signed_on_paper_and_its_renewal_is_three_months(app_ctx):
    load_demo_agreements()
    db.session.commit()
    polres = db.session.scalar(
        select(Agreement).where(Agreement.number == "DEMO/KB/001/UPTDPPA-PPU")
    )
    how = {s.organization.code: s for s in polres.signatures}
    assert how["uptd-ppa-ppu"].method == "hub"
    paper = how["polres-ppu"]
    assert paper.method == "paper"
    assert paper.recorded_by.code == "uptd-ppa-ppu"
    assert paper.confirmation == "pending"
    assert paper.document.filename == "kesepakatan-bersama-ttd-polres.pdf"
    assert ops.effective_status(polres) == "active"

    kukar = db.session.scalar(
        select(Agreement).where(Agreement.number == "DEMO/KONTRAK/021/DP3A-KUKAR")
    )
    renewal = ops.renew_agreement(actor("uptd-ppa-kukar"), kukar.id)
    assert renewal.number == "DEMO/KONTRAK/022/DP3A-KUKAR"
    assert term_months(renewal.effective_from, renewal.expires_on) == 3
