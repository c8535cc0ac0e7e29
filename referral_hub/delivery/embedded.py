"""The embedded mode's job runner: threads in the web process do what rq workers would.

Without HUB_REDIS_URL the app runs its jobs itself: a small thread pool runs the same job
functions rq would (each in an app context), timed jobs wait on a heap, and a schedule
thread calls the periodic jobs of schedule.py on their intervals. Nothing lives only here:
every job's state is in the database, so a restart loses nothing the sweepers cannot find.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from werkzeug.utils import import_string

from referral_hub.delivery.schedule import PERIODIC
from referral_hub.extensions import db

log = logging.getLogger(__name__)


class EmbeddedRunner:
    """Threads that run the hub's jobs and schedule inside the app's own process."""

    def __init__(self, app: Flask, *, workers: int = 4) -> None:
        self.app = app
        self.workers = workers
        self.running = False
        self._executor: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Condition()
        self._timed: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self._counter = itertools.count()
        self._queued: set[str] = set()
        self._stop = False

    def start(self) -> None:
        """Start the pool and the schedule thread (idempotent)."""
        with self._wake:
            if self.running:
                return
            self._stop = False
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="hub-job")
            self._thread = threading.Thread(
                target=self._schedule_loop, name="hub-schedule", daemon=True
            )
            self.running = True
            self._thread.start()
        log.info("embedded job runner started (%d threads)", self.workers)

    def stop(self, timeout: float = 10) -> None:
        """Stop scheduling, let running jobs finish, drop queued ones (the sweepers redo them)."""
        with self._wake:
            if not self.running:
                return
            self._stop = True
            self.running = False
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def submit(
        self,
        task: str,
        args: Sequence[Any] = (),
        at: dt.datetime | None = None,
        key: str | None = None,
    ) -> None:
        """Run `task(*args)` soon, or at `at`; with a `key`, not while one with it waits."""
        if key is not None:
            with self._wake:
                if key in self._queued:
                    return
                self._queued.add(key)
        if at is not None:
            delay = (at - dt.datetime.now(dt.UTC)).total_seconds()
            if delay > 0:
                with self._wake:
                    entry = (time.monotonic() + delay, next(self._counter), task, tuple(args))
                    heapq.heappush(self._timed, entry)
                    self._wake.notify_all()
                return
        executor = self._executor
        if executor is None or not self.running:
            if key is not None:
                self.clear(key)
            return
        # RuntimeError: shut down meanwhile; the sweepers will find the work.
        with contextlib.suppress(RuntimeError):
            executor.submit(self._run, task, tuple(args), key)

    def clear(self, key: str) -> None:
        """A coalesced job started: the next request for it queues a new one."""
        with self._wake:
            self._queued.discard(key)

    def _run(self, task: str, args: tuple[Any, ...], key: str | None = None) -> None:
        with self.app.app_context():
            try:
                import_string(task)(*args)
            except Exception:
                log.exception("job %s%r failed", task, args)
                db.session.rollback()
            finally:
                db.session.remove()
                if key is not None:
                    self.clear(key)  # a job that failed before clearing its mark

    def _schedule_loop(self) -> None:
        from referral_hub.delivery.settings import parse_settings

        intervals = parse_settings(self.app.config).schedule_intervals
        next_run = {p.name: time.monotonic() for p in PERIODIC}
        while True:
            due: list[tuple[str, tuple[Any, ...]]] = []
            with self._wake:
                if self._stop:
                    return
                now = time.monotonic()
                for periodic in PERIODIC:
                    if now >= next_run[periodic.name]:
                        due.append((periodic.task, ()))
                        next_run[periodic.name] = now + periodic.interval(intervals)
                while self._timed and self._timed[0][0] <= now:
                    _, _, task, args = heapq.heappop(self._timed)
                    due.append((task, args))
                wait = min(next_run.values()) - now
                if self._timed:
                    wait = min(wait, self._timed[0][0] - now)
            for task, args in due:
                self.submit(task, args)
            with self._wake:
                if self._stop:
                    return
                if not due:
                    self._wake.wait(max(0.05, min(wait, 1.0)))


def start_embedded_runner(app: Flask) -> EmbeddedRunner:
    """Create (once) and start the app's embedded runner; return it."""
    state = app.extensions.setdefault("hub_delivery", {})
    runner = state.get("runner")
    if runner is None:
        runner = state["runner"] = EmbeddedRunner(app)
    runner.start()
    return runner


def stop_embedded_runner(app: Flask) -> None:
    """Stop the app's embedded runner, if it runs."""
    runner = app.extensions.get("hub_delivery", {}).get("runner")
    if runner is not None:
        runner.stop()
