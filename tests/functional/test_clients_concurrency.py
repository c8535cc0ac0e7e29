"""Registrations at the same moment on PostgreSQL: distinct codes, one registration per NIK."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.clients.models import Client
from referral_hub.clients.operations import register_client
from referral_hub.extensions import db
from referral_hub.problems import Problem
from tests.clients_support import PPU, years_ago

#: Commits for real: concurrent writers on connections of their own.
pytestmark = pytest.mark.commits

THREADS = 6


def _register_at_once(app, niks: list[str | None]) -> list[object]:
    """Register one client per NIK, each in its own thread and session, released together."""
    barrier = threading.Barrier(len(niks))
    results: list[object] = [None] * len(niks)

    def work(index: int, nik: str | None) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                client = register_client(
                    Actor.system("tests"),
                    organization=PPU,
                    full_name=f"Klien {index}",
                    birth_date=years_ago(20),
                    sex="female",
                    domicile_region="64.09",
                    nik=nik,
                )
                db.session.commit()
                results[index] = client.code
            except Problem as problem:
                db.session.rollback()
                results[index] = problem
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i, n)) for i, n in enumerate(niks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("row locks and concurrent writers: PostgreSQL")


def test_clients_registered_at_once_get_distinct_consecutive_codes(app, postgres_only):
    codes = _register_at_once(app, [None] * THREADS)
    assert all(isinstance(c, str) for c in codes), codes
    assert len(set(codes)) == THREADS
    numbers = sorted(int(c.rsplit("-", 1)[1]) for c in codes)
    assert numbers == list(range(1, THREADS + 1))


def test_the_same_nik_registered_at_once_is_kept_once(app, postgres_only):
    results = _register_at_once(app, ["6409011234560031"] * 3)
    codes = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, Problem)]
    assert len(codes) == 1, results
    assert [p.slug for p in refused] == ["client-already-registered"] * 2
    with app.app_context():
        assert len(db.session.scalars(select(Client)).all()) == 1
