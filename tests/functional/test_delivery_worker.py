"""`flask hub worker` runs each job in its own process, inside the app context (no fork per
job), takes webhook work before mail, still stops a job that overruns its timeout, and its
jobs' signals reach the receivers its app connected."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time

import pytest
import time_machine
from flask import current_app
from redis import Redis
from rq import Queue
from rq.job import JobStatus

from referral_hub import create_app
from referral_hub.agreements import operations as agreements
from referral_hub.agreements.signals import agreement_ended
from referral_hub.delivery import tasks
from referral_hub.delivery.jobs import rq_enqueue
from referral_hub.delivery.queues import MAIL, QUEUES, WEBHOOKS
from referral_hub.delivery.schedule import PERIODIC
from referral_hub.delivery.worker import HubWorker
from referral_hub.extensions import db
from referral_hub.receivers import connect_receivers
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations import cancel_referrals_under_ended_agreement
from tests.agreements_support import stored
from tests.delivery_support import redis_db_url
from tests.referrals_support import Scenario

ran: list[tuple[str, int, str]] = []


def record(label: str) -> None:
    """A job: notes its label, the process it ran in and the app it saw."""
    ran.append((label, os.getpid(), current_app.name))


def overrun(seconds: float) -> None:
    """A job that takes longer than its timeout."""
    time.sleep(seconds)
    ran.append(("overrun finished", os.getpid(), ""))


def swallow_timeout(seconds: float) -> None:
    """A job that catches its timeout and carries on, as careless code might."""
    try:
        time.sleep(seconds)
    except Exception:
        ran.append(("timeout swallowed", os.getpid(), ""))
        time.sleep(seconds)


@pytest.fixture
def connection(redis_url):
    connection = Redis.from_url(redis_db_url(redis_url, 3))
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def burst(app, connection):
    """Run a HubWorker over the hub's queues in this process until they are empty."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    ran.clear()

    def run(**attributes) -> HubWorker:
        worker = HubWorker([Queue(name, connection=connection) for name in QUEUES],
                           connection=connection)  # fmt: skip
        worker.hub_app = app
        for name, value in attributes.items():
            setattr(worker, name, value)
        worker.work(burst=True)
        return worker

    yield run
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def _enqueue(connection, queue: str, function, *args, timeout: int = 30):
    return Queue(queue, connection=connection).enqueue(function, *args, job_timeout=timeout)


def test_jobs_run_in_the_worker_process_with_the_app_and_webhooks_first(app, connection, burst):
    _enqueue(connection, MAIL, record, "mail")
    _enqueue(connection, WEBHOOKS, record, "webhook")
    burst()
    assert [label for label, _, _ in ran] == ["webhook", "mail"]
    # No work horse: every job ran in this very process, in the hub's app context.
    assert {pid for _, pid, _ in ran} == {os.getpid()}
    assert {name for _, _, name in ran} == {app.name}


def test_a_job_past_its_timeout_is_stopped_and_the_next_one_runs(connection, burst):
    slow = _enqueue(connection, WEBHOOKS, overrun, 10, timeout=1)
    _enqueue(connection, MAIL, record, "after")
    started = time.monotonic()
    burst()
    assert time.monotonic() - started < 5
    assert slow.get_status(refresh=True) == JobStatus.FAILED
    assert "JobTimeoutException" in slow.latest_result().exc_string
    assert [label for label, _, _ in ran] == ["after"]


def test_a_job_that_swallows_its_timeout_is_killed_by_the_watchdog(connection, burst):
    killed = []
    _enqueue(connection, WEBHOOKS, swallow_timeout, 1.5, timeout=1)
    burst(timeout_grace=0.5, kill_overrun=lambda job: killed.append(job.func_name))
    assert [label for label, _, _ in ran] == ["timeout swallowed"]
    # In production that kills the process (a supervisor restarts it), as rq kills a horse.
    assert killed == [f"{__name__}.swallow_timeout"]


def test_a_stop_request_ends_a_lingering_job_and_hands_its_work_on(app, monkeypatch):
    handed = []
    monkeypatch.setattr(tasks, "enqueue", lambda *args, **kw: handed.append(args))
    monkeypatch.setattr(tasks, "stop_requested", lambda: True)
    steps = []
    with app.app_context():
        more = tasks._work_loop(lambda: steps.append(1) or True, 30, lambda: None)
    assert more is True
    assert len(steps) <= 1


def test_a_scheduled_job_in_the_worker_sends_signals_its_app_connected(
    app, app_config, client, hub, connection, burst
):
    """The expiry sweep, queued by the schedule, ends the agreement in the worker; the
    receiver the worker's own create_app connected cancels the referral not yet started."""
    s = Scenario(app, client, hub)
    requested = s.send()
    with app.app_context():
        expires_on = stored(s.agreement_id).expires_on
        db.session.remove()
    after = agreements.start_of_day(expires_on + dt.timedelta(days=1)) + dt.timedelta(hours=2)
    sweep = {p.name: p for p in PERIODIC}["agreement-expiry"]
    heard = []

    def listener(agreement, **kw):
        heard.append((agreement.id, kw["how"]))

    # Only the worker's app may connect the receiver: a worker process builds its own.
    agreement_ended.disconnect(cancel_referrals_under_ended_agreement)
    worker_app = None
    try:
        worker_app = create_app(app_config)
        with time_machine.travel(after, tick=True), agreement_ended.connected_to(listener):
            rq_enqueue(connection, sweep.task, (), queue=sweep.queue, timeout=sweep.timeout)
            burst(hub_app=worker_app)
    finally:
        connect_receivers()
        if worker_app is not None:
            with worker_app.app_context():
                db.engine.dispose()
    assert heard == [(s.agreement_id, "agreement.expired")]
    with app.app_context():
        referral = db.session.get(Referral, requested["id"])
        assert (referral.status, referral.status_reason) == ("cancelled", "agreement_ended")
        db.session.remove()
