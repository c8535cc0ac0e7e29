"""Expiry holds at the moment of use (frozen clock), and the sweep that writes it down."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from referral_hub.agreements import operations as ops
from referral_hub.agreements.models import STATUSES, Agreement
from referral_hub.agreements.signals import agreement_changed
from referral_hub.audit.models import AuditEntry
from referral_hub.clock import hub_zone
from referral_hub.db import utcnow
from referral_hub.extensions import db
from tests.agreements_support import BALIKPAPAN, PPU, actor, build, content, sign_all, stored

WITA = hub_zone()  # the default zone, Asia/Makassar


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=WITA)


def _ids(code: str) -> str:
    return actor(code).organization_id


def test_an_agreement_past_its_end_covers_nothing_without_any_sweep(app_ctx):
    agreement_id = build("active")
    last_day = stored(agreement_id).expires_on
    ppu, balikpapan = _ids(PPU), _ids(BALIKPAPAN)

    with time_machine.travel(_at(last_day, 23, 59), tick=False):
        assert [
            a.id
            for a in ops.active_agreements_covering(
                ppu, balikpapan, "psychological_counseling", utcnow()
            )
        ] == [agreement_id]
        assert ops.effective_status(stored(agreement_id)) == "active"

    with time_machine.travel(_at(last_day + dt.timedelta(days=1), 0, 0), tick=False):
        agreement = stored(agreement_id)
        assert agreement.status == "active"  # nothing wrote the expiry down ...
        assert ops.effective_status(agreement) == "expired"  # ... yet it holds
        assert not ops.covers_at(agreement, utcnow())
        assert (
            ops.active_agreements_covering(ppu, balikpapan, "psychological_counseling", utcnow())
            == []
        )
        assert ops.covering_agreements_for(ppu, "psychological_counseling") == []
        listed = db.session.scalars(ops.registry_query(actor(PPU), status="expired")).all()
        assert [a.id for a in listed] == [agreement_id]


def test_the_use_time_is_what_counts_not_the_time_of_the_question(app_ctx):
    agreement_id = build("active")
    agreement = stored(agreement_id)
    ppu, balikpapan = _ids(PPU), _ids(BALIKPAPAN)
    after_end = _at(agreement.expires_on + dt.timedelta(days=1), 9)
    assert (
        ops.active_agreements_covering(ppu, balikpapan, "psychological_counseling", after_end) == []
    )
    assert ops.effective_status(agreement, after_end) == "expired"
    before_start = _at(agreement.effective_from - dt.timedelta(days=1), 9)
    assert ops.effective_status(agreement, before_start) == "signed"


def test_coverage_needs_the_recipient_to_be_the_provider(app_ctx):
    build("active")
    ppu, balikpapan = _ids(PPU), _ids(BALIKPAPAN)
    # Balikpapan provides counselling to PPU, not the other way round.
    assert ops.active_agreements_covering(balikpapan, ppu, "psychological_counseling") == []
    assert ops.active_agreements_covering(ppu, balikpapan, "legal_aid") == []
    assert len(ops.active_agreements_covering(ppu, balikpapan, "psychological_counseling")) == 1


def test_a_signed_agreement_comes_into_force_on_its_start_date_by_itself(app_ctx):
    agreement_id = build("signed")
    start = stored(agreement_id).effective_from
    ppu, balikpapan = _ids(PPU), _ids(BALIKPAPAN)
    with time_machine.travel(_at(start - dt.timedelta(days=1), 23, 59), tick=False):
        assert not ops.active_agreements_covering(ppu, balikpapan, "psychological_counseling")
    with time_machine.travel(_at(start, 0, 1), tick=False):
        assert ops.active_agreements_covering(ppu, balikpapan, "psychological_counseling")


def test_suspension_stops_coverage_and_resumption_restores_it(app_ctx):
    agreement_id = build("suspended")
    ppu, balikpapan = _ids(PPU), _ids(BALIKPAPAN)
    assert not ops.active_agreements_covering(ppu, balikpapan, "psychological_counseling")
    ops.resume_agreement(actor(BALIKPAPAN), agreement_id)
    db.session.commit()
    assert ops.active_agreements_covering(ppu, balikpapan, "psychological_counseling")


def test_sweep_writes_expiry_and_activation_down_once(app_ctx):
    seen: list[str] = []
    listener = lambda agreement, actor, how: seen.append(how)  # noqa: E731
    expiring = build("active")
    starting = build("signed", number="TEST/PKS/002")
    end = stored(expiring).expires_on
    start = stored(starting).effective_from
    with agreement_changed.connected_to(listener):
        found = ops.sweep_agreement_expiry(_at(start, 6))
        db.session.commit()
        assert found["activated"] == [starting]
        assert found["expired"] == []
        assert stored(starting).status == "active"
        assert ops.sweep_agreement_expiry(_at(start, 7))["activated"] == []

        found = ops.sweep_agreement_expiry(_at(end + dt.timedelta(days=1), 1))
        db.session.commit()
        assert found["expired"] == [expiring]
        assert stored(expiring).status == "expired"
        assert stored(expiring).ended_at == ops.start_of_day(end + dt.timedelta(days=1))
        again = ops.sweep_agreement_expiry(_at(end + dt.timedelta(days=2), 1))
        assert again["expired"] == []
    assert seen.count("agreement.activated") == 1
    assert seen.count("agreement.expired") == 1
    expired_entries = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.object_id == expiring, AuditEntry.action == "agreement.expired"
        )
    ).all()
    # Recorded by the hub itself, once, with a copy so that each party sees it.
    assert len([e for e in expired_entries if "copy_for" not in e.detail]) == 1
    assert {e.subject_organization_id for e in expired_entries} == {
        _ids(PPU),
        _ids(BALIKPAPAN),
    }


def test_sweep_announces_each_expiry_window_once(app_ctx):
    agreement_id = build("active")
    end = stored(agreement_id).expires_on
    reported = []
    for days_left in (45, 31, 30, 29, 12, 8, 7, 6, 1, 0):
        found = ops.sweep_agreement_expiry(_at(end - dt.timedelta(days=days_left), 8))
        db.session.commit()
        for window in ("expiring_30", "expiring_7"):
            if agreement_id in found[window]:
                reported.append((days_left, window))
    assert reported == [(30, "expiring_30"), (7, "expiring_7")]
    assert stored(agreement_id).expiry_notice_days == 7


def test_sweep_goes_straight_to_the_7_day_window_when_that_is_where_it_is(app_ctx):
    agreement_id = build("active")
    end = stored(agreement_id).expires_on
    found = ops.sweep_agreement_expiry(_at(end - dt.timedelta(days=5), 8))
    assert found["expiring_7"] == [agreement_id]
    assert found["expiring_30"] == []


def test_registry_status_filter_agrees_with_effective_status(app_ctx):
    ids = {status: build(status, number=f"TEST/{status}") for status in STATUSES}
    # The renewal that superseded the agreement built as "superseded" is active itself.
    renewal = db.session.scalar(
        select(Agreement.id).where(Agreement.supersedes_id == ids["superseded"])
    )
    agreements = {a.id: a for a in db.session.scalars(select(Agreement))}
    probe_days = [ops.local_date() + dt.timedelta(days=d) for d in (-500, -30, 0, 9, 10, 400)]
    for day in probe_days:
        for status in STATUSES:
            by_sql = set(
                db.session.scalars(
                    select(Agreement.id).where(ops.effective_status_clause(status, day))
                )
            )
            by_python = {i for i, a in agreements.items() if ops.effective_status(a, day) == status}
            assert by_sql == by_python, (day, status)
    assert ops.effective_status(agreements[renewal]) == "active"
    assert ops.effective_status(agreements[ids["superseded"]]) == "superseded"


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="naive"):
        ops.local_date(dt.datetime(2026, 1, 1))


def test_a_renewal_that_was_signed_late_still_supersedes_an_expired_agreement(app_ctx):
    old = build("expired")
    renewal = ops.renew_agreement(actor(PPU), old)
    sign_all(renewal.id)
    db.session.commit()
    assert ops.effective_status(stored(old)) == "superseded"
    assert stored(old).status == "superseded"
    ppu, balikpapan = _ids(PPU), _ids(BALIKPAPAN)
    assert [
        a.id for a in ops.active_agreements_covering(ppu, balikpapan, "psychological_counseling")
    ] == [renewal.id]


def test_content_hash_is_stable_and_covers_the_content(app_ctx):
    agreement = ops.create_agreement(actor(PPU), content())
    first = ops.content_sha256(agreement)
    assert first == ops.content_sha256(agreement)
    agreement.response_hours = 48
    assert ops.content_sha256(agreement) != first
