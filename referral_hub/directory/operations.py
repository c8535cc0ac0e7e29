"""The partner directory: loading partners.yaml, looking organisations up, and keeping them
in the hub (adding partners, their services, capacity and focal points).

Who may change which organisation is decided here, on `directory:write`
(referral_hub/permissions.py: an org_admin's right) and the organisation's place:

- the hub operator's admin: every organisation, and adds any;
- a UPTD PPA's admin: adds partners; keeps its own entry, and the entries of partners it
  added until those have an admin of their own (`has_own_admin`); from then on the
  partner's own admin keeps it;
- any other organisation's admin: its own entry only.

Reconciliation with partners.yaml (`load_partners`): the file is the seed. It creates the
services and organisations the hub lacks and updates those nobody changed in the hub. An
organisation added or changed in the hub carries `maintained_in_hub_at`; the file then
leaves it as the hub keeps it (name, type, region, parent, notes, services and capacity)
and reports it as kept (`=code`). Organisations only in the hub are never removed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select, union
from sqlalchemy.orm import selectinload

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.db import utcnow
from referral_hub.directory.models import (
    CAPACITY_STATUSES,
    PARTNER_TYPES,
    Organization,
    OrganizationService,
    Service,
)
from referral_hub.directory.partners_file import read_partners_file
from referral_hub.extensions import db
from referral_hub.permissions import permits, roles_with
from referral_hub.problems import Problem, register_problem

DIRECTORY_WRITE = "directory:write"
#: What makes an organisation answer its own referrals on the hub (on_hub_ids).
ANSWERS_REFERRALS = "referrals:respond"
#: Organisation types whose admins add partners to the directory.
ADDING_TYPES = ("hub_operator", "uptd_ppa")
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
REGION_PATTERN = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
MAX_CONTACTS = 10
CONTACT_FIELDS = ("name", "title", "phone", "email")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ().-]{6,24}$")

ORGANIZATION_NOT_MAINTAINABLE = register_problem(
    "organization-not-maintainable", "This organisation is kept by someone else"
)
ORGANIZATION_CODE_TAKEN = register_problem(
    "organization-code-taken", "An organisation with this code exists"
)


def find_organization(id_or_code: Any) -> Organization | None:
    """An organisation by id or code, or None (also for something that is no text)."""
    if not isinstance(id_or_code, str) or not id_or_code:
        return None
    return db.session.scalar(
        select(Organization).where(
            (Organization.id == id_or_code) | (Organization.code == id_or_code)
        )
    )


def org_ref(org: Organization | None) -> dict[str, str] | None:
    """An organisation as the answers name it (OrganizationRefOut; OrgRefOut shows its id,
    code and name); None for none."""
    if org is None:
        return None
    return {"id": org.id, "code": org.code, "name": org.name, "type": org.type}


def require_organization(id_or_code: str, field: str = "organization") -> Organization:
    """An organisation by id or code, or a 422 naming the field."""
    org = find_organization(id_or_code)
    if org is None:
        raise Problem(
            422,
            "validation-error",
            f"Unknown organisation '{id_or_code}'.",
            errors={field: [f"Unknown organisation '{id_or_code}'."]},
        )
    return org


def load_partners(actor: Actor, path: str | Path) -> dict[str, Any]:
    """Validate a partners file and upsert it in one transaction; report what changed.

    Running it twice changes nothing the second time. Organisations or services no longer
    in the file are kept (agreements and referrals point at them); their offers are updated.
    An organisation kept in the hub (`maintained_in_hub_at`) is left as it is and listed as
    `=code` under "kept" (see the module's reconciliation rule).
    """
    data = read_partners_file(path)
    changes: dict[str, list[str]] = {"services": [], "organizations": [], "kept": []}

    existing_services = {s.code: s for s in db.session.scalars(select(Service))}
    for position, item in enumerate(data["services"]):
        service = existing_services.get(item["code"])
        values = {
            "name_id": item["name_id"],
            "name_en": item["name_en"],
            "simfoni_group": item.get("simfoni_group"),
            "position": position,
        }
        if service is None:
            db.session.add(Service(code=item["code"], **values))
            changes["services"].append(f"+{item['code']}")
        elif any(getattr(service, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(service, key, value)
            changes["services"].append(f"~{item['code']}")
    db.session.flush()

    # Every organisation's offers are compared below: load them in one query.
    orgs = {
        o.code: o
        for o in db.session.scalars(
            select(Organization).options(selectinload(Organization.services))
        )
    }
    for item in data["organizations"]:
        org = orgs.get(item["code"])
        if org is None:
            org = Organization(code=item["code"], name=item["name"], type=item["type"])
            db.session.add(org)
            orgs[item["code"]] = org
            changes["organizations"].append(f"+{item['code']}")
    db.session.flush()

    for item in data["organizations"]:
        org = orgs[item["code"]]
        if org.maintained_in_hub_at is not None:
            changes["kept"].append(f"={item['code']}")
            continue
        parent_id = orgs[item["parent"]].id if item.get("parent") else None
        values = {
            "name": item["name"],
            "type": item["type"],
            "region_code": item.get("region_code"),
            "parent_id": parent_id,
            "notes": item.get("notes"),
        }
        changed = any(getattr(org, k) != v for k, v in values.items())
        for key, value in values.items():
            setattr(org, key, value)
        wanted = {s["code"]: s["capacity_status"] for s in item["services"]}
        current = {s.service_code: s for s in org.services}
        for code in set(current) - set(wanted):
            org.services.remove(current[code])
            changed = True
        for code, capacity in wanted.items():
            if code not in current:
                org.services.append(
                    OrganizationService(service_code=code, capacity_status=capacity)
                )
                changed = True
            elif current[code].capacity_status != capacity:
                current[code].capacity_status = capacity
                changed = True
        if changed and f"+{item['code']}" not in changes["organizations"]:
            changes["organizations"].append(f"~{item['code']}")
    db.session.flush()

    if changes["services"] or changes["organizations"]:
        audit.record(actor, "partners.loaded", "directory", None, {"path": str(path), **changes})
    return changes


def check_partners_file(path: str | Path) -> None:
    """Raise PartnersFileError if the file cannot be loaded (used at start)."""
    read_partners_file(path)


# --- who answers on the hub, and who shares an agreement ------------------------------------


def on_hub_ids(organization_ids: list[str] | set[str]) -> set[str]:
    """Of these organisations, those that answer referrals on the hub themselves: an active
    user whose role answers referrals (`referrals:respond`: a caseworker or supervisor, not
    an admin or auditor alone), or an OAuth client with that scope that is not disabled (one
    query, whatever the number). Until then the sender records their answers for them."""
    from referral_hub.accounts.models import User
    from referral_hub.oauth.models import OAuthClient

    ids = list(organization_ids)
    if not ids:
        return set()
    users = select(User.organization_id).where(
        User.organization_id.in_(ids),
        User.active.is_(True),
        User.role.in_(roles_with(ANSWERS_REFERRALS)),
    )
    clients = select(OAuthClient.organization_id).where(
        OAuthClient.organization_id.in_(ids),
        OAuthClient.disabled_at.is_(None),
        # scopes are stored space-separated; this one is no part of another's name
        OAuthClient.scope.contains(ANSWERS_REFERRALS),
    )
    return set(db.session.scalars(union(users, clients)))


def is_on_hub(org: Organization) -> bool:
    """Whether the organisation answers its referrals on the hub itself (`on_hub_ids`)."""
    return org.id in on_hub_ids([org.id])


def has_own_admin(organization_id: str) -> bool:
    """Whether the organisation has an active org_admin of its own (then it keeps its entry
    and invites its own staff)."""
    from referral_hub.accounts.models import User

    return bool(
        db.session.scalar(
            select(
                exists().where(
                    User.organization_id == organization_id,
                    User.role == "org_admin",
                    User.active.is_(True),
                )
            )
        )
    )


def shares_agreement(first_id: str, second_id: str) -> bool:
    """Whether the two organisations are parties to one agreement that is not terminated
    (a draft counts: the partner is being brought in to sign it)."""
    from referral_hub.agreements.models import Agreement, AgreementParty

    first = select(AgreementParty.agreement_id).where(AgreementParty.organization_id == first_id)
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    AgreementParty.organization_id == second_id,
                    AgreementParty.agreement_id.in_(first),
                    AgreementParty.agreement_id == Agreement.id,
                    Agreement.status.not_in(("terminated", "superseded")),
                )
            )
        )
    )


# --- who may change what ------------------------------------------------------------------


def _writer(actor: Actor) -> bool:
    return actor.is_system or (
        actor.organization_id is not None and permits(actor, DIRECTORY_WRITE)
    )


def may_add_organizations(actor: Actor) -> bool:
    """The hub operator's admin and a UPTD PPA's admin add partners."""
    return actor.is_system or (_writer(actor) and actor.organization_type in ADDING_TYPES)


def may_maintain(actor: Actor, org: Organization) -> bool:
    """Whether the actor keeps this organisation's entry (the module's rule)."""
    if not _writer(actor):
        return False
    if actor.is_system or actor.is_hub_operator or org.id == actor.organization_id:
        return True
    return (
        actor.organization_type == "uptd_ppa"
        and org.added_by_id == actor.organization_id
        and not has_own_admin(org.id)
    )


def maintained_by(actor: Actor) -> list[Organization]:
    """The organisations whose entries the actor may see to keep (the portal's Mitra list):
    every one for the hub operator; its own and those it added, for anyone else."""
    if not _writer(actor):
        return []
    query = select(Organization).order_by(Organization.name)
    if not (actor.is_system or actor.is_hub_operator):
        query = query.where(
            (Organization.id == actor.organization_id)
            | (Organization.added_by_id == actor.organization_id)
        )
    return list(db.session.scalars(query))


def require_maintainable(actor: Actor, id_or_code: str) -> Organization:
    """The organisation, if the actor keeps it; else 404 (unknown) or 403."""
    org = find_organization(id_or_code)
    if org is None:
        raise Problem(
            404, "not-found", f"No organisation '{id_or_code}'.", reason="no-organization"
        )
    if not may_maintain(actor, org):
        raise Problem(
            403,
            ORGANIZATION_NOT_MAINTAINABLE,
            "Only the organisation's own admin, the hub operator's admin, or the UPTD that "
            "added it (until it has an admin of its own) may change it.",
            organization=org.code,
        )
    return org


# --- adding and keeping organisations -----------------------------------------------------


def _check_services(codes: list[Any], errors: dict[str, list[str]]) -> dict[str, str]:
    """Offered services: codes, or {code, capacity_status}; -> code: capacity."""
    known = set(db.session.scalars(select(Service.code)))
    wanted: dict[str, str] = {}
    for item in codes:
        code = item.get("code") if isinstance(item, dict) else item
        capacity = (item.get("capacity_status") if isinstance(item, dict) else None) or (
            "available"
        )
        if not isinstance(code, str) or code not in known:
            errors.setdefault("services", []).append(f"Unknown service '{code}'.")
        elif capacity not in CAPACITY_STATUSES:
            errors.setdefault("services", []).append(
                f"capacity_status must be one of: {', '.join(CAPACITY_STATUSES)}."
            )
        else:
            wanted[code] = capacity
    return wanted


def _check_contacts(contacts: list[Any], errors: dict[str, list[str]]) -> list[dict[str, str]]:
    """Work contacts: each with a name and a phone or an e-mail; nothing else is kept."""
    if len(contacts) > MAX_CONTACTS:
        errors.setdefault("contacts", []).append(f"At most {MAX_CONTACTS} contacts.")
        return []
    clean = []
    for contact in contacts:
        if not isinstance(contact, dict):
            errors.setdefault("contacts", []).append("Each contact is an object.")
            continue
        item = {k: str(contact.get(k) or "").strip()[:200] for k in CONTACT_FIELDS}
        if not item["name"]:
            errors.setdefault("contacts", []).append("A contact needs a name.")
        elif not (item["phone"] or item["email"]):
            errors.setdefault("contacts", []).append("A contact needs a phone or an e-mail.")
        elif item["email"] and not _EMAIL.match(item["email"]):
            errors.setdefault("contacts", []).append("Not a valid e-mail address.")
        elif item["phone"] and not _PHONE.match(item["phone"]):
            errors.setdefault("contacts", []).append("Not a valid phone number.")
        else:
            clean.append({k: v for k, v in item.items() if v})
    return clean


def _set_services(org: Organization, wanted: dict[str, str]) -> None:
    current = {s.service_code: s for s in org.services}
    for code in set(current) - set(wanted):
        org.services.remove(current[code])
    for code, capacity in wanted.items():
        if code in current:
            current[code].capacity_status = capacity
        else:
            org.services.append(OrganizationService(service_code=code, capacity_status=capacity))


def _offers(org: Organization) -> dict[str, str]:
    return {s.service_code: s.capacity_status for s in org.services}


def create_organization(
    actor: Actor,
    *,
    code: str,
    name: str,
    type: str,
    region_code: str | None = None,
    parent: str | None = None,
    services: list[Any] | None = None,
    contacts: list[Any] | None = None,
) -> Organization:
    """Add a partner to the directory; it is kept in the hub from now on. Audited."""
    if not may_add_organizations(actor):
        raise Problem(
            403,
            ORGANIZATION_NOT_MAINTAINABLE,
            "Only the admin of the hub operator or of a UPTD PPA adds organisations.",
        )
    code = (code or "").strip().lower()
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not CODE_PATTERN.match(code):
        errors["code"] = ["Lower-case letters, digits and hyphens, 3 to 64 characters."]
    if not name:
        errors["name"] = ["Required."]
    elif len(name) > 200:
        errors["name"] = ["At most 200 characters."]
    allowed_types = (
        PARTNER_TYPES
        if actor.is_system or actor.is_hub_operator
        else tuple(t for t in PARTNER_TYPES if t != "hub_operator")
    )
    if type not in allowed_types:
        errors["type"] = [f"Must be one of: {', '.join(allowed_types)}."]
    region_code = (region_code or "").strip() or None
    if region_code is not None and not REGION_PATTERN.match(region_code):
        errors["region_code"] = ["A Kemendagri region code, e.g. 64.09 or 64.09.01."]
    parent_org = None
    if parent:
        parent_org = find_organization(parent)
        if parent_org is None:
            errors["parent"] = [f"Unknown organisation '{parent}'."]
    wanted = _check_services(services or [], errors)
    clean_contacts = _check_contacts(contacts or [], errors)
    if errors:
        raise Problem(422, "validation-error", "The organisation cannot be added.", errors=errors)
    if find_organization(code) is not None:
        raise Problem(
            409,
            ORGANIZATION_CODE_TAKEN,
            f"An organisation with the code '{code}' exists.",
            errors={"code": ["An organisation with this code exists."]},
        )
    org = Organization(
        code=code,
        name=name,
        type=type,
        region_code=region_code,
        parent_id=parent_org.id if parent_org else None,
        contacts=clean_contacts,
        added_by_id=actor.organization_id,
        maintained_in_hub_at=utcnow(),
    )
    db.session.add(org)
    _set_services(org, wanted)
    db.session.flush()
    audit.record(
        actor,
        "organization.created",
        "organization",
        org.id,
        {
            "code": code,
            "name": name,
            "type": type,
            "region_code": region_code,
            "services": wanted,
            "contacts": len(clean_contacts),
        },
        subject_organization_id=org.id,
    )
    return org


def update_organization(
    actor: Actor,
    id_or_code: str,
    *,
    name: str | None = None,
    services: list[Any] | None = None,
    capacity: dict[str, str] | None = None,
    contacts: list[Any] | None = None,
    seed: bool = False,
) -> Organization:
    """Change an entry's name, offered services, capacity per service or focal points.

    `seed`: the change fills in what a partners file would (the demo's focal points), so the
    entry stays the file's to update; otherwise it is kept in the hub from now on.

    `services` replaces the offers (codes, or {code, capacity_status}); `capacity` changes
    the capacity of services already offered. The entry is kept in the hub from now on.
    """
    org = require_maintainable(actor, id_or_code)
    errors: dict[str, list[str]] = {}
    before = {"name": org.name, "services": _offers(org), "contacts": org.contacts or []}
    if name is not None:
        name = name.strip()
        if not name:
            errors["name"] = ["Required."]
        elif len(name) > 200:
            errors["name"] = ["At most 200 characters."]
    wanted = _check_services(services, errors) if services is not None else None
    if capacity:
        offered = set(wanted if wanted is not None else before["services"])
        for code, status in capacity.items():
            if code not in offered:
                errors.setdefault("capacity", []).append(f"'{code}' is not offered.")
            elif status not in CAPACITY_STATUSES:
                errors.setdefault("capacity", []).append(
                    f"capacity_status must be one of: {', '.join(CAPACITY_STATUSES)}."
                )
    clean_contacts = _check_contacts(contacts, errors) if contacts is not None else None
    if errors:
        raise Problem(422, "validation-error", "The organisation cannot be changed.", errors=errors)
    if name is not None:
        org.name = name
    if wanted is not None:
        _set_services(org, wanted)
    if capacity:
        for offer in org.services:
            if offer.service_code in capacity:
                offer.capacity_status = capacity[offer.service_code]
    if clean_contacts is not None:
        org.contacts = clean_contacts
    db.session.flush()
    after = {"name": org.name, "services": _offers(org), "contacts": org.contacts or []}
    changed = {k: after[k] for k in after if after[k] != before[k]}
    if not changed:
        return org
    if not seed:
        org.maintained_in_hub_at = utcnow()
    if "contacts" in changed:
        changed["contacts"] = len(changed["contacts"])  # staff contacts: the count suffices
    audit.record(
        actor,
        "organization.updated",
        "organization",
        org.id,
        {"code": org.code, **changed},
        subject_organization_id=org.id,
    )
    return org


def contacts_visible(actor: Actor, org: Organization) -> bool:
    """Focal points are shown to the organisation itself, the hub operator, the UPTD that
    added it, and every organisation that shares an agreement with it."""
    if actor.is_system or actor.is_hub_operator or actor.organization_id == org.id:
        return True
    if actor.organization_id is None:
        return False
    return org.added_by_id == actor.organization_id or shares_agreement(
        actor.organization_id, org.id
    )
