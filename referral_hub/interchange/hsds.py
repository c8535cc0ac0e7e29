"""The partner directory as Open Referral HSDS 3.0 (`/hsds/`), for directory tools.

HSDS ids are UUIDs; the hub's are not, so each object's id is a UUIDv5 of the hub's own id
under one fixed namespace: stable across calls and releases, and mapped back by looking the
id up among the directory's (a few hundred rows, read as two columns). A service in HSDS is
one organisation's offering of one service code, so its id derives from both.

What is published: names, the service codes (as an HSDS taxonomy), the capacity as the
service's status, the region served (as a service area), the hub's code and id (as
identifiers), and the focal points to those who may see them in the directory API. No
object has a location: the hub keeps no addresses. A shelter's whereabouts are never
published, not even its region: a shelter service has no service area, and an organisation
that runs one has every location field removed before it leaves (`_without_location`), so
a location added here later cannot reach a shelter.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from referral_hub.apidoc import protected
from referral_hub.directory import operations
from referral_hub.directory.models import Organization, OrganizationService, Service
from referral_hub.directory.regions import get_region
from referral_hub.extensions import db
from referral_hub.problems import Problem

blp = Blueprint(
    "hsds",
    __name__,
    url_prefix="/hsds",
    description="The directory as Open Referral HSDS 3.0 (objects valid against its schemas)",
)

#: The namespace of every HSDS id the hub derives; never change it (ids would all change).
NAMESPACE = uuid.UUID("5d0c8a4e-2f57-5b1a-9c1e-6f1d2b7e9a30")
HSDS_VERSION = "3.0"
SCHEMA_BASE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/compiled"
#: Service codes whose place is a secret: a safe house's location endangers those inside.
SHELTER_SERVICES = frozenset({"temporary_shelter", "safe_house", "shelter"})
#: Keys that say where something is, in any HSDS object.
LOCATION_KEYS = frozenset(
    {"locations", "location", "location_id", "service_at_locations", "service_areas"}
    | {"addresses", "latitude", "longitude"}
)
#: HSDS service status for the hub's capacity status.
STATUS = {"available": "active", "limited": "active", "unavailable": "temporarily closed"}
TAXONOMY = "referral_hub-services"
MAX_PER_PAGE = 100


def hsds_id(kind: str, *parts: str) -> str:
    """The canonical UUID of one hub object (`kind` "organization", "service", ...)."""
    return str(uuid.uuid5(NAMESPACE, "/".join((kind, *parts))))


def _canonical(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


# --- mapping --------------------------------------------------------------------------


def _organization_core(org: Organization) -> dict[str, Any]:
    """The organisation's one-to-one fields (HSDS organization_list.json)."""
    region = get_region(org.region_code)
    where = f", {region.label}" if region else ""
    body: dict[str, Any] = {
        "id": hsds_id("organization", org.id),
        "name": org.name,
        "alternate_name": org.code,
        "description": f"{org.name} ({org.type}{where}) on the referral hub.",
        "uri": url_for("directory.get_one_organization", id_or_code=org.id, _external=True),
    }
    if org.parent_id:
        body["parent_organization_id"] = hsds_id("organization", org.parent_id)
    return body


def _service_core(org: Organization, offered: OrganizationService) -> dict[str, Any]:
    """One offering's one-to-one fields (HSDS service_list.json)."""
    service: Service = offered.service
    return {
        "id": hsds_id("service", org.id, service.code),
        "organization_id": hsds_id("organization", org.id),
        "name": service.name_id,
        "alternate_name": service.name_en,
        "description": f"{service.name_en} ({service.name_id}) by {org.name}.",
        "status": STATUS.get(offered.capacity_status, "active"),
    }


def _service_full(org: Organization, offered: OrganizationService) -> dict[str, Any]:
    """The offering fully nested (HSDS service.json)."""
    body = _service_core(org, offered)
    service_id = body["id"]
    code = offered.service_code
    term_id = hsds_id("taxonomy_term", code)
    body["languages"] = [
        {
            "id": hsds_id("language", org.id, code, "id"),
            "service_id": service_id,
            "name": "Bahasa Indonesia",
            "code": "id",
        }
    ]
    body["attributes"] = [
        {
            "id": hsds_id("attribute", org.id, code),
            "link_id": service_id,
            "link_type": "service_type",
            "link_entity": "service",
            "taxonomy_term_id": term_id,
            "value": code,
            "taxonomy_term": {
                "id": term_id,
                "code": code,
                "name": offered.service.name_en,
                "description": offered.service.name_id,
                "taxonomy": TAXONOMY,
                "language": "en",
            },
        }
    ]
    region = get_region(org.region_code)
    if region is not None:
        body["service_areas"] = [
            {
                "id": hsds_id("service_area", org.id, code),
                "service_id": service_id,
                "name": region.name,
                "description": f"Kemendagri region {region.code}",
                "extent": region.code,
                "extent_type": "text",
            }
        ]
    body["organization"] = _organization_core(org)
    return _without_location(body) if _is_shelter(code) or _runs_shelter(org) else body


