"""`flask hub worker`: an rq worker for the hub's queues, with rq's scheduler and the ticker.

Each job runs in a forked work horse, inside an app context, after the horse has dropped the
SQLAlchemy connection pool it inherited (sharing the parent's sockets corrupts both). The
ticker thread enqueues the periodic jobs of schedule.py; several workers on several
machines agree through a Redis key per job and interval slot, so each runs once per slot.
rq's own scheduler (with_scheduler=True) releases the jobs enqueued for a later time.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask, current_app

from referral_hub.delivery.jobs import rq_enqueue
from referral_hub.delivery.schedule import PERIODIC, QUEUES
from referral_hub.delivery.settings import parse_settings

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
SLOT_KEY = "hub:schedule:{name}:{slot}"


def _worker_class():
    from rq import Worker

    class HubWorker(Worker):
        """rq worker whose work horse runs each job inside the hub's app context.

        `flask hub worker` hands it its app; started as `rq worker -w
        referral_hub.delivery.worker.HubWorker` it builds one from the environment (that
        form runs no schedule ticker: start at least one `flask hub worker` as well).
        """

        hub_app: Flask | None = None

        def work(self, *args: Any, **kwargs: Any) -> bool:
            if self.hub_app is None:  # started by `rq worker`, not `flask hub worker`
                from referral_hub import create_app

                self.hub_app = create_app()
                with self.hub_app.app_context():
                    _prepare_for_forking(self.hub_app)
            return super().work(*args, **kwargs)

        def perform_job(self, job: Any, queue: Any, *args: Any, **kwargs: Any) -> bool:
            from referral_hub.extensions import db

            assert self.hub_app is not None
            with self.hub_app.app_context():
                # The forked horse must not reuse the parent's pooled connections.
                db.engine.dispose(close=False)
                try:
                    return super().perform_job(job, queue, *args, **kwargs)
                finally:
                    db.session.remove()

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
                    rq_enqueue(connection, periodic.task, ())
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


def _prepare_for_forking(app: Flask) -> None:
    """Do once in the parent what every forked horse would otherwise redo for each job.

    Modules are imported, the ORM mappers configured and the sweepers' statements compiled
    here, so a job's horse starts warm (about ten times faster for the short jobs). The
    connections this opens are closed before the first fork.
    """
    from sqlalchemy.orm import configure_mappers

    from referral_hub.db import utcnow
    from referral_hub.delivery import dispatch, notifications, tasks  # noqa: F401
    from referral_hub.extensions import db

    configure_mappers()
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
    _prepare_for_forking(app)
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
