"""Events feed, webhook subscriptions and their deliveries."""

from __future__ import annotations

from flask import request, url_for
from flask_smorest import Blueprint
from marshmallow import fields

from referral_hub.apidoc import protected
from referral_hub.delivery.dispatch import attempt_delivery
from referral_hub.delivery.models import WebhookDelivery
from referral_hub.delivery.operations import (
    create_webhook,
    delete_webhook,
    deliveries_of,
    delivery_counts,
    events_after,
    get_webhook,
    ping_webhook,
    redeliver,
    rotate_webhook_secret,
    webhooks_of,
)
from referral_hub.delivery.schemas import (
    DeliveryCountsOut,
    DeliveryOut,
    DeliveryQueryArgs,
    FeedArgs,
    FeedOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookRotatedOut,
)
from referral_hub.extensions import db
from referral_hub.pagination import PageArgs, page_schema, paginate
from referral_hub.transaction import commit_now

blp = Blueprint(
    "delivery", __name__, url_prefix="/api/v1", description="Events feed and signed webhooks"
)

WebhookPage = page_schema(WebhookOut, "WebhookPage")
DeliveryPage = page_schema(DeliveryOut, "DeliveryPage")


class DeliveryOverviewOut(DeliveryPage):
    counts = fields.Nested(DeliveryCountsOut, required=True)


@blp.route("/events")
@blp.arguments(FeedArgs, location="query")
@blp.response(200, FeedOut)
@protected(blp, "events:read", extra={400: "A cursor this feed did not give"})
def list_events(actor, args):
    """Events that concern the caller's organisation, oldest first; follow `next_cursor`.

    Positions are given in commit order, so a client that stores `next_cursor` and asks
    again never misses an event, even one whose transaction committed late.
    """
    page = events_after(actor, args.get("after"), args["limit"])
    headers = {}
    if page["has_more"]:
        query = {"after": page["next_cursor"], "limit": args["limit"]}
        headers["Link"] = f'<{url_for(request.endpoint, _external=True, **query)}>; rel="next"'
    return page, 200, headers


@blp.route("/webhooks", methods=["POST"])
@blp.arguments(WebhookIn)
@blp.response(201, WebhookCreatedOut)
@protected(blp, "webhooks:write", extra={409: "Webhook limit reached"})
def create_one_webhook(actor, args):
    """Subscribe to events; the response carries the signing secret, shown this once."""
    hook, secret = create_webhook(actor, url=args["url"], events=args["events"])
    body = {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "created_at": hook.created_at,
        "secret": secret,
    }
    location = url_for("delivery.get_one_webhook", webhook_id=hook.id, _external=True)
    return body, 201, {"Location": location}


@blp.route("/webhooks", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, WebhookPage)
@protected(blp, "webhooks:write")
def list_webhooks(actor, args):
    """The caller's organisation's subscriptions."""
    body, headers = paginate(webhooks_of(actor), args["page"], args["page_size"])
    return body, 200, headers


@blp.route("/webhooks/<webhook_id>", methods=["GET"])
@blp.response(200, WebhookOut)
@protected(blp, "webhooks:write", extra={404: "No such webhook"})
def get_one_webhook(actor, webhook_id):
    """One subscription (never its secret)."""
    return get_webhook(actor, webhook_id)


@blp.route("/webhooks/<webhook_id>", methods=["DELETE"])
@blp.response(204)
@protected(blp, "webhooks:write", extra={404: "No such webhook"})
def delete_one_webhook(actor, webhook_id):
    """End a subscription; pending deliveries are cancelled, the history stays."""
    delete_webhook(actor, webhook_id)


@blp.route("/webhooks/<webhook_id>/rotate-secret", methods=["POST"])
@blp.response(200, WebhookRotatedOut)
@protected(blp, "webhooks:write", extra={404: "No such webhook"})
def rotate_secret(actor, webhook_id):
    """A new signing secret, shown this once; the old one keeps signing for 24 hours.

    Until `previous_secret_valid_until` every delivery carries two signatures in
    `webhook-signature` (`v1,<new> v1,<old>`, Standard Webhooks): switch the receiver to the
    new secret within that time. Then the old secret is destroyed.
    """
    hook, secret = rotate_webhook_secret(actor, webhook_id)
    return {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "created_at": hook.created_at,
        "secret_rotated_at": hook.secret_rotated_at,
        "previous_secret_expires_at": hook.previous_secret_expires_at,
        "secret": secret,
    }


@blp.route("/webhooks/<webhook_id>/ping", methods=["POST"])
@blp.response(200, DeliveryOut)
@protected(blp, "webhooks:write", extra={404: "No such webhook"})
def ping(actor, webhook_id):
    """Send a `webhook.ping` to the subscription now and report how the endpoint answered.

    It goes the way every delivery goes (URL check, signatures, recorded attempt; retried
    with backoff if it fails) and is listed with the subscription's deliveries. `status`
    is `delivered` when the endpoint answered 2xx; else `last_status_code` / `last_error`
    say why.
    """
    delivery = ping_webhook(actor, webhook_id)
    # The delivery row must exist before the attempt, which leases it and records its result
    # in transactions of its own (as a worker's attempt does). It is not left to the queue:
    # the answer reports how the endpoint answered (the guide and the tests say so), and with
    # rq workers nothing attempts a queued delivery before this request ends.
    commit_now()
    attempt_delivery(delivery.id)
    return db.session.get(WebhookDelivery, delivery.id, populate_existing=True)


@blp.route("/webhooks/<webhook_id>/deliveries")
@blp.arguments(DeliveryQueryArgs, location="query")
@blp.response(200, DeliveryPage)
@protected(blp, "webhooks:write", extra={404: "No such webhook"})
def list_webhook_deliveries(actor, args, webhook_id):
    """Deliveries of one subscription, newest first, each with every attempt."""
    query = deliveries_of(actor, webhook_id, args.get("status"))
    body, headers = paginate(query, args["page"], args["page_size"])
    return body, 200, headers


@blp.route("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver", methods=["POST"])
@blp.response(200, DeliveryOut)
@protected(blp, "webhooks:write", extra={404: "No such delivery"})
def redeliver_one(actor, webhook_id, delivery_id):
    """Send a delivery again now (dead or not), with the same `webhook-id`."""
    delivery = redeliver(actor, webhook_id, delivery_id)
    return delivery


@blp.route("/deliveries")
@blp.arguments(DeliveryQueryArgs, location="query")
@blp.response(200, DeliveryOverviewOut)
@protected(blp, "webhooks:write")
def list_deliveries(actor, args):
    """All deliveries of the organisation's webhooks, with counts by status."""
    query = deliveries_of(actor, None, args.get("status"))
    body, headers = paginate(query, args["page"], args["page_size"])
    body["counts"] = delivery_counts(actor)
    return body, 200, headers
