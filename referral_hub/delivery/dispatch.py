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
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

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
DISPATCH_BATCH = 200
#: Requests one drain has in flight at once to the same subscription.
PARALLEL_REQUESTS = 8


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


def dispatch_pending(limit: int = DISPATCH_BATCH) -> tuple[int, list[str]]:
    """Create the deliveries of a batch of committed, undispatched events, oldest first.

    Returns how many events it dispatched and the webhooks that got deliveries. Workers
    running this at once take different events (PostgreSQL skips rows another holds; the
    conditional update settles the rest).
    """
    now = utcnow()
    candidates = db.session.scalars(
        select(Event.id)
        .where(Event.dispatched_at.is_(None), Event.seq.is_not(None))
        .order_by(Event.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        db.session.rollback()
        return 0, []
    claimed = db.session.scalars(
        update(Event)
        .where(Event.id.in_(candidates), Event.dispatched_at.is_(None))
        .values(dispatched_at=now)
        .returning(Event.id)
    ).all()
    items = db.session.scalars(select(Event).where(Event.id.in_(claimed)).order_by(Event.seq)).all()
    audience = {org_id for item in items for org_id in item.organization_ids}
    hooks = db.session.scalars(
        select(Webhook).where(Webhook.organization_id.in_(audience), Webhook.deleted_at.is_(None))
    ).all()
    touched: set[str] = set()
    for item in items:
        orgs = set(item.organization_ids)
        for hook in hooks:
            # A subscription receives what commits after it was made, of the types it asked for.
            if (
                hook.organization_id not in orgs
                or not hook.wants(item.type)
                or hook.created_at > (item.recorded_at or now)
            ):
                continue
            db.session.add(
                WebhookDelivery(
                    id=new_id(),
                    webhook_id=hook.id,
                    event_id=item.id,
                    status="pending",
                    next_attempt_at=now,
                    cycle_started_at=now,
                    created_at=now,
                )
            )
            touched.add(hook.id)
    db.session.commit()
    return len(items), sorted(touched)


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


def signing_secrets(hook: Webhook, at: dt.datetime) -> tuple[str, ...]:
    """The secrets a delivery at `at` is signed with: the current one, and the one a rotation
    replaced until its overlap ends (then it no longer signs, whether or not the sweep has
    destroyed it yet). SecretUnreadable if the current one does not decrypt; a previous one
    that does not is left out (logged): the current signature still goes."""
    found = [decrypt_secret(hook.secret_ciphertext, hook.id)]
    if (
        hook.previous_secret_ciphertext is not None
        and hook.previous_secret_expires_at is not None
        and at < hook.previous_secret_expires_at
    ):
        try:
            found.append(decrypt_secret(hook.previous_secret_ciphertext, hook.id, previous=True))
        except SecretUnreadable as error:
            log.error("webhook %s, previous secret: %s", hook.id, error)
    return tuple(found)


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


@dataclass
class _Attempt:
    """One claimed delivery on its way out."""

    delivery_id: str
    webhook_id: str
    number: int
    cycle_attempts: int
    cycle_started_at: dt.datetime
    url: str = ""
    body: str = ""
    #: The current secret, and the one a rotation replaced while their overlap lasts.
    secrets: tuple[str, ...] = ()
    message_id: str = ""
    started_at: dt.datetime | None = None
    result: AttemptResult | None = None
    state: tuple[str, dt.datetime | None] = ("retrying", None)


def _claim(delivery_ids: Sequence[str], now: dt.datetime, conf: DeliverySettings) -> str | None:
    """Lease the due, unleased deliveries among `delivery_ids`; return the lease token."""
    token = new_id()
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id.in_(list(delivery_ids)),
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
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return token if claimed else None


def attempt_delivery(delivery_id: str, sender: WebhookSender | None = None) -> str | None:
    """Make one attempt of a due delivery; return its new status (None: not due or taken)."""
    return attempt_deliveries([delivery_id], sender).get(delivery_id)


def attempt_deliveries(
    delivery_ids: Sequence[str], sender: WebhookSender | None = None
) -> dict[str, str]:
    """Attempt the due deliveries among `delivery_ids` at once; return {id: new status}.

    Claiming and recording are one transaction each for the whole batch; the requests go
    out in parallel, none of them inside a transaction.
    """
    conf = settings()
    started_at = utcnow()
    token = _claim(delivery_ids, started_at, conf)
    if token is None:
        return {}
    claimed = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.lease_token == token)
    ).all()
    base_url = current_app.config["HUB_BASE_URL"]
    batch: list[_Attempt] = []
    for delivery in claimed:
        hook, item = delivery.webhook, delivery.event
        attempt = _Attempt(
            delivery_id=delivery.id,
            webhook_id=hook.id,
            number=delivery.attempts,
            cycle_attempts=delivery.cycle_attempts,
            cycle_started_at=delivery.cycle_started_at,
            url=hook.url,
            message_id=delivery.message_id,
        )
        if hook.deleted_at is not None:
            attempt.state = ("cancelled", None)
        else:
            attempt.body = payload(item, base_url)
            try:
                attempt.secrets = signing_secrets(hook, started_at)
            except SecretUnreadable as error:
                log.error("webhook %s: %s", hook.id, error)
                attempt.result = AttemptResult(
                    False, None, f"signing secret unreadable: {error}", 0
                )
                attempt.state = ("dead", None)
        batch.append(attempt)
    # No transaction (nor pooled connection) is held while partners' servers answer.
    db.session.commit()
    to_send = [a for a in batch if a.secrets]
    send = (sender or default_sender(conf)).send

    def post(attempt: _Attempt) -> None:
        attempt.started_at = utcnow()
        headers = signed_headers(
            attempt.secrets, attempt.message_id, attempt.body, attempt.started_at
        )
        attempt.result = send(attempt.url, attempt.body.encode(), headers)

    if len(to_send) == 1:
        post(to_send[0])
    elif to_send:
        with ThreadPoolExecutor(min(len(to_send), PARALLEL_REQUESTS)) as pool:
            list(pool.map(post, to_send))
    finished = utcnow()
    for attempt in to_send:
        if attempt.result.delivered:
            attempt.state = ("delivered", None)
        else:
            attempt.state = next_state(
                attempt.cycle_attempts, attempt.cycle_started_at, finished, conf
            )
    return _record(batch, token, started_at)


