"""From committed events to webhook deliveries, and from deliveries to attempts.

Every step is a conditional UPDATE on the delivery's row, so any number of workers (and
duplicate jobs) can run the same step: only one claims it. An attempt holds a lease on its
delivery while the HTTP request is in flight; a worker killed mid-attempt leaves the lease
to run out, and the retry sweep then sends the same message again (same `webhook-id`):
delivery is at least once, and receivers de-duplicate by that id.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from collections.abc import Sequence

from flask import current_app
from sqlalchemy import or_, select, update

from referral_hub.db import isoformat, new_id, utcnow
from referral_hub.delivery.models import (
    DeliveryAttempt,
    Event,
    Webhook,
    WebhookDelivery,
)
from referral_hub.delivery.outbox import event_payload_data
from referral_hub.delivery.sender import AttemptResult, HttpSender, WebhookSender
from referral_hub.delivery.settings import DeliverySettings, settings
from referral_hub.delivery.signing import SecretUnreadable, decrypt_secret, signed_headers
from referral_hub.extensions import db

log = logging.getLogger(__name__)

SWEEP_BATCH = 500


def retry_delay(failed_attempts: int, schedule: Sequence[float]) -> float:
    """Seconds to wait after the n-th failed attempt: full jitter below the schedule's cap."""
    cap = schedule[min(failed_attempts, len(schedule)) - 1]
    return random.uniform(0, cap)  # noqa: S311  (jitter spreads load; it protects no secret)


def next_state(
    cycle_attempts: int, cycle_started_at: dt.datetime, now: dt.datetime, conf: DeliverySettings
) -> tuple[str, dt.datetime | None]:
    """After a failed attempt: ("retrying", when) within the retry window, else ("dead", None)."""
    due = now + dt.timedelta(seconds=retry_delay(cycle_attempts, conf.retry_schedule))
    if (due - cycle_started_at).total_seconds() > conf.retry_window:
        return "dead", None
    return "retrying", due


def dispatch_events(event_ids: Sequence[str]) -> list[str]:
    """Create the deliveries of committed, undispatched events; return the new deliveries' ids."""
    created: list[str] = []
    for event_id in event_ids:
        now = utcnow()
        claimed = db.session.execute(
            update(Event)
            .where(Event.id == event_id, Event.dispatched_at.is_(None), Event.seq.is_not(None))
            .values(dispatched_at=now)
        ).rowcount
        if not claimed:
            continue  # not committed yet, unknown, or another worker did it
        item = db.session.get(Event, event_id)
        hooks = db.session.scalars(
            select(Webhook).where(
                Webhook.organization_id.in_(item.organization_ids),
                Webhook.deleted_at.is_(None),
                Webhook.created_at <= (item.recorded_at or now),
            )
        ).all()
        for hook in hooks:
            if not hook.wants(item.type):
                continue
            delivery = WebhookDelivery(
                id=new_id(),
                webhook_id=hook.id,
                event_id=item.id,
                status="pending",
                next_attempt_at=now,
                cycle_started_at=now,
                created_at=now,
            )
            db.session.add(delivery)
            created.append(delivery.id)
    db.session.commit()
    return created


def payload(item: Event, base_url: str) -> str:
    """The JSON body partners receive: type, timestamp and data, ids and links only."""
    return json.dumps(
        {
            "type": item.type,
            "timestamp": isoformat(item.occurred_at),
            "data": event_payload_data(item, base_url),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def default_sender(conf: DeliverySettings) -> WebhookSender:
    """The app's sender: a test double if one was installed, else real HTTP."""
    override = current_app.extensions.get("hub_delivery", {}).get("sender")
    if override is not None:
        return override
    return HttpSender(
        connect_timeout=conf.connect_timeout,
        read_timeout=conf.read_timeout,
        allow_loopback=conf.allow_loopback,
    )


def _claim(delivery_id: str, now: dt.datetime, conf: DeliverySettings) -> str | None:
    token = new_id()
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status.in_(("pending", "retrying")),
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
        )
        .values(
            lease_until=now + dt.timedelta(seconds=conf.lease_seconds),
            lease_token=token,
            attempts=WebhookDelivery.attempts + 1,
            cycle_attempts=WebhookDelivery.cycle_attempts + 1,
        )
    ).rowcount
    db.session.commit()
    return token if claimed else None


