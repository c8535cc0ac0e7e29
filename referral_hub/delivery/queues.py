"""The rq queues, their order, and how a job is named: what every job's module may import.

Feature `tasks.py` modules, the hand-off (jobs.py) and the schedule (schedule.py) read these;
this module imports nothing of the hub, so it sits below all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: rq queues, most urgent first: every worker serves them all and takes a job from a queue
#: only when those before it are empty. Webhook work (`high`: the outbox's dispatch;
#: `webhooks`: drains and retries) therefore never waits behind e-mail (`mail`), and the
#: mail job itself steps aside between batches when webhook work waits (tasks.py).
#: `default` gets no new jobs: it is served for those an older release queued there.
HIGH, WEBHOOKS, DEFAULT, MAIL, LOW = "high", "webhooks", "default", "mail", "low"
QUEUES = (HIGH, WEBHOOKS, DEFAULT, MAIL, LOW)

#: Results are kept briefly (the state is in SQL); failures a week, for the operators.
RESULT_TTL = 60
FAILURE_TTL = 7 * 24 * 3600


def task_path(fn: Callable[..., Any]) -> str:
    """The dotted path rq stores for a job function and imports it by in the worker."""
    return f"{fn.__module__}.{fn.__qualname__}"
