"""Nothing is lost when Redis, a partner's server or a worker fails: real redis-server, real
rq worker processes (`flask hub worker`), a real HTTP receiver on loopback."""

from __future__ import annotations

import threading
import time

import pytest
from redis import Redis
from sqlalchemy import func, select

from referral_hub.actors import Actor
from referral_hub.delivery.models import Event, WebhookDelivery
from referral_hub.delivery.operations import create_webhook
from referral_hub.delivery.outbox import emit
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from tests.delivery_support import (
    Receiver,
    RedisServer,
    WorkerProcess,
    redis_db_url,
    wait_for,
    worker_env,
)

#: Commits for real: worker processes and a receiver read what the tests write.
pytestmark = pytest.mark.commits

#: Short clocks so that a day of retries fits in seconds.
FAST = {
    "HUB_SCHEDULE_INTERVALS": "outbox-sweep=1,webhook-retries=1",
    "HUB_OUTBOX_SWEEP_AFTER": "1",
    "HUB_WEBHOOK_RETRY_SCHEDULE": "0.3",
    "HUB_WEBHOOK_RETRY_WINDOW": "3",
    "HUB_WEBHOOK_TIMEOUT": "1,1",
    "HUB_WEBHOOK_LEASE_MARGIN": "1",
}


@pytest.fixture
def queue_url(redis_url):
    """This package's Redis database (1), emptied first."""
    url = redis_db_url(redis_url, 1)
    Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def workers(app_config, tmp_path):
    """Start `flask hub worker` processes; all are stopped at the end of the test."""
    started: list[WorkerProcess] = []

    def start(redis: str, **extra: str) -> WorkerProcess:
        env = worker_env(app_config, redis, **{**FAST, **extra})
        log = tmp_path / f"worker-{len(started)}.log"
        started.append(WorkerProcess(env, log).start())
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def hub_app(app, monkeypatch):
    """The test's app, handing its jobs to Redis like a production web process."""
    with app.app_context():
        # Fresh connections: a pooled SQLite connection left with an unfinished statement
        # by an earlier test keeps an old snapshot and would never see the workers' writes.
        db.engine.dispose()

    def use(redis: str):
        monkeypatch.setitem(app.config, "HUB_REDIS_URL", redis)
        return app

    return use


def _subscribe(app, url: str, events: list[str] | None = None) -> str:
    """Balikpapan subscribes to what _emit sends: a worker starting also signs an audit
    checkpoint, an event to every organisation, which a subscription to all would get."""
    with app.app_context():
        bpp = find_organization("uptd-ppa-balikpapan").id
        actor = Actor(organization_id=bpp, kind="client", client_id="bpp-system")
        _hook, secret = create_webhook(actor, url=url, events=events or ["referral.requested"])
        db.session.commit()
        return secret


def _emit(app, label: str) -> str:
    with app.app_context():
        ppu = find_organization("uptd-ppa-ppu").id
        bpp = find_organization("uptd-ppa-balikpapan").id
        item = emit(
            Actor(organization_id=ppu, kind="client", client_id="ppu-system"),
            "referral.requested",
            subject_type="referral",
            subject_id=label,
            organizations=[ppu, bpp],
            data={"referral_id": label, "number": f"RUJ-{label}", "status": "requested"},
        )
        db.session.commit()
        return item.id


def _deliveries(app) -> list[WebhookDelivery]:
    with app.app_context():
        db.session.rollback()
        rows = db.session.scalars(select(WebhookDelivery)).all()
        for row in rows:
            _ = row.attempt_log  # load before the context ends
        db.session.expunge_all()
        return rows


def _explain(*workers: WorkerProcess, app=None) -> str:
    state = ""
    if app is not None:
        rows = _deliveries(app)
        state = "\n".join(
            f"delivery {r.id} {r.status} next={r.next_attempt_at} lease={r.lease_until} "
            f"attempts={[(a.status_code, a.error) for a in r.attempt_log]}"
            for r in rows
        )
        with app.app_context():
            state += f"\nevents: {db.session.scalars(select(Event.dispatched_at)).all()}"
    return "\n".join(w.log_text()[-1500:] for w in workers) + "\n" + state


def test_redis_down_at_commit_loses_nothing(app, hub_app, workers, tmp_path):
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        hub_app(redis.url)
        with Receiver() as receiver:
            _subscribe(app, receiver.url)
            redis.stop()
            event_id = _emit(app, "while-redis-was-down")  # the commit stands
            with app.app_context():
                stored = db.session.get(Event, event_id)
                assert stored.seq is not None
                assert stored.dispatched_at is None
            redis.start()
            worker = workers(redis.url)
            (request,) = wait_for(
                lambda: receiver.requests, timeout=30, explain=lambda: _explain(worker)
            )
            assert b"while-redis-was-down" in request["body"]
    finally:
        redis.stop()