def _record(batch: list[_Attempt], token: str, started_at: dt.datetime) -> dict[str, str]:
    now = utcnow()
    outcome: dict[str, str] = {}
    retries: list[tuple[str, dt.datetime]] = []
    for attempt in batch:
        status, next_attempt_at = attempt.state
        values: dict = {
            "status": status,
            "next_attempt_at": next_attempt_at,
            "lease_until": None,
            "lease_token": None,
        }
        result = attempt.result
        if result is not None:
            db.session.add(
                DeliveryAttempt(
                    id=new_id(),
                    delivery_id=attempt.delivery_id,
                    number=attempt.number,
                    started_at=attempt.started_at or started_at,
                    duration_ms=result.duration_ms,
                    status_code=result.status_code,
                    error=result.error,
                    outcome="delivered" if result.delivered else "failed",
                    next_attempt_at=next_attempt_at,
                )
            )
            values["last_status_code"] = result.status_code
            values["last_error"] = result.error
            if result.delivered:
                values["delivered_at"] = now
        # Only the holder of the lease decides; a redelivery asked for meanwhile stands.
        kept = db.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == attempt.delivery_id,
                WebhookDelivery.lease_token == token,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        outcome[attempt.delivery_id] = status
        if kept and status == "retrying" and next_attempt_at is not None:
            retries.append((attempt.webhook_id, next_attempt_at))
    db.session.commit()
    if retries:
        from referral_hub.delivery.jobs import DRAIN_WEBHOOK, enqueue

        # rq's scheduler releases these on time; the retry sweep catches any it loses.
        for webhook_id, when in retries:
            enqueue(DRAIN_WEBHOOK, webhook_id, at=when)
    return outcome


def drain_webhook(
    webhook_id: str, budget_seconds: float, sender: WebhookSender | None = None
) -> int:
    """Attempt one subscription's due deliveries, oldest first, for up to `budget_seconds`.

    One partner's slow server thus holds up only its own deliveries. Returns how many
    deliveries it attempted.
    """
    deadline = time.monotonic() + budget_seconds
    started = utcnow()
    attempted = 0
    while True:
        now = utcnow()
        due = db.session.scalars(
            select(WebhookDelivery.id)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(
                WebhookDelivery.webhook_id == webhook_id,
                WebhookDelivery.status.in_(("pending", "retrying")),
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
                # New deliveries always; a retry only if it was due when the drain began, so
                # a retry drawn a few milliseconds ahead does not loop inside one drain.
                or_(
                    WebhookDelivery.cycle_attempts == 0,
                    WebhookDelivery.next_attempt_at <= started,
                ),
            )
            .order_by(WebhookDelivery.next_attempt_at, Event.seq)
            .limit(PARALLEL_REQUESTS)
        ).all()
        db.session.rollback()
        if not due or time.monotonic() > deadline:
            return attempted
        attempted += len(attempt_deliveries(due, sender))


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


def webhooks_with_overdue_deliveries(now: dt.datetime, overdue_by: float) -> list[str]:
    """The subscriptions that have deliveries due for longer than `overdue_by` seconds."""
    ids = due_delivery_ids(now, overdue_by)
    if not ids:
        return []
    return sorted(
        db.session.scalars(
            select(WebhookDelivery.webhook_id).where(WebhookDelivery.id.in_(ids)).distinct()
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
