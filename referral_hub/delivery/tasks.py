"""The background jobs: thin, they take ids, and each runs in an app context.

rq runs them in `flask hub worker` (its work horse pushes the app context); the embedded
runner does the same in threads. Every one can run twice, or concurrently, without harm.
"""

from __future__ import annotations

import importlib
import logging

from referral_hub.db import utcnow
from referral_hub.delivery import dispatch, notifications
from referral_hub.delivery.jobs import (
    DELIVER_WEBHOOK,
    DISPATCH_EVENTS,
    SEND_NOTIFICATION,
    enqueue,
    enqueue_many,
)
from referral_hub.delivery.schedule import OVERDUE_SWEEPERS
from referral_hub.delivery.settings import settings
from referral_hub.extensions import db

log = logging.getLogger(__name__)


def dispatch_events(event_ids: list[str]) -> int:
    """Create the webhook deliveries of committed events and enqueue their first attempts."""
    created = dispatch.dispatch_events(event_ids)
    enqueue_many(DELIVER_WEBHOOK, [(delivery_id,) for delivery_id in created])
    return len(created)


def deliver_webhook(delivery_id: str) -> str | None:
    """Attempt one webhook delivery, if it is due and nobody else holds it."""
    return dispatch.attempt_delivery(delivery_id)


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
        # Batches keep each job short; the sweeper runs again for the rest.
        for start in range(0, len(events), 100):
            enqueue(DISPATCH_EVENTS, events[start : start + 100])
    enqueue_many(SEND_NOTIFICATION, [(note_id,) for note_id in notes])
    return {"events": len(events), "notifications": len(notes)}


def retry_due_deliveries() -> int:
    """Enqueue deliveries due for a while: lost retry jobs and attempts whose worker died."""
    conf = settings()
    due = dispatch.due_delivery_ids(utcnow(), conf.outbox_sweep_after)
    db.session.rollback()
    if due:
        log.info("retry sweep: %d delivery(ies) due", len(due))
    return enqueue_many(DELIVER_WEBHOOK, [(delivery_id,) for delivery_id in due])


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
