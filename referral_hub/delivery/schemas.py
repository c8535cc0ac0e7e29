"""Wire shapes of the events feed, webhooks and deliveries."""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate

from referral_hub.delivery.models import DELIVERY_STATUSES
from referral_hub.delivery.outbox import EVENT_TYPES, event_payload_data
from referral_hub.delivery.urlguard import MAX_URL_LENGTH
from referral_hub.pagination import PageArgs


class FeedArgs(Schema):
    after = fields.String(
        validate=validate.Length(max=64),
        metadata={"description": "`next_cursor` of the previous page; none: from the start"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class SubjectOut(Schema):
    type = fields.String(required=True)
    id = fields.String(required=True)


class EventOut(Schema):
    id = fields.String(required=True)
    type = fields.String(required=True, metadata={"enum": list(EVENT_TYPES)})
    occurred_at = fields.DateTime(required=True)
    subject = fields.Method(
        "get_subject",
        metadata={
            "type": "object",
            "properties": {"type": {"type": "string"}, "id": {"type": "string"}},
            "required": ["type", "id"],
        },
    )
    data = fields.Method(
        "get_data",
        metadata={
            "description": "The event's payload, as its webhook carries it (`webhooks` in this "
            "document; schemas/events/<type>.json): by `type`.",
            "allOf": [{"$ref": "#/components/schemas/EventData"}],
        },
    )
    cursor = fields.Method("get_cursor", metadata={"type": "string"})

    def get_subject(self, item):
        return {"type": item.subject_type, "id": item.subject_id}

    def get_data(self, item):
        return event_payload_data(item, current_app.config["HUB_BASE_URL"])

    def get_cursor(self, item):
        # Set by events_after: a cursor is bound to the organisation whose feed it is.
        return getattr(item, "feed_cursor", None)


class FeedOut(Schema):
    items = fields.List(fields.Nested(EventOut), required=True)
    next_cursor = fields.String(
        required=True, metadata={"description": "pass as `after` for the next page"}
    )
    has_more = fields.Boolean(required=True)


class WebhookIn(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=MAX_URL_LENGTH))
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        load_default=list,
        validate=validate.Length(max=len(EVENT_TYPES)),
        metadata={"description": "event types to receive; empty: all"},
    )


class WebhookOut(Schema):
    id = fields.String(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    secret_rotated_at = fields.DateTime(
        allow_none=True, metadata={"description": "when the secret was last rotated"}
    )
    previous_secret_valid_until = fields.DateTime(
        attribute="previous_secret_expires_at",
        allow_none=True,
        metadata={
            "description": "until then deliveries also carry a signature under the secret "
            "the last rotation replaced; null when there is none"
        },
    )


class WebhookCreatedOut(WebhookOut):
    secret = fields.String(
        required=True,
        metadata={"description": "whsec_... signing secret; shown only in this response"},
    )


class WebhookRotatedOut(WebhookCreatedOut):
    """The subscription with its new secret, shown only in this response."""


class AttemptOut(Schema):
    number = fields.Integer(required=True)
    started_at = fields.DateTime(required=True)
    duration_ms = fields.Integer(required=True)
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    outcome = fields.String(required=True)
    next_attempt_at = fields.DateTime(allow_none=True)


class DeliveryOut(Schema):
    id = fields.String(required=True)
    webhook_id = fields.String(required=True)
    event_id = fields.String(required=True)
    event_type = fields.Function(lambda d: d.event.type, metadata={"type": "string"})
    message_id = fields.String(
        required=True, metadata={"description": "the `webhook-id` header, stable across retries"}
    )
    status = fields.String(required=True, metadata={"enum": list(DELIVERY_STATUSES)})
    attempt_count = fields.Integer(attribute="attempts", required=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    attempts = fields.List(fields.Nested(AttemptOut), attribute="attempt_log", required=True)


class DeliveryQueryArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))


class DeliveryCountsOut(Schema):
    pending = fields.Integer(required=True)
    retrying = fields.Integer(required=True)
    delivered = fields.Integer(required=True)
    dead = fields.Integer(required=True)
    cancelled = fields.Integer(required=True)
