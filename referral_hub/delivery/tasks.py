"""Delivery's background jobs (webhooks, e-mail, the outbox's sweep): thin, they take ids,
and each runs in an app context. Other features keep theirs in their own `tasks.py`; the
schedule (schedule.py) names the periodic ones.

rq runs them in `flask hub worker` (its work horse pushes the app context); the embedded
runner does the same in threads. Every one can run twice, or concurrently, without harm.
"""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any

from referral_hub.db import utcnow
from referral_hub.delivery import dispatch, notifications
from referral_hub.delivery.jobs import (
    DISPATCH_EVENTS,
    DRAIN_WEBHOOK,
    SEND_NOTIFICATIONS,
    clear_coalesced,
    enqueue,
    enqueue_many,
    stop_requested,
    work_waiting_before,
)
from referral_hub.delivery.queues import MAIL
from referral_hub.delivery.settings import settings
from referral_hub.extensions import db

log = logging.getLogger(__name__)

#: How long one dispatch or drain job works before it hands the rest to a new job.
DISPATCH_BUDGET = 20.0
DRAIN_BUDGET = 30.0
MAIL_BUDGET = 20.0
#: How long a job that ran out of work keeps looking before it ends: under a steady flow
#: the next commit is picked up within POLL_SECONDS instead of waiting for a new job.
LINGER_SECONDS = 1.0
POLL_SECONDS = 0.05


def _work_loop(step, budget: float, done) -> bool:
    """Run `step()` (True when it found work) until the budget is spent or it lingered idle.

    Returns True when the budget ran out (or the worker is stopping) with work possibly left.
    """
    deadline = time.monotonic() + budget
    idle_since: float | None = None
    while time.monotonic() < deadline and not stop_requested():
        if step():
            idle_since = None
            continue
        now = time.monotonic()
        idle_since = idle_since or now
        if now - idle_since >= LINGER_SECONDS:
            done()
            # Work committed before the mark was cleared would have seen it set and relied
            # on this job: one last look.
            step()
            return False
        time.sleep(POLL_SECONDS)
    done()
    return True


def dispatch_events() -> None:
    """Turn the outbox's committed events into webhook deliveries and start their drains.

    While it runs it keeps the coalescing mark, so commits meanwhile queue no new job.
    """

    def step() -> bool:
        count, hooks = dispatch.dispatch_pending()
        for webhook_id in hooks:
            enqueue(DRAIN_WEBHOOK, webhook_id, coalesce=True)
        return count > 0

    if _work_loop(step, DISPATCH_BUDGET, lambda: clear_coalesced(DISPATCH_EVENTS)):
        enqueue(DISPATCH_EVENTS, coalesce=True)


def drain_webhook(webhook_id: str) -> None:
    """Attempt one subscription's due deliveries, oldest first."""
    deadline = time.monotonic() + DRAIN_BUDGET

    def step() -> bool:
        budget = max(0.0, deadline - time.monotonic())
        return dispatch.drain_webhook(webhook_id, budget) > 0

    if _work_loop(step, DRAIN_BUDGET, lambda: clear_coalesced(DRAIN_WEBHOOK, webhook_id)):
        enqueue(DRAIN_WEBHOOK, webhook_id, coalesce=True)


def send_notifications() -> None:
    """Send the due e-mail notifications, a leased batch at a time, until none is left.

    Coalesced like `dispatch_events`: while it is queued or runs, commits queue no other.
    After its first batch it steps aside (queues itself again, behind) when webhook work
    waits, so steady webhook traffic delays e-mail by a batch at most, never for good; and
    it lingers for nothing: the next commit queues it again at once. Its deadline and a
    warm shutdown are checked before each e-mail, well inside the job's timeout.
    """
    deadline = time.monotonic() + MAIL_BUDGET

    def should_stop() -> bool:
        return time.monotonic() >= deadline or stop_requested()

    cleared = False
    first = True
    while True:
        if should_stop() or (not first and work_waiting_before(MAIL)):
            if not cleared:
                clear_coalesced(SEND_NOTIFICATIONS)
            enqueue(SEND_NOTIFICATIONS, coalesce=True)
            return
        first = False
        attempted, mail_failed = notifications.send_due_notifications(should_stop=should_stop)
        if mail_failed:
            # The server is down: what is left is due, and the next commit or the sweeper
            # queues this job again; retrying at once would only wait for another timeout.
            if not cleared:
                clear_coalesced(SEND_NOTIFICATIONS)
            return
        if attempted:
            continue
        if cleared:
            return
        # Mail committed before the mark is cleared relied on this job: one more look.
        clear_coalesced(SEND_NOTIFICATIONS)
        cleared = True


def send_notification(notification_id: str) -> str | None:
    """Send one e-mail notification (its timed retry) to its organisation's users."""
    return notifications.send_notification(notification_id)


def sweep_outbox() -> dict[str, int]:
    """Re-enqueue what a lost hand-off left behind: events never dispatched, mail never sent."""
    conf = settings()
    now = utcnow()
    events = dispatch.undispatched_event_ids(now, conf.outbox_sweep_after)
    notes = notifications.due_notification_ids(now, conf.outbox_sweep_after)
    db.session.rollback()
    if events:
        log.warning("outbox sweep: %d event(s) were never dispatched", len(events))
        # Not coalesced: a mark may be left by a job that died with its worker.
        enqueue(DISPATCH_EVENTS)
    if notes:
        # Coalesced: mail waiting behind webhook work has its job queued already. A mark
        # left by a job that died with its worker expires (jobs.COALESCE_SECONDS).
        enqueue(SEND_NOTIFICATIONS, coalesce=True)
    return {"events": len(events), "notifications": len(notes)}


def retry_due_deliveries() -> int:
    """Drain subscriptions with deliveries due for a while: lost retries, dead workers."""
    conf = settings()
    hooks = dispatch.webhooks_with_overdue_deliveries(utcnow(), conf.outbox_sweep_after)
    db.session.rollback()
    # Not coalesced: a mark may be left by a drain that died with its worker.
    enqueue_many(DRAIN_WEBHOOK, [(webhook_id,) for webhook_id in hooks])
    return len(hooks)


def destroy_rotated_secrets() -> int:
    """Destroy the webhook secrets whose rotation overlap has ended (they sign no more)."""
    from referral_hub.delivery.operations import destroy_expired_secrets

    destroyed = destroy_expired_secrets()
    db.session.commit()
    return destroyed


#: Jobs that lived here until their features got their own `tasks.py`: an rq job queued by
#: the previous release names the old path (a periodic job waiting on `low` at the upgrade,
#: or a failed one requeued within FAILURE_TTL), so `referral_hub.delivery.tasks.<name>`
#: still resolves, lazily, to the feature's function. Drop this a release later.
_MOVED = {
    "sweep_agreement_expiry": "referral_hub.agreements.tasks",
    "sweep_overdue_referrals": "referral_hub.referrals.tasks",
    "purge_authorization_codes": "referral_hub.oauth.tasks",
    "purge_idempotency_keys": "referral_hub.idempotency.tasks",
    "purge_attempt_counters": "referral_hub.accounts.tasks",
    "sign_audit_checkpoint": "referral_hub.audit.tasks",
}


def __getattr__(name: str) -> Any:
    """The moved jobs, for rq's import of an old dotted path (no import edge: lazy)."""
    if name in _MOVED:
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
