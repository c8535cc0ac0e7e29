"""Two parties signing at the same moment, on PostgreSQL with real concurrent transactions."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from referral_hub.agreements import operations as ops
from referral_hub.agreements.signals import agreement_changed
from referral_hub.audit.models import AuditEntry
from referral_hub.extensions import db
from referral_hub.problems import Problem
from tests.agreements_support import BALIKPAPAN, PPU, actor, build, stored

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.commits,
]  # concurrent writers on connections of their own


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip(
            "needs PostgreSQL: SQLite runs one writer at a time, so signatures cannot overlap"
        )


def _sign_together(app, agreement_id: str, codes: tuple[str, str]) -> list[BaseException]:
    """Sign from two threads released together; each holds its transaction open a moment."""
    barrier = threading.Barrier(len(codes))
    failures: list[BaseException] = []

    def sign(code: str) -> None:
        with app.app_context():
            who = actor(code)
            barrier.wait()
            try:
                ops.sign_agreement(who, agreement_id)
                db.session.commit()
            except Exception as error:
                db.session.rollback()
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sign, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return failures


@pytest.fixture
def slow_signing():
    """Keep each signing transaction open a little so the two surely overlap."""

    def linger(agreement, *, actor, how):
        if how == "agreement.signed":
            time.sleep(0.3)

    with agreement_changed.connected_to(linger):
        yield


def test_two_parties_signing_at_once_both_count_and_activate_once(app, postgres_only, slow_signing):
    activations: list[str] = []
    listener = lambda agreement, actor, how: (  # noqa: E731
        activations.append(agreement.id) if how == "agreement.activated" else None
    )
    with app.app_context():
        agreement_id = build("draft")
    with agreement_changed.connected_to(listener):
        failures = _sign_together(app, agreement_id, (PPU, BALIKPAPAN))
    assert failures == []
    assert activations == [agreement_id]
    with app.app_context():
        agreement = stored(agreement_id)
        assert {s.organization.code for s in agreement.signatures} == {PPU, BALIKPAPAN}
        assert agreement.status == "active"
        entries = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == agreement_id, AuditEntry.action == "agreement.activated"
            )
        ).all()
        assert len(entries) == 1
        signed = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == agreement_id, AuditEntry.action == "agreement.signed"
            )
        ).all()
        assert len(signed) == 2


def test_one_party_signing_twice_at_once_signs_once(app, postgres_only, slow_signing):
    with app.app_context():
        agreement_id = build("draft")
    failures = _sign_together(app, agreement_id, (PPU, PPU))
    assert len(failures) == 1
    assert isinstance(failures[0], Problem)
    assert (failures[0].status, failures[0].slug) == (409, "already-signed")
    with app.app_context():
        agreement = stored(agreement_id)
        assert [s.organization.code for s in agreement.signatures] == [PPU]
        assert agreement.status == "draft"
