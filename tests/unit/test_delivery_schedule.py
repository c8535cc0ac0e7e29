"""The schedule: one module, each periodic job once per interval across workers, settings
checked at start, and the embedded runner doing the same work in threads."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from redis import Redis
from rq import Queue
from rq.utils import import_attribute

from referral_hub import create_app
from referral_hub.config import ConfigError
from referral_hub.delivery import tasks
from referral_hub.delivery.embedded import EmbeddedRunner
from referral_hub.delivery.jobs import JOB_OPTIONS
from referral_hub.delivery.queues import QUEUES
from referral_hub.delivery.schedule import PERIODIC
from referral_hub.delivery.settings import parse_settings
from referral_hub.delivery.worker import ScheduleTicker
from tests.delivery_support import redis_db_url, wait_for

calls: list[tuple[str, tuple]] = []
_lock = threading.Lock()


def record(*args):
    """A job for the runner tests."""
    with _lock:
        calls.append(("record", args))


def test_every_periodic_job_is_declared_here_with_a_known_queue():
    names = [p.name for p in PERIODIC]
    assert names == [
        "outbox-sweep",
        "webhook-retries",
        "agreement-expiry",
        "overdue-referrals",
        "case-follow-ups",
        "oauth-code-purge",
        "idempotency-key-purge",
        "attempt-counter-purge",
        "webhook-secret-expiry",
        "audit-checkpoint",
    ]
    assert all(p.queue in QUEUES and p.timeout > 0 for p in PERIODIC)
    # Each names its function, kept in its feature's tasks.py; rq's path is the function's.
    for periodic in PERIODIC:
        assert periodic.fn.__module__.endswith(".tasks"), periodic.name
        assert periodic.task == f"{periodic.fn.__module__}.{periodic.fn.__name__}"
        assert import_attribute(periodic.task) is periodic.fn
    features = {p.task.split(".")[1] for p in PERIODIC}
    assert features == {"delivery", "agreements", "referrals", "oauth", "idempotency"} | {
        "accounts",
        "audit",
        "cases",
    }


def test_jobs_queued_by_the_previous_release_under_delivery_tasks_still_run():
    """rq imports a job by the dotted path it was queued with; the moved ones resolve."""
    # Jobs added after the move were never queued under delivery.tasks.
    added_since = {"case-follow-ups"}
    moved = [
        p
        for p in PERIODIC
        if not p.task.startswith("referral_hub.delivery.") and p.name not in added_since
    ]
    assert len(moved) == 6
    for periodic in moved:
        old = f"referral_hub.delivery.tasks.{periodic.fn.__name__}"
        assert import_attribute(old) is periodic.fn
    with pytest.raises(AttributeError):
        tasks.no_such_job  # noqa: B018


def test_periodic_jobs_are_queued_with_their_own_queue_and_timeout(app, redis_url):
    connection = Redis.from_url(redis_db_url(redis_url, 1))
    connection.flushdb()
    ScheduleTicker(app, "redis://unused", "worker-a").tick(connection, 1_800_000_000.0)
    for periodic in PERIODIC:
        queue = Queue(periodic.queue, connection=connection)
        jobs = [job for job in queue.get_jobs() if job.func_name == periodic.task]
        assert len(jobs) == 1, periodic.name
        assert jobs[0].timeout == periodic.timeout
    connection.flushdb()


def test_two_workers_enqueue_each_periodic_job_once_per_slot(app, redis_url):
    connection = Redis.from_url(redis_db_url(redis_url, 1))
    connection.flushdb()
    first = ScheduleTicker(app, "redis://unused", "worker-a")
    second = ScheduleTicker(app, "redis://unused", "worker-b")
    now = 1_800_000_000.0  # a slot boundary for every interval
    enqueued = first.tick(connection, now) + second.tick(connection, now)
    assert sorted(enqueued) == sorted(p.name for p in PERIODIC)
    # Later in the same slots: nothing; once the 10 s slot turns: the retries again, once.
    assert first.tick(connection, now + 5) + second.tick(connection, now + 5) == []
    later = first.tick(connection, now + 10) + second.tick(connection, now + 10)
    assert later == ["webhook-retries"]
    queued = {name: connection.llen(f"rq:queue:{name}") for name in QUEUES}
    assert queued == {"high": 1, "webhooks": 2, "default": 0, "mail": 0, "low": 7}


def test_webhook_work_comes_before_mail_and_mail_before_the_slow_sweeps():
    assert QUEUES == ("high", "webhooks", "default", "mail", "low")
    queue_of = {task.rsplit(".", 1)[1]: options["queue"] for task, options in JOB_OPTIONS.items()}
    queue_of |= {p.fn.__name__: p.queue for p in PERIODIC}
    assert queue_of["dispatch_events"] == "high"
    assert queue_of["drain_webhook"] == queue_of["retry_due_deliveries"] == "webhooks"
    assert queue_of["send_notifications"] == queue_of["send_notification"] == "mail"
    # `default` holds nothing new: it is served for jobs an older release queued there.
    assert "default" not in queue_of.values()


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("HUB_SCHEDULE_INTERVALS", "outbox-sweep=0", "at least"),
        ("HUB_WEBHOOK_TIMEOUT", "5", "expected 2"),
        ("HUB_WEBHOOK_TIMEOUT", "0,10", "positive"),
        ("HUB_WEBHOOK_RETRY_SCHEDULE", "5,x", "seconds"),
        ("HUB_WEBHOOK_RETRY_WINDOW", "soon", "number"),
    ],
)
def test_unusable_settings_are_named(setting, value, message):
    with pytest.raises(ConfigError, match=message):
        parse_settings({setting: value})


def test_an_interval_for_a_job_the_schedule_lacks_stops_the_start(app_config):
    with pytest.raises(ConfigError, match="unknown job 'outbox-sweeper'"):
        create_app({**app_config, "HUB_SCHEDULE_INTERVALS": "outbox-sweeper=5"})
    app = create_app({**app_config, "HUB_SCHEDULE_INTERVALS": "outbox-sweep=5"})
    assert app.config["HUB_SCHEDULE_INTERVALS"] == {"outbox-sweep": 5.0}


def test_a_bad_smtp_url_stops_the_start(app_config):
    with pytest.raises(ConfigError, match="HUB_SMTP_URL"):
        create_app({**app_config, "HUB_SMTP_URL": "mail.example.id:25"})
    create_app({**app_config, "HUB_SMTP_URL": "smtp://127.0.0.1:2525"})


def test_the_embedded_runner_runs_jobs_now_later_and_once_while_queued(app):
    calls.clear()
    runner = EmbeddedRunner(app, workers=1)
    runner.start()
    try:
        task = f"{__name__}.record"
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.3)
        runner.submit(task, ("later",), at=soon)
        runner.submit(task, ("now",))
        wait_for(lambda: ("record", ("now",)) in calls, timeout=5)
        assert ("record", ("later",)) not in calls
        wait_for(lambda: ("record", ("later",)) in calls, timeout=5)
        # A coalesced job is not queued twice while one with its key waits.
        runner.submit(task, ("once",), key="k")
        runner.submit(task, ("once",), key="k")
        wait_for(lambda: ("record", ("once",)) in calls, timeout=5)
        time.sleep(0.2)
        assert calls.count(("record", ("once",))) == 1
    finally:
        runner.stop()
    assert not runner.running


def test_the_agreement_expiry_sweep_is_the_agreements_packages(app_ctx):
    from referral_hub.agreements.tasks import sweep_agreement_expiry

    result = sweep_agreement_expiry()
    assert set(result) >= {"expired", "activated"}
