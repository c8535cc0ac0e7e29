"""Loading the partner directory and looking organisations up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.directory.models import Organization, OrganizationService, Service
from referral_hub.directory.partners_file import read_partners_file
from referral_hub.extensions import db
from referral_hub.problems import Problem


def get_organization(id_or_code: str) -> Organization | None:
    """An organisation by id or code."""
    return db.session.scalar(
        select(Organization).where(
            (Organization.id == id_or_code) | (Organization.code == id_or_code)
        )
    )


def require_organization(id_or_code: str, field: str = "organization") -> Organization:
    """An organisation by id or code, or a 422 naming the field."""
    org = get_organization(id_or_code) if isinstance(id_or_code, str) else None
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
    """
    data = read_partners_file(path)
    changes: dict[str, list[str]] = {"services": [], "organizations": []}

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
    """Of these organisations, those someone can answer for on the hub: an active user or an
    OAuth client that is not disabled (one query each, whatever the number)."""
    from referral_hub.accounts.models import User
    from referral_hub.oauth.models import OAuthClient

    ids = list(organization_ids)
    if not ids:
        return set()
    users = db.session.scalars(
        select(User.organization_id).where(User.organization_id.in_(ids), User.active.is_(True))
    )
    clients = db.session.scalars(
        select(OAuthClient.organization_id).where(
            OAuthClient.organization_id.in_(ids), OAuthClient.disabled_at.is_(None)
        )
    )
    return set(users) | set(clients)


def is_on_hub(org: Organization) -> bool:
    """Whether anyone can answer for the organisation on the hub."""
    return org.id in on_hub_ids([org.id])


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
