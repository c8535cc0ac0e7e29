"""Wire shapes of the directory."""

from marshmallow import Schema, fields, validate

from referral_hub.directory.models import PARTNER_TYPES
from referral_hub.pagination import PageArgs


class OrganizationRefOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)


class OfferedServiceOut(Schema):
    code = fields.String(required=True, attribute="service_code")
    name = fields.Function(lambda s: s.service.name_id, required=True)
    name_en = fields.Function(lambda s: s.service.name_en, required=True)
    capacity_status = fields.String(required=True)


class OrganizationOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    region_code = fields.String(allow_none=True, required=True)
    parent = fields.Nested(OrganizationRefOut, allow_none=True, required=True)
    services = fields.List(fields.Nested(OfferedServiceOut), required=True)


class OrganizationQueryArgs(PageArgs):
    type = fields.String(validate=validate.OneOf(PARTNER_TYPES))
    region = fields.String(
        validate=validate.Regexp(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$"),
        metadata={"description": "Kemendagri region code; matches the region and below it"},
    )
    service = fields.String(validate=validate.Length(min=1, max=64))
    q = fields.String(
        validate=validate.Length(min=1, max=100), metadata={"description": "name contains"}
    )


class ServiceOut(Schema):
    code = fields.String(required=True)
    name_id = fields.String(required=True)
    name_en = fields.String(required=True)
    simfoni_group = fields.String(allow_none=True, required=True)
