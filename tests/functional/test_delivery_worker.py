"""`flask hub worker` runs each job in its own process, inside the app context (no fork per
job), takes webhook work before mail, and still stops a job that overruns its timeout."""

from __future__ import annotations

import os
import signal
import time

import pytest
from flask import current_app
from redis import Redis
from rq import Queue
from rq.job import JobStatus

from referral_hub.delivery import tasks
from referral_hub.delivery.schedule import MAIL, QUEUES, WEBHOOKS
from referral_hub.delivery.worker import HubWorker
from tests.delivery_support import redis_db_url

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
