"""Mitra: the portal's pages for adding partners, keeping directory entries and inviting
people (`portal.organizations`, ...).

Pages of the portal's blueprint: their URLs are in `portal/blueprint.py`, which imports this
module. Who may do what is decided by directory.operations and accounts.invitations; the
pages parse, call and render.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from referral_hub.accounts import invitations
from referral_hub.accounts.models import ROLES
from referral_hub.db import utcnow
from referral_hub.directory import operations
from referral_hub.directory.models import CAPACITY_STATUSES, PARTNER_TYPES, Service
from referral_hub.extensions import db
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.code_names import ROLE_LABELS, label
from referral_hub.portal.forms import FormState, flash_refusal, read_form
from referral_hub.portal.regions import read_region
from referral_hub.problems import Problem

WRITE = "directory:write"
CONTACT_ROWS = 3


def _services() -> list[tuple[str, str]]:
    return [
        (s.code, s.name_id)
        for s in db.session.scalars(select(Service).order_by(Service.position, Service.code))
    ]


def _contacts_from_form() -> list[dict[str, str]]:
    rows = []
    for i in range(CONTACT_ROWS):
        row = {
            k: (request.form.get(f"contact_{k}_{i}") or "").strip()
            for k in ("name", "title", "phone", "email")
        }
        if any(row.values()):
            rows.append(row)
    return rows


@login_required(permission=WRITE)
def organizations():
    """The entries the admin keeps: its own, the partners it added (all, for the operator)."""
    actor = portal_actor()
    listed = operations.maintained_by(actor)
    answering = operations.on_hub_ids({o.id for o in listed})
    return render_template(
        "portal/organizations.html",
        organizations=listed,
        answering=answering,
        may_add=operations.may_add_organizations(actor),
        type_label=lambda code: label("org_type", code),
    )


@login_required(permission=WRITE)
def organization_new():
    """Add a partner: type, region (by name or code), services, work contacts."""
    actor = portal_actor()
    if not operations.may_add_organizations(actor):
        raise Problem(
            403,
            "forbidden",
            "Only the hub operator's or a UPTD's admin adds partners.",
            reason="adds-partners",
        )
    form = read_form(text=("code", "name", "type", "region_code"), lists=("services",))
    contacts: list[dict[str, str]] = []
    if request.method == "POST":
        contacts = _contacts_from_form()
        form.require("code", "name", "type")
        read_region(form.values, form.errors, "region_code")
        if not form.errors:
            try:
                org = operations.create_organization(
                    actor,
                    code=str(form.values["code"]),
                    name=str(form.values["name"]),
                    type=str(form.values["type"]),
                    region_code=str(form.values["region_code"] or "") or None,
                    services=list(form.values["services"]),  # type: ignore[arg-type]
                    contacts=contacts,
                )
            except Problem as problem:
                form.refused(problem)
            else:
                flash(_("Mitra %(name)s ditambahkan.", name=org.name), "success")
                return redirect(url_for("portal.organization", id_or_code=org.code))
    types = [t for t in PARTNER_TYPES if t != "hub_operator" or actor.is_hub_operator]
    return (
        render_template(
            "portal/organization_new.html",
            form=form,
            types=[(t, label("org_type", t)) for t in types],
            services=_services(),
            contacts=contacts + [{}] * (CONTACT_ROWS - len(contacts)),
        ),
        422 if form.invalid else 200,
    )


def _page(id_or_code: str, *, edit: FormState | None = None, invite: FormState | None = None):
    actor = portal_actor()
    org = operations.find_organization(id_or_code)
    if org is None:
        raise Problem(404, "not-found", "No such organisation.", reason="no-organization")
    may_edit = operations.may_maintain(actor, org)
    may_invite = invitations.may_invite(actor, org)
    if not (may_edit or may_invite):
        raise Problem(
            403,
            "forbidden",
            "You neither keep this organisation nor invite into it.",
            reason="keeps-or-invites",
        )
    listed = (
        list(db.session.scalars(invitations.invitations_query(actor, org.id))) if may_invite else []
    )
    offers = {s.service_code: s.capacity_status for s in org.services}
    contacts = list(org.contacts or [])
    failed = bool((edit and edit.invalid) or (invite and invite.invalid))
    return (
        render_template(
            "portal/organization.html",
            org=org,
            on_hub=operations.is_on_hub(org),
            may_edit=may_edit,
            may_invite=may_invite,
            invitations=listed,
            now=utcnow(),
            offers=offers,
            services=_services(),
            capacities=[(c, label("capacity", c)) for c in CAPACITY_STATUSES],
            contacts=contacts + [{}] * max(0, CONTACT_ROWS - len(contacts)),
            edit=edit or FormState({"name": org.name}),
            invite=invite or FormState({"role": "org_admin"}),
            roles=[(r, ROLE_LABELS[r]) for r in ROLES],
            type_label=label("org_type", org.type),
        ),
        422 if failed else 200,
    )


@login_required(permission=WRITE)
def organization(id_or_code: str):
    """One entry: its services and focal points (editable by who keeps it), its invitations."""
    return _page(id_or_code)


@login_required(permission=WRITE)
def organization_edit(id_or_code: str):
    """Save the name, the services with their capacity, and the focal points."""
    actor = portal_actor()
    org = operations.require_maintainable(actor, id_or_code)
    form = read_form(text=("name",), lists=("services",))
    form.require("name")
    if form.errors:
        return _page(org.id, edit=form)
    chosen = list(form.values["services"])  # type: ignore[arg-type]
    services = [
        {"code": code, "capacity_status": request.form.get(f"capacity_{code}") or "available"}
        for code in chosen
    ]
    try:
        operations.update_organization(
            actor, org.id, name=str(form.values["name"]), services=services,
            contacts=_contacts_from_form(),
        )  # fmt: skip
    except Problem as problem:
        form.refused(problem)
        return _page(org.id, edit=form)
    flash(_("Data %(name)s disimpan.", name=org.name), "success")
    return redirect(url_for("portal.organization", id_or_code=org.code))


@login_required(permission=WRITE)
def organization_invite(id_or_code: str):
    """Invite a person by e-mail: the single-use link goes to that address."""
    actor = portal_actor()
    org = operations.find_organization(id_or_code)
    if org is None:
        raise Problem(404, "not-found", "No such organisation.", reason="no-organization")
    if not invitations.may_invite(actor, org):
        raise Problem(
            403, "forbidden", "You may not invite people into this organisation.", reason="invites"
        )
    form = read_form(text=("email", "role"))
    form.require("email", "role")
    if form.errors:
        return _page(org.id, invite=form)
    try:
        invitation, _token = invitations.create_invitation(
            actor, org.id, email=str(form.values["email"]), role=str(form.values["role"])
        )
    except Problem as problem:
        if problem.status == 409:
            flash_refusal(problem)
            return redirect(url_for("portal.organization", id_or_code=org.code))
        form.refused(problem)
        return _page(org.id, invite=form)
    flash(
        _("Undangan dikirim ke %(email)s; tautannya berlaku 7 hari.", email=invitation.email),
        "success",
    )
    return redirect(url_for("portal.organization", id_or_code=org.code))


@login_required(permission=WRITE)
def organization_invitation_revoke(id_or_code: str, invitation_id: str):
    """Revoke an open invitation: its link stops working at once."""
    try:
        invitation = invitations.revoke_invitation(portal_actor(), id_or_code, invitation_id)
    except Problem as problem:
        flash_refusal(problem)
    else:
        flash(_("Undangan untuk %(email)s dicabut.", email=invitation.email), "success")
    return redirect(url_for("portal.organization", id_or_code=id_or_code))
