"""The background jobs: thin, they take ids, and each runs in an app context.

rq runs them in `flask hub worker` (its work horse pushes the app context); the embedded
runner does the same in threads. Every one can run twice, or concurrently, without harm.
"""

from __future__ import annotations

import importlib
import logging
import time

from referral_hub.db import utcnow
from referral_hub.delivery import dispatch, notifications
from referral_hub.delivery.jobs import (
    DISPATCH_EVENTS,
    DRAIN_WEBHOOK,
    SEND_NOTIFICATION,
    clear_coalesced,
    enqueue,
    enqueue_many,
)
from referral_hub.delivery.schedule import OVERDUE_SWEEPERS
from referral_hub.delivery.settings import settings
from referral_hub.extensions import db

log = logging.getLogger(__name__)

#: How long one dispatch or drain job works before it hands the rest to a new job.
DISPATCH_BUDGET = 20.0
DRAIN_BUDGET = 30.0


def dispatch_events() -> int:
    """Turn the outbox's committed events into webhook deliveries and start their drains."""
    clear_coalesced(DISPATCH_EVENTS)
    deadline = time.monotonic() + DISPATCH_BUDGET
    total = 0
    while True:
        count, hooks = dispatch.dispatch_pending()
        total += count
        for webhook_id in hooks:
            enqueue(DRAIN_WEBHOOK, webhook_id, coalesce=True)
        if count == 0:
            return total
        if time.monotonic() > deadline:
            enqueue(DISPATCH_EVENTS, coalesce=True)
            return total


def drain_webhook(webhook_id: str) -> None:
    """Attempt one subscription's due deliveries, oldest first."""
    clear_coalesced(DRAIN_WEBHOOK, webhook_id)
    if dispatch.drain_webhook(webhook_id, DRAIN_BUDGET):
        enqueue(DRAIN_WEBHOOK, webhook_id, coalesce=True)


def send_notification(notification_id: str) -> str | None:
    """Send one e-mail notification to its organisation's users."""
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
        enqueue(DISPATCH_EVENTS, coalesce=True)
    enqueue_many(SEND_NOTIFICATION, [(note_id,) for note_id in notes])
    return {"events": len(events), "notifications": len(notes)}


def retry_due_deliveries() -> int:
    """Drain subscriptions with deliveries due for a while: lost retries, dead workers."""
    conf = settings()
    hooks = dispatch.webhooks_with_overdue_deliveries(utcnow(), conf.outbox_sweep_after)
    db.session.rollback()
    for webhook_id in hooks:
        enqueue(DRAIN_WEBHOOK, webhook_id, coalesce=True)
    return len(hooks)


def sweep_agreement_expiry() -> object:
    """agreement.expiring / agreement.expired, by the agreements package when it has the rule."""
    name = "referral_hub.agreements.operations"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as missing:
        if missing.name not in (name, "referral_hub.agreements"):
            raise
        return None
    sweep = getattr(module, "sweep_agreement_expiry", None)
    if sweep is None:
        return None
    result = sweep(utcnow())
    db.session.commit()
    return result


def sweep_overdue_referrals() -> int:
    """Run every registered overdue sweeper (referral.overdue and its e-mails)."""
    now = utcnow()
    ran = 0
    for sweeper in list(OVERDUE_SWEEPERS):
        try:
            sweeper(now)
            db.session.commit()
            ran += 1
        except Exception:
            db.session.rollback()
            log.exception("overdue sweeper %r failed", sweeper)
    return ran
