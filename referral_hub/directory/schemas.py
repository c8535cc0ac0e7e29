"""Wire shapes of the directory."""

from marshmallow import Schema, ValidationError, fields, validate

from referral_hub.directory.models import CAPACITY_STATUSES, PARTNER_TYPES
from referral_hub.directory.regions import CODE, LEVELS, get_region, region_name
from referral_hub.pagination import PageArgs
from referral_hub.permissions import ROLES

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
    on_hub = fields.Boolean(
        required=True,
        attribute="on_hub",
        metadata={
            "description": "it answers its referrals on the hub: an active caseworker or "
            "supervisor, or an OAuth client with referrals:respond (an admin alone does not)"
        },
    )
    contacts = fields.Function(
        lambda o: o.visible_contacts or [],
        required=True,
        metadata={
            "description": "work contacts (focal points); shown to the organisation itself, "
            "the hub operator, the UPTD that added it and organisations sharing an agreement "
            "with it (one organisation's answer only; lists give none)"
        },
    )
    maintained_in_hub_at = fields.DateTime(
        allow_none=True,
        required=True,
        metadata={"description": "last added or changed in the hub; partners.yaml then keeps off"},
    )


class ContactIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    title = fields.String(validate=validate.Length(max=200))
    phone = fields.String(validate=validate.Length(max=30))
    email = fields.String(validate=validate.Length(max=254))


class OfferIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    capacity_status = fields.String(validate=validate.OneOf(CAPACITY_STATUSES))


class OrganizationIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=3, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(PARTNER_TYPES))
    region_code = fields.String(allow_none=True, validate=validate.Length(max=16))
    parent = fields.String(allow_none=True, validate=validate.Length(max=64))
    services = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)), load_default=list
    )
    contacts = fields.List(fields.Nested(ContactIn), load_default=list)


class OrganizationPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    services = fields.List(
        fields.Nested(OfferIn),
        metadata={"description": "replaces the offered services"},
    )
    capacity = fields.Dict(
        keys=fields.String(),
        values=fields.String(validate=validate.OneOf(CAPACITY_STATUSES)),
        metadata={"description": "capacity_status per offered service code"},
    )
    contacts = fields.List(fields.Nested(ContactIn), metadata={"description": "replaces them"})


class InvitationIn(Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class InvitationOut(Schema):
    id = fields.String(required=True)
    organization = fields.Nested(OrganizationRefOut, required=True)
    email = fields.String(required=True)
    role = fields.String(required=True)
    status = fields.Function(
        lambda i: i.status_at(_now()),
        required=True,
        metadata={"description": "open | accepted | revoked | expired"},
    )
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True)
    accepted_at = fields.DateTime(allow_none=True, required=True)
    revoked_at = fields.DateTime(allow_none=True, required=True)


def _now():
    from referral_hub.db import utcnow

    return utcnow()


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
