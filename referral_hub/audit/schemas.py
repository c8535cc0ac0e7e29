"""Wire shapes of the audit log."""

from marshmallow import Schema, fields, validate

from referral_hub.pagination import PageArgs


class AuditEntryOut(Schema):
    seq = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor_kind = fields.String(required=True)
    actor_user_id = fields.String(allow_none=True)
    actor_client_id = fields.String(allow_none=True)
    actor_label = fields.String(allow_none=True)
    organization_id = fields.String(allow_none=True)
    subject_organization_id = fields.String(allow_none=True)
    action = fields.String(required=True)
    object_type = fields.String(required=True)
    object_id = fields.String(allow_none=True)
    detail = fields.Dict(required=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


class AuditQueryArgs(PageArgs):
    object_type = fields.String(validate=validate.Length(min=1, max=32))
    object_id = fields.String(validate=validate.Length(min=1, max=64))
    actor = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "user id, client id or organisation id"},
    )
    action = fields.String(validate=validate.Length(min=1, max=64))
    since = fields.AwareDateTime(metadata={"description": "RFC 3339 with offset"})


class VerificationOut(Schema):
    ok = fields.Boolean(required=True)
    entries = fields.Integer(required=True)
    head = fields.String(required=True)
    first_bad_seq = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
