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


class CheckpointOut(Schema):
    entries = fields.Integer(
        required=True, metadata={"description": "the chain's length when signed"}
    )
    head = fields.String(required=True, metadata={"description": "the hash of entry `entries`"})
    at = fields.String(
        required=True,
        metadata={
            "format": "date-time",
            "description": "when it was signed: RFC 3339 UTC to the second, exactly as signed",
        },
    )
    key_id = fields.String(required=True, metadata={"description": "see GET /api/v1/audit/keys"})
    signature = fields.String(
        required=True,
        metadata={"description": "base64 of the Ed25519 signature of the signed text"},
    )
    previous = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "digest of the checkpoint before it; null for the first"},
    )


class CheckpointQueryArgs(Schema):
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "how many, newest first"},
    )


class AuditKeyOut(Schema):
    key_id = fields.String(required=True)
    algorithm = fields.String(required=True, metadata={"enum": ["Ed25519"]})
    public_key = fields.String(
        required=True, metadata={"description": "base64 of the raw 32-byte public key"}
    )
    current = fields.Boolean(
        required=True, metadata={"description": "signs new checkpoints; others are retired"}
    )


class CheckpointFailureOut(Schema):
    source = fields.String(
        required=True, metadata={"description": "`stored`, or the kept file checked"}
    )
    checkpoint = fields.String(required=True)
    entries = fields.Integer(required=True)
    at = fields.String(required=True)
    reason = fields.String(required=True)


class CheckpointVerificationOut(Schema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True)
    last = fields.Nested(CheckpointOut, required=True, allow_none=True)
    failures = fields.List(fields.Nested(CheckpointFailureOut), required=True)


class RecordFailureOut(Schema):
    object_type = fields.String(
        required=True, metadata={"enum": ["referral", "consent", "agreement"]}
    )
    object_id = fields.String(required=True)
    fields_ = fields.List(
        fields.String(),
        required=True,
        attribute="fields",
        data_key="fields",
        metadata={"description": "the deciding fields that no longer match the chain"},
    )
    reason = fields.String(required=True, metadata={"enum": ["changed", "unrecorded"]})


class RecordsVerificationOut(Schema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True, metadata={"description": "rows checked"})
    failed = fields.Integer(required=True, metadata={"description": "rows that do not match"})
    failures = fields.List(
        fields.Nested(RecordFailureOut),
        required=True,
        metadata={"description": "those of them the caller's organisation is concerned by"},
    )


class VerificationOut(Schema):
    ok = fields.Boolean(
        required=True, metadata={"description": "the chain, its checkpoints and the rows agree"}
    )
    entries = fields.Integer(required=True)
    head = fields.String(required=True)
    first_bad_seq = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    checkpoints = fields.Nested(CheckpointVerificationOut, required=True)
    records = fields.Nested(
        RecordsVerificationOut,
        required=True,
        metadata={"description": "referrals, consents and agreements against the chain"},
    )
