"""The rules of the events feed and of webhook subscriptions, for every caller."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select, update

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.db import isoformat, new_id, utcnow
from referral_hub.delivery.jobs import DRAIN_WEBHOOK
from referral_hub.delivery.models import (
    DELIVERY_STATUSES,
    Event,
    EventAudience,
    Webhook,
    WebhookDelivery,
)
from referral_hub.delivery.outbox import EVENT_TYPES, enqueue_after_commit
from referral_hub.delivery.settings import settings
from referral_hub.delivery.signing import (
    SecretUnreadable,
    decrypt_secret,
    encrypt_secret,
    new_secret,
)
from referral_hub.delivery.urlguard import UnsafeWebhookURL, checked_target
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

WEBHOOK_URL_NOT_ALLOWED = register_problem(
    "webhook-url-not-allowed", "The webhook URL is not allowed"
)
WEBHOOK_LIMIT_REACHED = register_problem(
    "webhook-limit-reached", "The organisation has as many webhooks as it may"
)
INVALID_CURSOR = register_problem("invalid-cursor", "The cursor is not one this feed gave")

MAX_FEED_LIMIT = 100
#: After a rotation, deliveries are signed with the old secret too for this long.
SECRET_OVERLAP = dt.timedelta(hours=24)
PING_EVENT = "webhook.ping"
#: Cursors name their version; "e1:" (unsigned, before 2026-05) is no longer accepted.
_CURSOR_PREFIX = "e2:"
_CURSOR_MAC_BYTES = 12


def _organization_of(actor: Actor) -> str:
    if not actor.organization_id:
        raise Problem(403, "forbidden", "Only an organisation's users and clients have a feed.")
    return actor.organization_id


# --- events feed ----------------------------------------------------------------------------


def _cursor_mac(organization_id: str, seq: int) -> str:
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    message = f"feed|{organization_id}|{seq}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:_CURSOR_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def encode_cursor(organization_id: str, seq: int) -> str:
    """The opaque cursor of a position in one organisation's feed.

    It carries a MAC (the app's secret key) over the organisation and the position, so a
    cursor the feed did not give (made up, edited, or another organisation's) is refused
    instead of silently skipping events or reading from a position that never existed.
    """
    text = f"{_CURSOR_PREFIX}{seq}:{_cursor_mac(organization_id, seq)}"
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def decode_cursor(organization_id: str, cursor: str | None) -> int:
    """The feed position a cursor stands for (0 for none); Problem 400 if the feed did not
    give it to this organisation."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(text)
        position, mac = text.removeprefix(_CURSOR_PREFIX).split(":", 1)
        seq = int(position)
        if seq < 0 or not hmac.compare_digest(mac, _cursor_mac(organization_id, seq)):
            raise ValueError(text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Problem(
            400,
            INVALID_CURSOR,
            "Pass back a `next_cursor` (or an item's `cursor`) exactly as this feed gave it.",
            errors={"after": ["Not a cursor of this feed."]},
        ) from None
    return seq


def events_after(actor: Actor, after: str | None, limit: int) -> dict[str, Any]:
    """The caller's organisation's events after a cursor, oldest first, and where to go on."""
    org_id = _organization_of(actor)
    position = decode_cursor(org_id, after)
    limit = max(1, min(limit, MAX_FEED_LIMIT))
    rows = db.session.execute(
        select(Event, EventAudience.event_seq)
        .join(EventAudience, EventAudience.event_id == Event.id)
        .where(EventAudience.organization_id == org_id, EventAudience.event_seq > position)
        .order_by(EventAudience.event_seq)
        .limit(limit + 1)
    ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1][1] if rows else position
    for item, seq in rows:
        item.feed_cursor = encode_cursor(org_id, seq)  # read by EventOut (not stored)
    return {
        "items": [item for item, _ in rows],
        "next_cursor": encode_cursor(org_id, last),
        "has_more": has_more,
    }


# --- webhook subscriptions -------------------------------------------------------------------


def create_webhook(actor: Actor, *, url: str, events: list[str]) -> tuple[Webhook, str]:
    """Subscribe the caller's organisation; return the webhook and its secret (shown once)."""
    org_id = _organization_of(actor)
    conf = settings()
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise Problem(
            422,
            "validation-error",
            "Unknown event types.",
            errors={"events": [f"Unknown event type: {name}" for name in unknown]},
        )
    try:
        checked_target(url, allow_loopback=conf.allow_loopback)
    except UnsafeWebhookURL as error:
        raise Problem(
            422,
            WEBHOOK_URL_NOT_ALLOWED,
            f"The URL {error}.",
            errors={"url": [f"The URL {error}."]},
        ) from None
    count = db.session.scalar(
        select(func.count())
        .select_from(Webhook)
        .where(Webhook.organization_id == org_id, Webhook.deleted_at.is_(None))
    )
    if count >= conf.webhooks_per_organization:
        raise Problem(
            409,
            WEBHOOK_LIMIT_REACHED,
            f"An organisation may hold {conf.webhooks_per_organization} webhooks; "
            "delete one it no longer uses.",
            limit=conf.webhooks_per_organization,
        )
    secret = new_secret()
    hook = Webhook(
        id=new_id(),
        organization_id=org_id,
        url=url,
        events=sorted(set(events)),
        created_at=utcnow(),
        created_by=actor.user_id or actor.client_id or actor.label,
    )
    hook.secret_ciphertext = encrypt_secret(secret, hook.id)
    db.session.add(hook)
    db.session.flush()
    audit.record(actor, "webhook.created", "webhook", hook.id, {"url": url, "events": hook.events})
    return hook, secret


def webhooks_of(actor: Actor) -> Select:
    """The caller's organisation's live subscriptions, newest first."""
    org_id = _organization_of(actor)
    return (
        select(Webhook)
        .where(Webhook.organization_id == org_id, Webhook.deleted_at.is_(None))
        .order_by(Webhook.created_at.desc(), Webhook.id)
    )


def get_webhook(actor: Actor, webhook_id: str) -> Webhook:
    """One of the caller's organisation's subscriptions, or 404."""
    org_id = _organization_of(actor)
    hook = db.session.get(Webhook, webhook_id)
    if hook is None or hook.organization_id != org_id or hook.deleted_at is not None:
        raise Problem(404, "not-found", "No such webhook.", reason="no-webhook")
    return hook


def delete_webhook(actor: Actor, webhook_id: str) -> None:
    """End a subscription: nothing more is sent; its delivery history stays for the audit."""
    hook = get_webhook(actor, webhook_id)
    now = utcnow()
    hook.deleted_at = now
    db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.webhook_id == hook.id,
            WebhookDelivery.status.in_(("pending", "retrying")),
        )
        .values(status="cancelled", next_attempt_at=None)
    )
    audit.record(actor, "webhook.deleted", "webhook", hook.id, {"url": hook.url})
    db.session.flush()


def deliveries_of(actor: Actor, webhook_id: str | None = None, status: str | None = None):
    """Deliveries of the organisation's webhooks (or of one of them), newest first."""
    org_id = _organization_of(actor)
    query = (
        select(WebhookDelivery)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(Webhook.organization_id == org_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
    )
    if webhook_id is not None:
        get_webhook(actor, webhook_id)
        query = query.where(WebhookDelivery.webhook_id == webhook_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    return query


def delivery_counts(actor: Actor) -> dict[str, int]:
    """How many of the organisation's deliveries are in each status."""
    org_id = _organization_of(actor)
    counts = dict.fromkeys(DELIVERY_STATUSES, 0)
    rows = db.session.execute(
        select(WebhookDelivery.status, func.count())
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(Webhook.organization_id == org_id)
        .group_by(WebhookDelivery.status)
    ).all()
    for status, count in rows:
        counts[status] = count
    return counts


def redeliver(actor: Actor, webhook_id: str, delivery_id: str) -> WebhookDelivery:
    """Send a delivery again now, whatever became of it, with the same webhook-id."""
    hook = get_webhook(actor, webhook_id)
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.webhook_id != hook.id:
        raise Problem(404, "not-found", "No such delivery of this webhook.", reason="no-delivery")
    now = utcnow()
    previous = delivery.status
    delivery.status = "pending"
    delivery.next_attempt_at = now
    delivery.cycle_attempts = 0
    delivery.cycle_started_at = now
    # An attempt still in flight keeps running, but its result no longer decides the status.
    delivery.lease_until = None
    delivery.lease_token = None
    audit.record(
        actor,
        "webhook.redelivery_requested",
        "webhook_delivery",
        delivery.id,
        {"webhook_id": hook.id, "event_id": delivery.event_id, "previous_status": previous},
    )
    db.session.flush()
    enqueue_after_commit(DRAIN_WEBHOOK, hook.id, coalesce=True)
    return delivery


# --- secret rotation and ping -------------------------------------------------------------


def rotate_webhook_secret(actor: Actor, webhook_id: str) -> tuple[Webhook, str]:
    """Give a subscription a new signing secret; return it (shown this once).

    For SECRET_OVERLAP the secret it replaces still signs too (two `v1,` signatures), so the
    receiver can switch at its own pace; then it is destroyed (destroy_expired_secrets). A
    rotation during an overlap replaces the older pair: the secret in use until now is the
    one kept, the one before it is destroyed at once.
    """
    hook = get_webhook(actor, webhook_id)
    now = utcnow()
    try:
        current = decrypt_secret(hook.secret_ciphertext, hook.id)
    except SecretUnreadable:
        current = None  # nothing to keep: it signed nothing the receiver could verify
    secret = new_secret()
    hook.secret_ciphertext = encrypt_secret(secret, hook.id)
    if current is not None:
        hook.previous_secret_ciphertext = encrypt_secret(current, hook.id, previous=True)
        hook.previous_secret_expires_at = now + SECRET_OVERLAP
    else:
        hook.previous_secret_ciphertext = None
        hook.previous_secret_expires_at = None
    hook.secret_rotated_at = now
    audit.record(
        actor,
        "webhook.secret_rotated",
        "webhook",
        hook.id,
        {
            "previous_valid_until": isoformat(hook.previous_secret_expires_at)
            if hook.previous_secret_expires_at
            else None
        },
    )
    db.session.flush()
    return hook, secret


def destroy_expired_secrets(now: dt.datetime | None = None) -> int:
    """Destroy the previous secrets whose overlap has ended; how many."""
    now = now or utcnow()
    return db.session.execute(
        update(Webhook)
        .where(
            Webhook.previous_secret_ciphertext.is_not(None),
            Webhook.previous_secret_expires_at <= now,
        )
        .values(previous_secret_ciphertext=None, previous_secret_expires_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def ping_webhook(actor: Actor, webhook_id: str) -> WebhookDelivery:
    """Queue a `webhook.ping` to one subscription, as a delivery like any other.

    It goes the normal way (URL guard, signatures, attempts recorded), to this subscription
    only and whatever its `events`; it is not in any organisation's feed (the event has no
    audience). The caller then attempts it (api: at once) and reads the result.
    """
    hook = get_webhook(actor, webhook_id)
    now = utcnow()
    item = Event(
        id=new_id(),
        type=PING_EVENT,
        occurred_at=now,
        recorded_at=now,
        dispatched_at=now,  # its one delivery is made here, not by the dispatcher
        subject_type="webhook",
        subject_id=hook.id,
        actor_organization_id=actor.organization_id,
        data={"webhook_id": hook.id},
    )
    delivery = WebhookDelivery(
        id=new_id(),
        webhook_id=hook.id,
        event_id=item.id,
        status="pending",
        next_attempt_at=now,
        cycle_started_at=now,
        created_at=now,
    )
    db.session.add_all([item, delivery])
    db.session.flush()
    audit.record(
        actor,
        "webhook.ping_requested",
        "webhook_delivery",
        delivery.id,
        {"webhook_id": hook.id, "event_id": item.id},
    )
    return delivery
