"""`flask hub worker`: an rq worker for the hub's queues, with rq's scheduler and the ticker.

Each job runs in the worker process itself (no work horse forked per job), inside an app
context, on the queues of schedule.py in their order (webhook work before mail). The
ticker thread enqueues the periodic jobs of schedule.py; several workers on several
machines agree through a Redis key per job and interval slot, so each runs once per slot.
rq's own scheduler (with_scheduler=True) releases the jobs enqueued for a later time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from flask import Flask, current_app

from referral_hub.delivery.jobs import request_stop, rq_enqueue
from referral_hub.delivery.queues import QUEUES
from referral_hub.delivery.schedule import PERIODIC
from referral_hub.delivery.settings import parse_settings

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
SLOT_KEY = "hub:schedule:{name}:{slot}"
_fork_safe_engines: set[int] = set()


def _worker_class():
    from rq import SimpleWorker

    class HubWorker(SimpleWorker):
        """rq worker that runs each job in its own process, inside the hub's app context.

        No work horse is forked per job (rq's SimpleWorker): the imports, the ORM and the
        pooled database connections stay warm from one job to the next, which made a short
        job about ten times cheaper than forking for it. rq's timeout still applies (SIGALRM
        in this, the main, thread raises JobTimeoutException in the job). A job that swallows
        that exception, or is stuck where no Python runs, is what the forking worker's horse
        monitor killed `timeout + 60` s in; here a watchdog thread ends the whole process at
        that point (`kill_overrun`), for the supervisor to restart: the job's leases in the
        database run out and the sweepers give its work to another worker.

        `flask hub worker` hands it its app; started as `rq worker -w
        referral_hub.delivery.worker.HubWorker` it builds one from the environment (that
        form runs no schedule ticker: start at least one `flask hub worker` as well).
        """

        hub_app: Flask | None = None
        #: Seconds past a job's timeout before the watchdog ends the process (rq's margin).
        timeout_grace: float = 60.0

        def work(self, *args: Any, **kwargs: Any) -> bool:
            if self.hub_app is None:  # started by `rq worker`, not `flask hub worker`
                from referral_hub import create_app

                self.hub_app = create_app()
            with self.hub_app.app_context():
                _prepare_worker(self.hub_app)
            return super().work(*args, **kwargs)

        def request_stop(self, signum: Any, frame: Any) -> None:
            # Warm shutdown: a lingering dispatch or drain hands its work on instead of
            # holding the stop for up to its budget.
            request_stop()
            super().request_stop(signum, frame)

        def kill_overrun(self, job: Any) -> None:
            log.critical(
                "job %s (%s) ran %s s past its timeout of %s s and ignored it: ending the "
                "worker process",
                job.id,
                job.func_name,
                self.timeout_grace,
                job.timeout,
            )
            logging.shutdown()
            os._exit(70)

        def perform_job(self, job: Any, queue: Any, *args: Any, **kwargs: Any) -> bool:
            from referral_hub.extensions import db

            assert self.hub_app is not None
            timeout = job.timeout or queue.DEFAULT_TIMEOUT
            watchdog = None
            if timeout and timeout > 0:
                watchdog = threading.Timer(timeout + self.timeout_grace, self.kill_overrun, (job,))
                watchdog.daemon = True
                watchdog.start()
            try:
                with self.hub_app.app_context():
                    try:
                        return super().perform_job(job, queue, *args, **kwargs)
                    finally:
                        db.session.remove()
            finally:
                if watchdog is not None:
                    watchdog.cancel()

    return HubWorker


HubWorker = _worker_class()


class ScheduleTicker(threading.Thread):
    """Enqueues each periodic job once per interval slot across every running worker."""

    def __init__(self, app: Flask, redis_url: str, identity: str) -> None:
        super().__init__(name="hub-schedule-ticker", daemon=True)
        self.redis_url = redis_url
        self.identity = identity
        self.intervals = parse_settings(app.config).schedule_intervals
        self.stopped = threading.Event()
        self._last_slot: dict[str, int] = {}

    def tick(self, connection: Any, now: float) -> list[str]:
        """Enqueue the periodic jobs whose slot this worker wins; return their names."""
        from redis.exceptions import RedisError

        enqueued = []
        for periodic in PERIODIC:
            every = periodic.interval(self.intervals)
            slot = int(now // every)
            if self._last_slot.get(periodic.name) == slot:
                continue
            key = SLOT_KEY.format(name=periodic.name, slot=slot)
            try:
                if connection.set(key, self.identity, nx=True, ex=max(int(every * 2), 2)):
                    rq_enqueue(
                        connection,
                        periodic.task,
                        (),
                        queue=periodic.queue,
                        timeout=periodic.timeout,
                    )
                    enqueued.append(periodic.name)
                self._last_slot[periodic.name] = slot
            except RedisError as error:
                log.warning("schedule: could not enqueue %s: %s", periodic.name, error)
        return enqueued

    def run(self) -> None:
        from redis import Redis

        connection = Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=5)
        while not self.stopped.is_set():
            self.tick(connection, time.time())
            self.stopped.wait(TICK_SECONDS)


def _prepare_worker(app: Flask) -> None:
    """Warm the worker before its first job, and keep pooled connections out of forks.

    Modules are imported, the ORM mappers configured and the sweepers' statements compiled
    here. rq's scheduler runs in a forked process (started again if it dies): the child
    drops the pooled connections it inherited without closing them (sharing the parent's
    sockets would corrupt both).
    """
    from sqlalchemy.orm import configure_mappers

    from referral_hub.db import utcnow
    from referral_hub.delivery import dispatch, notifications, tasks  # noqa: F401
    from referral_hub.extensions import db

    configure_mappers()
    engine = db.engine
    if id(engine) not in _fork_safe_engines:
        _fork_safe_engines.add(id(engine))
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    now = utcnow()
    try:
        dispatch.undispatched_event_ids(now, 0, limit=1)
        dispatch.due_delivery_ids(now, 0, limit=1)
        notifications.due_notification_ids(now, 0, limit=1)
    except Exception:  # a warm-up only; the jobs will report real database trouble
        log.warning("worker warm-up queries failed", exc_info=True)
    finally:
        db.session.remove()
        db.engine.dispose()


def run_worker(burst: bool = False) -> None:
    """Run an rq worker with its scheduler and the ticker, on the hub's queues, in this app."""
    from redis import Redis
    from rq import Queue

    app = current_app._get_current_object()
    url = app.config["HUB_REDIS_URL"]
    connection = Redis.from_url(url)
    queues = [Queue(name, connection=connection) for name in QUEUES]
    worker = HubWorker(queues, connection=connection)
    worker.hub_app = app
    ticker = None
    if not burst:
        ticker = ScheduleTicker(app, url, worker.name)
        ticker.start()
    try:
        worker.work(with_scheduler=True, burst=burst)
    finally:
        if ticker is not None:
            ticker.stopped.set()
