"""Idempotency across app processes: two gunicorn instances on one PostgreSQL database receive
the same keyed referral at once, as a partner's retry races its first attempt after a timeout.

Exactly one referral is made; every other answer is 409 `idempotency-key-in-use` or the replay
of the first answer. The claim lives in the database, so the processes agree without talking.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select, text, update

from referral_hub.audit.models import AuditEntry
from referral_hub.clients.models import Disclosure
from referral_hub.db import utcnow
from referral_hub.delivery.models import Event
from referral_hub.extensions import db
from referral_hub.idempotency.models import IdempotencyKey
from referral_hub.referrals.models import Referral
from tests.delivery_support import wait_for, worker_env
from tests.functional.test_production_faults import Gunicorn
from tests.referrals_support import Scenario

#: Commits for real: web servers in other processes.
pytestmark = pytest.mark.commits

#: The audit chain's advisory lock (audit.operations._CHAIN_LOCK_KEY): every commit that
#: audits takes it, so holding it keeps a referral's request in flight, claim made, not done.
CHAIN_LOCK_KEY = 0x41554454


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres) -> None:
    if not is_postgres:
        pytest.skip("two app processes on one database: PostgreSQL")


@pytest.fixture
def webs(app, app_config, redis_url, tmp_path) -> Iterator[list[Gunicorn]]:
    """Two gunicorn instances (two sync workers each) on the test's database."""
    env = worker_env(app_config, redis_url)
    started = [Gunicorn(env, tmp_path / f"gunicorn-{n}.log") for n in range(2)]
    try:
        for web in started:
            web.wait_ready()
        yield started
    finally:
        for web in started:
            web.stop()


@pytest.fixture
def s(app, client, hub) -> Scenario:
    return Scenario(app, client, hub)


def _stored(app) -> dict[str, int]:
    with app.app_context():
        db.session.remove()
        found = {
            "referrals": db.session.scalar(select(func.count()).select_from(Referral)),
            "sent": db.session.scalar(
                select(func.count()).where(AuditEntry.action == "referral.sent")
            ),
            "shares": db.session.scalar(select(func.count()).where(Disclosure.kind == "share")),
            "events": db.session.scalar(
                select(func.count()).where(Event.type == "referral.requested")
            ),
        }
        db.session.remove()
    return found


@contextlib.contextmanager
def chain_held(database_url: str) -> Iterator[Any]:
    """Hold the audit chain's lock on a connection of our own until the block ends."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": CHAIN_LOCK_KEY})
            try:
                yield connection
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": CHAIN_LOCK_KEY})
    finally:
        engine.dispose()


def _waiting_on_the_chain(connection) -> bool:
    return bool(
        connection.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        ).scalar()
    )


def _post_in_thread(url: str, body: dict, headers: dict) -> tuple[threading.Thread, dict]:
    result: dict[str, Any] = {}

    def post() -> None:
        try:
            result["response"] = requests.post(url, json=body, headers=headers, timeout=60)
        except requests.RequestException as error:
            result["error"] = error

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread, result


def test_a_retry_on_another_process_while_the_first_runs_is_409_then_replayed(
    app, database_url, s, webs
):
    first_web, second_web = webs
    headers = {**s.ppu, "Idempotency-Key": "partner-retry-7"}
    body = s.body()
    with chain_held(database_url) as held:
        thread, first = _post_in_thread(first_web.url + "/api/v1/referrals", body, headers)
        # The first request has claimed the key and is inside its commit, waiting on the lock.
        wait_for(lambda: _waiting_on_the_chain(held), timeout=30, explain=first_web.log_text)
        twin = requests.post(
            second_web.url + "/api/v1/referrals", json=body, headers=headers, timeout=30
        )
        assert twin.status_code == 409, twin.text
        assert twin.json()["type"].endswith("/idempotency-key-in-use")
        assert twin.headers["Retry-After"]
    thread.join(60)
    assert first["response"].status_code == 201, first
    replay = requests.post(
        second_web.url + "/api/v1/referrals", json=body, headers=headers, timeout=30
    )
    assert replay.status_code == 201, replay.text
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first["response"].content
    assert replay.headers["Location"] == first["response"].headers["Location"]
    assert _stored(app) == {"referrals": 1, "sent": 1, "shares": 1, "events": 1}


def test_the_same_keyed_referral_sent_at_once_to_two_processes_is_made_once(app, s, webs):
    body = s.body()
    urls = [web.url + "/api/v1/referrals" for web in webs for _ in range(2)]
    rounds = 6
    for round_number in range(rounds):
        headers = {**s.ppu, "Idempotency-Key": f"race-{round_number}"}
        barrier = threading.Barrier(len(urls))
        answers: list[requests.Response | None] = [None] * len(urls)

        def post(index: int, url: str, headers=headers, barrier=barrier, answers=answers) -> None:
            session = requests.Session()
            session.get(url.rsplit("/api/", 1)[0] + "/healthz", timeout=10)  # connected first
            barrier.wait(30)
            answers[index] = session.post(url, json=body, headers=headers, timeout=60)

        threads = [
            threading.Thread(target=post, args=(i, url), daemon=True) for i, url in enumerate(urls)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        statuses = [a.status_code if a is not None else None for a in answers]
        made = [a for a in answers if a is not None and a.status_code == 201]
        fresh = [a for a in made if "Idempotent-Replayed" not in a.headers]
        assert len(fresh) == 1, (round_number, statuses, [a.text[:200] for a in answers if a])
        for answer in answers:
            assert answer is not None
            if answer.status_code == 409:
                assert answer.json()["type"].endswith("/idempotency-key-in-use")
            else:
                assert answer.status_code == 201, answer.text
                assert answer.content == fresh[0].content
        print(f"round {round_number}: {statuses}")
    assert _stored(app) == {"referrals": rounds, "sent": rounds, "shares": rounds, "events": rounds}


def test_a_process_killed_with_the_key_claimed_blocks_the_retry_only_for_its_lease(
    app, database_url, s, webs
):
    first_web, second_web = webs
    headers = {**s.ppu, "Idempotency-Key": "killed-mid-request"}
    body = s.body()
    with chain_held(database_url) as held:
        thread, first = _post_in_thread(first_web.url + "/api/v1/referrals", body, headers)
        wait_for(lambda: _waiting_on_the_chain(held), timeout=30, explain=first_web.log_text)
        first_web.stop()  # SIGKILL to the whole instance: its transaction dies with it
        thread.join(30)
        assert "error" in first
    assert _stored(app)["referrals"] == 0

    # The claim outlived the process: within its lease the retry is told to wait.
    retry = requests.post(
        second_web.url + "/api/v1/referrals", json=body, headers=headers, timeout=30
    )
    assert retry.status_code == 409, retry.text
    # Once the lease has run out (moved here instead of waiting a minute) it is taken over.
    with app.app_context():
        db.session.execute(update(IdempotencyKey).values(lease_expires_at=utcnow()))
        db.session.commit()
        db.session.remove()
    taken_over = requests.post(
        second_web.url + "/api/v1/referrals", json=body, headers=headers, timeout=30
    )
    assert taken_over.status_code == 201, taken_over.text
    assert "Idempotent-Replayed" not in taken_over.headers
    assert _stored(app) == {"referrals": 1, "sent": 1, "shares": 1, "events": 1}