def _contacts(actor, org: Organization) -> list[dict[str, Any]]:
    """The focal points, for those the directory API shows them to."""
    if not org.contacts or not operations.contacts_visible(actor, org):
        return []
    shown = []
    for index, contact in enumerate(org.contacts):
        contact_id = hsds_id("contact", org.id, str(index))
        item: dict[str, Any] = {
            "id": contact_id,
            "organization_id": hsds_id("organization", org.id),
        }
        for key in ("name", "title", "email"):
            if contact.get(key):
                item[key] = contact[key]
        if contact.get("phone"):
            item["phones"] = [
                {
                    "id": hsds_id("phone", org.id, str(index)),
                    "contact_id": contact_id,
                    "number": contact["phone"],
                }
            ]
        shown.append(item)
    return shown


def _organization_full(actor, org: Organization) -> dict[str, Any]:
    """The organisation fully nested (HSDS organization.json), its services included."""
    body = _organization_core(org)
    body["organization_identifiers"] = [
        {
            "id": hsds_id("organization_identifier", org.id, scheme),
            "organization_id": body["id"],
            "identifier_type": label,
            "identifier": value,
        }
        for scheme, label, value in (
            ("code", "referral_hub organisation code", org.code),
            ("id", "referral_hub organisation id", org.id),
        )
    ]
    contacts = _contacts(actor, org)
    if contacts:
        body["contacts"] = contacts
    body["services"] = []
    for offered in org.services:
        service = _service_full(org, offered)
        service.pop("organization", None)
        body["services"].append(service)
    return _without_location(body) if _runs_shelter(org) else body


def _is_shelter(service_code: str) -> bool:
    return service_code in SHELTER_SERVICES


def _runs_shelter(org: Organization) -> bool:
    return any(_is_shelter(s.service_code) for s in org.services)


def _without_location(value: Any) -> Any:
    """The object with every key that says where something is removed, at any depth."""
    if isinstance(value, dict):
        return {k: _without_location(v) for k, v in value.items() if k not in LOCATION_KEYS}
    if isinstance(value, list):
        return [_without_location(item) for item in value]
    return value


# --- finding ---------------------------------------------------------------------------


def _organization_id_of(value: str) -> str | None:
    """The hub's id of the organisation with this HSDS id, if any."""
    wanted = _canonical(value)
    if wanted is not None:
        for org_id in db.session.scalars(select(Organization.id)):
            if hsds_id("organization", org_id) == wanted:
                return org_id
    return None


def _find_organization(value: str) -> Organization:
    org_id = _organization_id_of(value)
    if org_id is None:
        raise Problem(404, "not-found", f"No organization '{value}'.")
    return db.session.get(Organization, org_id)


def _find_service(value: str) -> tuple[Organization, OrganizationService]:
    wanted = _canonical(value)
    if wanted is not None:
        pairs = db.session.execute(
            select(OrganizationService.organization_id, OrganizationService.service_code)
        )
        for org_id, code in pairs:
            if hsds_id("service", org_id, code) == wanted:
                org = db.session.get(Organization, org_id)
                return org, next(s for s in org.services if s.service_code == code)
    raise Problem(404, "not-found", f"No service '{value}'.")


# --- pages -----------------------------------------------------------------------------


class HsdsPageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    search = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Words in the name (case-insensitive)"},
    )


class HsdsServiceArgs(HsdsPageArgs):
    organization_id = fields.String(
        validate=validate.Length(max=64),
        metadata={"description": "Only the services of this organisation (its HSDS id)"},
    )


def _page(contents: list[dict[str, Any]], total: int, page: int, per_page: int) -> dict:
    pages = max(1, math.ceil(total / per_page))
    return {
        "total_items": total,
        "total_pages": pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= pages,
        "empty": not contents,
        "contents": contents,
    }


def _like(text: str) -> str:
    return "%" + text.replace("%", r"\%").replace("_", r"\_") + "%"


