"""Wire shapes of the directory."""

from marshmallow import Schema, ValidationError, fields, validate

from referral_hub.directory.models import PARTNER_TYPES
from referral_hub.directory.regions import CODE, LEVELS, get_region, region_name
from referral_hub.pagination import PageArgs

LEVEL_NAMES = {1: "province", 2: "regency or city", 3: "district", 4: "village"}


class KnownRegion(validate.Validator):
    """A Kemendagri code of a region that exists, at one of `levels`; the error names it."""

    def __init__(self, levels: tuple[int, ...] = LEVELS) -> None:
        self.levels = levels

    def __call__(self, value: str) -> str:
        if not isinstance(value, str) or not CODE.match(value):
            raise ValidationError(f"'{value}' is not a Kemendagri region code (e.g. 64.09).")
        region = get_region(value)
        if region is None:
            raise ValidationError(f"No Kemendagri region has the code '{value}'.")
        if region.level not in self.levels:
            raise ValidationError(
                f"'{value}' ({region.name}) is a {LEVEL_NAMES[region.level]}, "
                "which this field does not take."
            )
        return value


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
    region_name = fields.Function(
        lambda o: region_name(o.region_code),
        allow_none=True,
        required=True,
        metadata={"description": "the Kemendagri name of region_code"},
    )
    parent = fields.Nested(OrganizationRefOut, allow_none=True, required=True)
    services = fields.List(fields.Nested(OfferedServiceOut), required=True)


class OrganizationQueryArgs(PageArgs):
    type = fields.String(validate=validate.OneOf(PARTNER_TYPES))
    region = fields.String(
        validate=KnownRegion(),
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


class RegionOut(Schema):
    code = fields.String(required=True, metadata={"description": 'Kemendagri code, "64.09"'})
    name = fields.String(required=True)
    level = fields.Integer(
        required=True,
        metadata={"description": "1 province, 2 regency or city, 3 district, 4 village"},
    )
    parent = fields.String(allow_none=True, required=True)


class RegionQueryArgs(PageArgs):
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": 'name ("balikpapan") or the start of a code ("64.7")'},
    )
    parent = fields.String(
        validate=KnownRegion(levels=(1, 2, 3)),
        metadata={"description": "only the direct children of this region"},
    )
    level = fields.Integer(validate=validate.OneOf(LEVELS))
