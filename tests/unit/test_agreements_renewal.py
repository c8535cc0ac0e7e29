"""Renewal: a new version that supersedes the old agreement once it is signed and in force."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from referral_hub.agreements import operations as ops
from referral_hub.agreements.operations.terms import renewal_term
from referral_hub.audit.models import AuditEntry
from referral_hub.clock import hub_zone
from referral_hub.extensions import db
from referral_hub.problems import Problem
from tests.agreements_support import (
    BALIKPAPAN,
    PPU,
    actor,
    build,
    content,
    sign_all,
    stored,
    today,
)


def _covering() -> list[str]:
    ppu, balikpapan = actor(PPU).organization_id, actor(BALIKPAPAN).organization_id
    return [
        a.id for a in ops.active_agreements_covering(ppu, balikpapan, "psychological_counseling")
    ]


def test_renewal_copies_the_content_and_follows_on_by_default(app_ctx):
    old_id = build("active", response_hours=48)
    old = stored(old_id)
    renewal = ops.renew_agreement(actor(BALIKPAPAN), old_id)
    db.session.commit()
    assert renewal.version == 2
    assert renewal.supersedes_id == old_id
    # The next number in the sequence, never the same number "(versi 2)".
    assert renewal.number == "TEST/PKS/002"
    assert renewal.response_hours == 48
    assert renewal.party_ids == old.party_ids
    assert [(s.service_code, s.provider_id) for s in renewal.services] == [
        (s.service_code, s.provider_id) for s in old.services
    ]
    assert renewal.effective_from == old.expires_on + dt.timedelta(days=1)
    assert (renewal.effective_from, renewal.expires_on) == renewal_term(
        old.effective_from, old.expires_on, renewal.effective_from
    )
    assert renewal.signatures == []
    assert ops.content_sha256(renewal) != ops.content_sha256(old)


def test_the_old_agreement_ends_when_the_renewal_comes_into_force(app_ctx):
    old_id = build("active")
    renewal = ops.renew_agreement(
        actor(PPU), old_id, {"effective_from": today() + dt.timedelta(days=5)}
    )
    sign_all(renewal.id)
    db.session.commit()
    # Signed but not yet in force: the old one still covers, and only it.
    assert ops.effective_status(stored(renewal.id)) == "signed"
    assert _covering() == [old_id]

    start = dt.datetime.combine(today() + dt.timedelta(days=5), dt.time(0, 1), tzinfo=hub_zone())
    with time_machine.travel(start, tick=False):
        # No sweep has run: the effective statuses already say so.
        assert ops.effective_status(stored(old_id)) == "superseded"
        assert _covering() == [renewal.id]
        found = ops.sweep_agreement_expiry()
        db.session.commit()
        assert found["superseded"] == [old_id]
        assert found["activated"] == [renewal.id]
        assert stored(old_id).status == "superseded"
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == old_id)
    ).all()
    assert "agreement.renewed" in actions
    assert "agreement.superseded" in actions


def test_a_renewal_in_force_at_once_supersedes_at_signing(app_ctx):
    old_id = build("active")
    renewal = ops.renew_agreement(actor(PPU), old_id, {"effective_from": today()})
    sign_all(renewal.id)
    db.session.commit()
    assert stored(old_id).status == "superseded"
    assert stored(old_id).ended_at is not None
    assert _covering() == [renewal.id]


def test_a_renewal_withdrawn_before_its_start_leaves_the_old_one_in_force(app_ctx):
    old_id = build("active")
    renewal = ops.renew_agreement(
        actor(PPU), old_id, {"effective_from": today() + dt.timedelta(days=3)}
    )
    sign_all(renewal.id)
    ops.terminate_agreement(actor(BALIKPAPAN), renewal.id, reason="terms not agreed")
    db.session.commit()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=4)
    with time_machine.travel(later, tick=False):
        assert ops.effective_status(stored(old_id)) == "active"
        assert _covering() == [old_id]
    # With that renewal withdrawn, the agreement can be renewed again.
    again = ops.renew_agreement(actor(PPU), old_id)
    assert again.version == 2


def test_one_open_renewal_at_a_time(app_ctx):
    old_id = build("active")
    first = ops.renew_agreement(actor(PPU), old_id)
    db.session.commit()
    with pytest.raises(Problem) as refused:
        ops.renew_agreement(actor(BALIKPAPAN), old_id)
    assert (refused.value.status, refused.value.slug) == (409, "already-renewed")
    assert refused.value.extra["renewal"] == first.id


def test_a_renewal_may_not_take_another_agreements_number(app_ctx):
    build("active", number="PKS/A")
    other_id = build("active", number="PKS/B")
    with pytest.raises(Problem) as refused:
        ops.renew_agreement(actor(PPU), other_id, {"number": "pks/a"})
    assert (refused.value.status, refused.value.slug) == (409, "duplicate-agreement-number")
    assert "number" in refused.value.errors
    renewal = ops.renew_agreement(actor(PPU), other_id, {"number": "PKS/B-2027"})
    assert renewal.number == "PKS/B-2027"


def test_renewal_parties_stay_the_same_and_the_caller_must_be_one(app_ctx):
    old_id = build("active")
    with pytest.raises(Problem) as refused:
        ops.renew_agreement(actor("uptd-ppa-bontang"), old_id)
    assert refused.value.status == 404
    with pytest.raises(Problem) as refused:
        ops.renew_agreement(actor(PPU), old_id, {"expires_on": today() - dt.timedelta(days=1)})
    assert refused.value.status == 422
    assert "expires_on" in refused.value.errors


def test_numbers_are_compared_without_case_or_spaces(app_ctx):
    ops.create_agreement(actor(PPU), content(number="440 / 12 / PKS"))
    db.session.commit()
    with pytest.raises(Problem) as refused:
        ops.create_agreement(actor(PPU), content(number="440/12/pks"))
    assert refused.value.status == 409


def test_the_sweep_reports_a_predecessor_ended_by_its_renewal_in_any_order(app_ctx):
    old_id = build("active")
    start = today() + dt.timedelta(days=5)
    # A short renewal is swept before the agreement it renews (earlier end date).
    renewal = ops.renew_agreement(
        actor(PPU),
        old_id,
        {"effective_from": start, "expires_on": start + dt.timedelta(days=60)},
    )
    sign_all(renewal.id)
    db.session.commit()
    found = ops.sweep_agreement_expiry(dt.datetime.combine(start, dt.time(3), tzinfo=hub_zone()))
    assert found["activated"] == [renewal.id]
    assert found["superseded"] == [old_id]
    assert stored(old_id).status == "superseded"


def test_a_three_monthly_contract_is_renewed_for_three_months_under_the_next_number(app_ctx):
    # Kukar's expert contract, 2026-11-01 to 2027-01-31, renewed while in force.
    with time_machine.travel(dt.datetime(2026, 12, 2, 4, tzinfo=dt.UTC), tick=False):
        old_id = build(
            "active",
            number="KONTRAK/003/2026",
            effective_from=dt.date(2026, 11, 1),
            expires_on=dt.date(2027, 1, 31),
        )
        renewal = ops.renew_agreement(actor(PPU), old_id)
        db.session.commit()
    assert (renewal.effective_from, renewal.expires_on) == (
        dt.date(2027, 2, 1),
        dt.date(2027, 4, 30),
    )
    assert renewal.number == "KONTRAK/004/2027"
    assert renewal.version == 2


def test_the_proposed_number_skips_one_already_taken_by_the_same_parties(app_ctx):
    build("active", number="PKS/004")
    old_id = build("active", number="PKS/003")
    renewal = ops.renew_agreement(actor(PPU), old_id)
    assert renewal.number == "PKS/005"