def _object_response(kind: str) -> dict[str, Any]:
    return {
        "description": f"An HSDS 3.0 {kind} ({SCHEMA_BASE}/{kind}.json)",
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}}
        },
    }


def _page_response(kind: str) -> dict[str, Any]:
    return {
        "description": f"An HSDS 3.0 page of {kind}s, each one valid against "
        f"{SCHEMA_BASE}/{kind}_list.json",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HsdsPage"}}},
    }


def hsds_page_schema_component() -> dict[str, Any]:
    """The HSDS page, as its own API describes it (components.schemas.Page)."""
    integer, boolean = {"type": "integer"}, {"type": "boolean"}
    return {
        "type": "object",
        "properties": {
            "total_items": integer,
            "total_pages": integer,
            "page_number": integer,
            "size": integer,
            "first_page": boolean,
            "last_page": boolean,
            "empty": boolean,
            "contents": {
                "type": "array",
                "items": {"type": "object", "additionalProperties": True},
            },
        },
        "required": [
            "total_items",
            "total_pages",
            "page_number",
            "size",
            "first_page",
            "last_page",
            "empty",
            "contents",
        ],
    }


# --- routes ----------------------------------------------------------------------------


@blp.route("/")
@blp.response(200)
@blp.doc(
    responses={
        "200": {
            "description": "This API and its relationship with HSDS",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "version": {"type": "string"},
                            "profile": {"type": "string", "format": "uri"},
                            "openapi_url": {"type": "string", "format": "uri"},
                        },
                        "required": ["version", "openapi_url"],
                    }
                }
            },
        }
    }
)
@protected(blp, "directory:read")
def hsds_meta(actor):
    """The HSDS version this API serves and where it is described."""
    return {
        "version": HSDS_VERSION,
        "profile": "https://docs.openreferral.org/en/3.0/hsds/overview.html",
        "openapi_url": url_for("api-docs.openapi_json", _external=True),
    }


@blp.route("/organizations")
@blp.arguments(HsdsPageArgs, location="query")
@blp.response(200)
@blp.doc(responses={"200": _page_response("organization")})
@protected(blp, "directory:read")
def hsds_list_organizations(actor, args):
    """Organisations with their one-to-one fields, in code order."""
    query = select(Organization).order_by(Organization.code)
    if args.get("search"):
        query = query.where(Organization.name.ilike(_like(args["search"]), escape="\\"))
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page, per_page = args["page"], args["per_page"]
    orgs = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return _page([_organization_core(o) for o in orgs], total, page, per_page)


@blp.route("/organizations/<id>")
@blp.response(200)
@blp.doc(responses={"200": _object_response("organization")})
@protected(blp, "directory:read", extra={404: "No such organization"})
def hsds_get_organization(actor, id):
    """One organisation fully nested, its services included, by its HSDS id."""
    return _organization_full(actor, _find_organization(id))


@blp.route("/services")
@blp.arguments(HsdsServiceArgs, location="query")
@blp.response(200)
@blp.doc(responses={"200": _page_response("service")})
@protected(blp, "directory:read")
def hsds_list_services(actor, args):
    """Every organisation's services with their one-to-one fields, by organisation code."""
    query = (
        select(OrganizationService)
        .join(Organization, Organization.id == OrganizationService.organization_id)
        .join(Service, Service.code == OrganizationService.service_code)
        .options(selectinload(OrganizationService.organization))
        .order_by(Organization.code, OrganizationService.service_code)
    )
    if args.get("search"):
        pattern = _like(args["search"])
        query = query.where(
            or_(
                Service.name_id.ilike(pattern, escape="\\"),
                Service.name_en.ilike(pattern, escape="\\"),
                Organization.name.ilike(pattern, escape="\\"),
            )
        )
    if args.get("organization_id") is not None:
        # An id of no organisation filters everything out, as a filter does (not a 404).
        wanted = _organization_id_of(args["organization_id"])
        query = query.where(OrganizationService.organization_id == wanted)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page, per_page = args["page"], args["per_page"]
    offered = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return _page([_service_core(o.organization, o) for o in offered], total, page, per_page)


@blp.route("/services/<id>")
@blp.response(200)
@blp.doc(responses={"200": _object_response("service")})
@protected(blp, "directory:read", extra={404: "No such service"})
def hsds_get_service(actor, id):
    """One organisation's service fully nested, by its HSDS id."""
    org, offered = _find_service(id)
    return _service_full(org, offered)