def test_failing_receiver_is_retried_then_dead_then_redelivered_by_hand(
    app, client, hub, hub_app, workers, queue_url
):
    healed = threading.Event()

    def respond(number, body, headers):
        if healed.is_set():
            return 204
        if number == 1:
            return 500
        time.sleep(1.5)  # longer than the read timeout
        return 204

    hub_app(queue_url)
    with Receiver(respond) as receiver:
        _subscribe(app, receiver.url)
        worker = workers(queue_url)
        _emit(app, "flaky")

        def dead():
            rows = _deliveries(app)
            return rows if rows and rows[0].status == "dead" else None

        (delivery,) = wait_for(dead, timeout=30, explain=lambda: _explain(worker, app=app))
        attempts = delivery.attempt_log
        assert len(attempts) >= 2, _explain(worker)
        assert attempts[0].status_code == 500
        assert attempts[0].error == "HTTP 500"
        assert any((a.error or "").startswith("timeout") for a in attempts[1:])
        assert all(a.outcome == "failed" for a in attempts)

        healed.set()
        headers = hub.headers("uptd-ppa-balikpapan", "webhooks:write")
        response = client.post(
            f"/api/v1/webhooks/{delivery.webhook_id}/deliveries/{delivery.id}/redeliver",
            headers=headers,
        )
        assert response.status_code == 200

        def delivered():
            rows = _deliveries(app)
            return rows if rows[0].status == "delivered" else None

        (done,) = wait_for(delivered, timeout=20)
        assert done.attempt_log[-1].status_code == 204
        ids = {r["headers"]["webhook-id"] for r in receiver.requests}
        assert ids == {done.message_id}


def test_a_worker_killed_mid_delivery_is_taken_over_with_the_same_webhook_id(
    app, hub_app, workers, queue_url
):
    release = threading.Event()

    def respond(number, body, headers):
        if number == 1:
            release.wait(15)  # the first attempt hangs until its worker is dead
        return 204

    hub_app(queue_url)
    with Receiver(respond) as receiver:
        try:
            _subscribe(app, receiver.url)
            first = workers(queue_url, HUB_WEBHOOK_TIMEOUT="1,3", HUB_WEBHOOK_LEASE_MARGIN="0")
            _emit(app, "killed")
            wait_for(lambda: receiver.requests, timeout=20)
            first.kill_hard()
            second = workers(queue_url, HUB_WEBHOOK_TIMEOUT="1,3", HUB_WEBHOOK_LEASE_MARGIN="0")

            def delivered():
                rows = _deliveries(app)
                return rows if rows and rows[0].status == "delivered" else None

            (delivery,) = wait_for(delivered, timeout=30, explain=lambda: _explain(first, second))
        finally:
            release.set()
        assert len(receiver.requests) >= 2
        ids = [r["headers"]["webhook-id"] for r in receiver.requests]
        assert set(ids) == {delivery.message_id}
        assert receiver.requests[0]["body"] == receiver.requests[-1]["body"]
        # The dead worker's attempt is counted but, having never finished, not logged.
        assert delivery.attempts >= 2
        assert delivery.attempt_log[-1].status_code == 204


@pytest.mark.slow
def test_a_burst_of_1000_events_reaches_the_feed_once_and_the_webhook_at_least_once(
    app, client, hub, hub_app, workers, queue_url
):
    total = 1000
    hub_app(queue_url)
    with Receiver() as receiver:
        _subscribe(app, receiver.url)
        # Real timeouts and a real window: under load a request may take a while.
        realistic = {"HUB_WEBHOOK_TIMEOUT": "5,10", "HUB_WEBHOOK_RETRY_WINDOW": "120"}
        workers(queue_url, **realistic)
        workers(queue_url, **realistic)
        started = time.monotonic()

        with app.app_context():
            ppu = find_organization("uptd-ppa-ppu").id
            bpp = find_organization("uptd-ppa-balikpapan").id
        actor = Actor(organization_id=ppu, kind="client", client_id="ppu-system")

        def emit_many(offset: int, count: int) -> None:
            with app.app_context():
                for n in range(offset, offset + count):
                    label = f"b{n:04d}"
                    emit(
                        actor,
                        "referral.requested",
                        subject_type="referral",
                        subject_id=label,
                        organizations=[ppu, bpp],
                        data={"referral_id": label, "number": f"RUJ-{label}"},
                    )
                    db.session.commit()

        threads = [threading.Thread(target=emit_many, args=(i * 250, 250)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        committed = time.monotonic() - started

        def all_received():
            subjects = {b["data"]["referral_id"] for b in receiver.bodies()}
            return len(subjects) == total

        def progress() -> str:
            with app.app_context():
                db.session.rollback()
                events = db.session.scalar(select(func.count()).select_from(Event))
                undispatched = db.session.scalar(
                    select(func.count()).select_from(Event).where(Event.dispatched_at.is_(None))
                )
                statuses = db.session.execute(
                    select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
                ).all()
                errors = db.session.scalars(
                    select(WebhookDelivery.last_error)
                    .where(WebhookDelivery.status != "delivered")
                    .limit(3)
                ).all()
            return (
                f"committed in {committed:.1f}s; {events} events, {undispatched} undispatched, "
                f"deliveries {dict(statuses)} {errors}, {len(receiver.requests)} requests"
            )

        wait_for(all_received, timeout=50, interval=0.2, explain=progress)
        elapsed = time.monotonic() - started
        print(f"\nburst: {total} events committed in {committed:.1f}s, all at the webhook in "
              f"{elapsed:.1f}s; {len(receiver.requests)} requests")  # fmt: skip

        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Event)) == total
        headers = hub.headers("uptd-ppa-balikpapan", "events:read")
        seen, cursor = [], None
        while True:
            url = "/api/v1/events?limit=100" + (f"&after={cursor}" if cursor else "")
            body = client.get(url, headers=headers).get_json()
            seen += [item["subject"]["id"] for item in body["items"]]
            cursor = body["next_cursor"]
            if not body["has_more"]:
                break
        assert len(seen) == total
        assert len(set(seen)) == total
        # Each event's deliveries: one row, delivered, and its requests carry one webhook-id.
        rows = _deliveries(app)
        assert len(rows) == total
        assert {r.status for r in rows} == {"delivered"}
