"""Background work: queue names and the worker. Jobs take ids and run in an app context.

With HUB_REDIS_URL unset (embedded mode) jobs run in a thread of the app process; with it
set they go to rq and `flask hub worker` runs them.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app

log = logging.getLogger(__name__)

QUEUES = ("high", "default", "low")


def redis_connection(app: Flask | None = None):
    """A Redis client for the configured URL."""
    from redis import Redis

    app = app or current_app
    return Redis.from_url(app.config["HUB_REDIS_URL"])


def run_worker(burst: bool = False) -> None:
    """Run an rq worker with the scheduler on the hub's queues in this app."""
    from rq import Queue

    app = current_app._get_current_object()
    connection = redis_connection(app)
    queues = [Queue(name, connection=connection) for name in QUEUES]
    worker = HubWorker(queues, connection=connection)
    worker.hub_app = app
    worker.work(with_scheduler=True, burst=burst)


def _hub_worker_class():
    from rq import Worker

    class _HubWorker(Worker):
        """rq worker that runs each job inside the hub's app context."""

        hub_app: Flask | None = None

        def perform_job(self, job: Any, queue: Any) -> bool:
            from referral_hub.extensions import db

            assert self.hub_app is not None
            with self.hub_app.app_context():
                # A forked work horse must not reuse the parent's pooled connections.
                db.engine.dispose(close=False)
                try:
                    return super().perform_job(job, queue)
                finally:
                    db.session.remove()

    return _HubWorker


HubWorker = _hub_worker_class()
