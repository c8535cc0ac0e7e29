"""Handing jobs over: to rq when HUB_REDIS_URL is set, else to the in-process runner.

A hand-off may fail (Redis down) or find nothing to hand to (a command-line process in the
embedded mode); the rows it concerns stay in the database and the schedule's sweepers hand
them over later. Jobs are named by dotted path and take ids only.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Flask, current_app, has_app_context

from referral_hub.delivery.queues import FAILURE_TTL, HIGH, MAIL, QUEUES, RESULT_TTL, WEBHOOKS

log = logging.getLogger(__name__)

DISPATCH_EVENTS = "referral_hub.delivery.tasks.dispatch_events"
DRAIN_WEBHOOK = "referral_hub.delivery.tasks.drain_webhook"
SEND_NOTIFICATION = "referral_hub.delivery.tasks.send_notification"
SEND_NOTIFICATIONS = "referral_hub.delivery.tasks.send_notifications"

#: Queue and timeout (seconds) of the jobs handed over on demand (periodic ones carry
#: theirs in schedule.py). These four are named by string: tasks.py imports this module.
JOB_OPTIONS: dict[str, dict[str, Any]] = {
    DISPATCH_EVENTS: {"queue": HIGH, "job_timeout": 120},
    DRAIN_WEBHOOK: {"queue": WEBHOOKS, "job_timeout": 180},
    SEND_NOTIFICATIONS: {"queue": MAIL, "job_timeout": 180},
    SEND_NOTIFICATION: {"queue": MAIL, "job_timeout": 180},
}

#: How long a coalescing mark lives if its job is lost (the sweepers do the work anyway;
#: the mark only stops a burst from queueing one job per commit). Longer than a job runs.
COALESCE_SECONDS = 60

_clients: dict[tuple[str, int], Any] = {}
_clients_lock = threading.Lock()
_stopping = threading.Event()


def request_stop() -> None:
    """The worker was asked to stop: long-running jobs hand their remaining work on."""
    _stopping.set()


def stop_requested() -> bool:
    return _stopping.is_set()


def redis_client(url: str):
    """A Redis client for enqueueing, one per URL and process, failing fast when Redis is down."""
    from redis import Redis

    key = (url, os.getpid())
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = Redis.from_url(
                url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
            )
            _clients[key] = client
        return client


def rq_enqueue(
    connection: Any,
    task: str,
    args: Sequence[Any],
    at: dt.datetime | None = None,
    pipeline: Any = None,
    *,
    queue: str | None = None,
    timeout: int | None = None,
):
    """Put one job on its rq queue (at a time, if given: that needs the rq scheduler).

    The queue and timeout are the caller's (a periodic job's) or JOB_OPTIONS'.
    """
    from rq import Queue

    options = JOB_OPTIONS.get(task, {})
    queue = Queue(queue or options.get("queue", "default"), connection=connection)
    timeout = timeout or options.get("job_timeout", 180)
    if at is not None:
        return queue.enqueue_at(
            at,
            task,
            *args,
            job_timeout=timeout,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
        )
    return queue.enqueue_call(
        task,
        args=tuple(args),
        timeout=timeout,
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
        pipeline=pipeline,
    )


def enqueue(task: str, *args: Any, at: dt.datetime | None = None, coalesce: bool = False) -> bool:
    """Hand one job over; False (and logged) when nothing took it, so a sweeper must.

    With `coalesce`, the job is not queued again while the same job (task and arguments)
    waits or runs: a burst of commits then queues one dispatch, not one per commit. The
    job clears its mark (`clear_coalesced`) when it is about to end, then looks for work
    once more, so nothing committed while the mark stood is left behind.
    """
    if coalesce and at is None:
        return _enqueue_coalesced(task, args)
    return enqueue_many(task, [args], at=at) == 1


def coalesce_key(task: str, args: Sequence[Any]) -> str:
    return "hub:queued:" + ":".join([task.rsplit(".", 1)[-1], *map(str, args)])


def _enqueue_coalesced(task: str, args: tuple[Any, ...]) -> bool:
    if not has_app_context():
        return False
    app = current_app._get_current_object()
    key = coalesce_key(task, args)
    url = app.config.get("HUB_REDIS_URL")
    if url:
        from redis.exceptions import RedisError

        try:
            connection = redis_client(url)
            if not connection.set(key, "1", nx=True, ex=COALESCE_SECONDS):
                return True  # a queued job will do it
            try:
                rq_enqueue(connection, task, args)
            except RedisError:
                connection.delete(key)
                raise
        except RedisError as error:
            log.warning("Redis unavailable, %s left for the sweeper: %s", task, error)
            return False
        return True
    runner = embedded_runner(app)
    if runner is None or not runner.running:
        return False
    runner.submit(task, args, key=key)
    return True


def clear_coalesced(task: str, *args: Any) -> None:
    """Called by a coalesced job before its last look: later work queues a new job."""
    if not has_app_context():
        return
    app = current_app._get_current_object()
    key = coalesce_key(task, args)
    url = app.config.get("HUB_REDIS_URL")
    if url:
        from redis.exceptions import RedisError

        try:
            redis_client(url).delete(key)
        except RedisError as error:  # the mark expires by itself
            log.warning("could not clear %s: %s", key, error)
        return
    runner = embedded_runner(app)
    if runner is not None:
        runner.clear(key)


def work_waiting_before(queue: str) -> bool:
    """True when a job waits on a queue more urgent than `queue` (rq only; never raises)."""
    if not has_app_context():
        return False
    url = current_app.config.get("HUB_REDIS_URL")
    if not url or queue not in QUEUES:
        return False
    from redis.exceptions import RedisError
    from rq import Queue

    ahead = QUEUES[: QUEUES.index(queue)]
    try:
        with redis_client(url).pipeline(transaction=False) as pipe:
            for name in ahead:
                pipe.llen(Queue.redis_queue_namespace_prefix + name)
            return any(pipe.execute())
    except RedisError:
        return False


def enqueue_many(
    task: str, arg_lists: Iterable[Sequence[Any]], at: dt.datetime | None = None
) -> int:
    """Hand several jobs of one task over; return how many were taken."""
    if not has_app_context():
        return 0
    app = current_app._get_current_object()
    arg_lists = list(arg_lists)
    if not arg_lists:
        return 0
    url = app.config.get("HUB_REDIS_URL")
    if url:
        from redis.exceptions import RedisError

        try:
            connection = redis_client(url)
            if at is None and len(arg_lists) > 1:
                with connection.pipeline() as pipe:
                    for args in arg_lists:
                        rq_enqueue(connection, task, args, pipeline=pipe)
                    pipe.execute()
            else:
                for args in arg_lists:
                    rq_enqueue(connection, task, args, at)
        except RedisError as error:
            log.warning("Redis unavailable, %s left for the sweeper: %s", task, error)
            return 0
        return len(arg_lists)
    runner = embedded_runner(app)
    if runner is None or not runner.running:
        return 0
    for args in arg_lists:
        runner.submit(task, tuple(args), at=at)
    return len(arg_lists)


def enqueue_committed(event_ids: list[str], jobs: list[tuple[str, tuple[Any, ...], bool]]) -> None:
    """After a commit: have its events dispatched, and hand over the jobs it asked for."""
    if event_ids:
        enqueue(DISPATCH_EVENTS, coalesce=True)
    for task, args, coalesce in dict.fromkeys(jobs):
        enqueue(task, *args, coalesce=coalesce)


def embedded_runner(app: Flask):
    """The app's in-process runner, if the embedded mode made one."""
    return app.extensions.get("hub_delivery", {}).get("runner")