def attempt_delivery(delivery_id: str, sender: WebhookSender | None = None) -> str | None:
    """Make one attempt of a due delivery; return its new status (None: not due or taken)."""
    conf = settings()
    started_at = utcnow()
    token = _claim(delivery_id, started_at, conf)
    if token is None:
        return None
    delivery = db.session.get(WebhookDelivery, delivery_id)
    hook, item = delivery.webhook, delivery.event
    number, cycle_attempts = delivery.attempts, delivery.cycle_attempts
    cycle_started_at, message_id = delivery.cycle_started_at, delivery.message_id
    if hook.deleted_at is not None:
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.lease_token == token)
            .values(status="cancelled", next_attempt_at=None, lease_until=None, lease_token=None)
        )
        db.session.commit()
        return "cancelled"
    body = payload(item, current_app.config["HUB_BASE_URL"])
    try:
        secret = decrypt_secret(hook.secret_ciphertext, hook.id)
    except SecretUnreadable as error:
        log.error("webhook %s: %s", hook.id, error)
        result = AttemptResult(False, None, f"signing secret unreadable: {error}", 0)
        return _finish(delivery_id, token, number, started_at, result, ("dead", None))
    url = hook.url
    # No transaction (nor pooled connection) is held while the partner's server answers.
    db.session.commit()
    headers = signed_headers(secret, message_id, body, utcnow())
    result = (sender or default_sender(conf)).send(url, body.encode(), headers)
    finished = utcnow()
    if result.delivered:
        state: tuple[str, dt.datetime | None] = ("delivered", None)
    else:
        state = next_state(cycle_attempts, cycle_started_at, finished, conf)
    return _finish(delivery_id, token, number, started_at, result, state)


def _finish(
    delivery_id: str,
    token: str,
    number: int,
    started_at: dt.datetime,
    result: AttemptResult,
    state: tuple[str, dt.datetime | None],
) -> str:
    status, next_attempt_at = state
    now = utcnow()
    db.session.add(
        DeliveryAttempt(
            id=new_id(),
            delivery_id=delivery_id,
            number=number,
            started_at=started_at,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            error=result.error,
            outcome="delivered" if result.delivered else "failed",
            next_attempt_at=next_attempt_at,
        )
    )
    values: dict = {
        "status": status,
        "next_attempt_at": next_attempt_at,
        "lease_until": None,
        "lease_token": None,
        "last_status_code": result.status_code,
        "last_error": result.error,
    }
    if result.delivered:
        values["delivered_at"] = now
    # Only the holder of the lease decides; a redelivery asked for meanwhile stands.
    kept = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.lease_token == token)
        .values(**values)
    ).rowcount
    db.session.commit()
    if kept and status == "retrying" and next_attempt_at is not None:
        from referral_hub.delivery.jobs import DELIVER_WEBHOOK, enqueue

        enqueue(DELIVER_WEBHOOK, delivery_id, at=next_attempt_at)
    return status


def due_delivery_ids(now: dt.datetime, overdue_by: float, limit: int = SWEEP_BATCH) -> list[str]:
    """Deliveries due for longer than `overdue_by` seconds whose hand-off seems lost.

    That covers a retry whose timed job vanished, a first attempt never enqueued, and an
    attempt whose worker died (its lease ran out).
    """
    cutoff = now - dt.timedelta(seconds=overdue_by)
    return list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status.in_(("pending", "retrying")),
                WebhookDelivery.next_attempt_at <= cutoff,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
    )


def undispatched_event_ids(
    now: dt.datetime, older_than: float, limit: int = SWEEP_BATCH
) -> list[str]:
    """Committed events whose dispatch never happened (the after-commit hand-off was lost)."""
    cutoff = now - dt.timedelta(seconds=older_than)
    return list(
        db.session.scalars(
            select(Event.id)
            .where(Event.dispatched_at.is_(None), Event.recorded_at <= cutoff)
            .order_by(Event.recorded_at)
            .limit(limit)
        )
    )
