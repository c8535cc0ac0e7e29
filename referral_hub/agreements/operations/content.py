"""What the parties agree to: its validation against the directory, its hash, its number.

Content (what a signature's SHA-256 covers) is frozen from the first signature.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.http import parse_etags

from referral_hub.actors import Actor
from referral_hub.agreements.models import Agreement, AgreementParty, AgreementService
from referral_hub.agreements.operations.status import effective_status
from referral_hub.agreements.operations.terms import following_numbers
from referral_hub.categories import ALWAYS_SHARED, DATA_CATEGORIES
from referral_hub.directory.models import Organization, Service
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

#: A routine referral must be answered within at most 30 days.
MAX_RESPONSE_HOURS = 720
#: Longer terms are almost always a typo (2062 for 2026); MoUs run for at most a few years.
MAX_TERM_DAYS = 10 * 366
MAX_PARTIES = 20

DUPLICATE_NUMBER = register_problem(
    "duplicate-agreement-number", "Another agreement between the same parties has this number"
)


def canonical_content(agreement: Agreement) -> dict[str, Any]:
    """What the parties agree to: the fields a signature's hash covers."""
    return {
        "kind": agreement.kind,
        "number": agreement.number,
        "title": agreement.title,
        "purpose": agreement.purpose,
        "parties": sorted(agreement.party_ids),
        "services": sorted([s.service_code, s.provider_id] for s in agreement.services),
        "data_categories": sorted(agreement.data_categories),
        "effective_from": agreement.effective_from.isoformat(),
        "expires_on": agreement.expires_on.isoformat(),
        "response_hours": agreement.response_hours,
        "signatories": [
            {"name": s.get("name"), "title": s["title"], "organization": s["organization_id"]}
            for s in agreement.signatories
        ],
        "notes": agreement.notes,
        "version": agreement.version,
        "supersedes": agreement.supersedes_id,
    }


def content_sha256(agreement: Agreement) -> str:
    """SHA-256 of the canonical content as compact, key-sorted UTF-8 JSON."""
    text = json.dumps(
        canonical_content(agreement), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def etag_of(agreement: Agreement, at: dt.datetime | None = None) -> str:
    """The agreement's entity tag (unquoted): changes with every change and status change."""
    seed = f"{agreement.id}:{agreement.revision}:{effective_status(agreement, at)}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def check_if_match(agreement: Agreement, if_match: str | None, *, required: bool) -> None:
    if not if_match:
        if required:
            raise Problem(
                428,
                "precondition-required",
                "Send If-Match with the agreement's ETag (GET it first).",
            )
        return
    etags = parse_etags(if_match)
    if not etags.contains(etag_of(agreement)):
        raise Problem(
            412,
            "precondition-failed",
            "The agreement changed since you read it; GET it again and retry.",
            headers={"ETag": f'"{etag_of(agreement)}"'},
        )


@dataclass
class Content:
    kind: str
    number: str
    title: str
    purpose: str
    parties: list[Organization]
    services: list[tuple[str, Organization]]
    data_categories: list[str]
    effective_from: dt.date
    expires_on: dt.date
    response_hours: int
    signatories: list[dict[str, Any]]
    notes: str | None


def clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    return " ".join(value.split()) if "\n" not in value else value.strip()


def resolve_content(actor: Actor, data: dict[str, Any]) -> Content:
    """Check the content against the directory and the rules; 422 with every field error."""
    errors: dict[str, Any] = {}

    parties: list[Organization] = []
    party_errors: dict[int, list[str]] = {}
    seen: set[str] = set()
    for index, ref in enumerate(data["parties"]):
        org = find_organization(ref)
        if org is None:
            party_errors[index] = [f"Unknown organisation '{ref}'."]
        elif org.id in seen:
            party_errors[index] = [f"'{org.code}' is listed twice."]
        elif org.type == "hub_operator":
            party_errors[index] = [f"'{org.code}' audits the hub and cannot be a party."]
        else:
            seen.add(org.id)
            parties.append(org)
    if party_errors:
        errors["parties"] = party_errors
    elif len(parties) < 2:
        errors["parties"] = ["An agreement needs at least two organisations."]
    elif len(parties) > MAX_PARTIES:
        errors["parties"] = [f"At most {MAX_PARTIES} organisations."]
    elif not actor.is_system and actor.organization_id not in seen:
        errors["parties"] = ["Your organisation must be a party to the agreement."]
    by_ref = {ref: org for org in parties for ref in (org.id, org.code)}

    known_services = set(db.session.scalars(select(Service.code)))
    services: list[tuple[str, Organization]] = []
    service_errors: dict[int, dict[str, list[str]]] = {}
    pairs: set[tuple[str, str]] = set()
    for index, item in enumerate(data["services"]):
        problems: dict[str, list[str]] = {}
        code, provider = item["service"], by_ref.get(item["provider"])
        if code not in known_services:
            problems["service"] = [f"Unknown service '{code}'; see GET /api/v1/services."]
        if provider is None:
            problems["provider"] = [f"'{item['provider']}' is not a party to this agreement."]
        elif code in known_services and not provider.offers(code):
            problems["provider"] = [
                f"'{provider.code}' does not offer '{code}' in the directory; "
                "update the directory (partners.yaml) first."
            ]
        if not problems and (code, provider.id) in pairs:
            problems["service"] = [f"'{code}' by '{provider.code}' is listed twice."]
        if problems:
            service_errors[index] = problems
        else:
            pairs.add((code, provider.id))
            services.append((code, provider))
    if service_errors:
        errors["services"] = service_errors
    elif not services:
        errors["services"] = ["List at least one service the agreement covers."]

    categories = set(data.get("data_categories") or ())
    unknown = sorted(categories - set(DATA_CATEGORIES))
    if unknown:
        errors["data_categories"] = [f"Unknown data categories: {', '.join(unknown)}."]
    categories.add(ALWAYS_SHARED)

    effective_from, expires_on = data["effective_from"], data["expires_on"]
    if expires_on <= effective_from:
        errors["expires_on"] = ["Must be after effective_from."]
    elif (expires_on - effective_from).days > MAX_TERM_DAYS:
        errors["expires_on"] = ["An agreement may run for at most ten years."]

    signatories: list[dict[str, Any]] = []
    signatory_errors: dict[int, dict[str, list[str]]] = {}
    for index, item in enumerate(data.get("signatories") or ()):
        org = by_ref.get(item["organization"])
        if org is None:
            signatory_errors[index] = {
                "organization": [f"'{item['organization']}' is not a party to this agreement."]
            }
            continue
        signatories.append(
            {
                "name": clean_text(item.get("name")) or None,
                "title": clean_text(item["title"]),
                "organization_id": org.id,
            }
        )
    if signatory_errors:
        errors["signatories"] = signatory_errors

    for name in ("number", "title", "purpose"):
        # Spaces alone are no number, title or purpose (the portal's form strips them away).
        if not (clean_text(data.get(name)) or "").strip():
            errors[name] = ["Missing data for required field."]

    response_hours = data["response_hours"]
    if not 1 <= response_hours <= MAX_RESPONSE_HOURS:
        errors["response_hours"] = [f"Must be between 1 and {MAX_RESPONSE_HOURS} hours."]

    if errors:
        raise Problem(
            422,
            "validation-error",
            "One or more fields are invalid; see 'errors'.",
            errors=errors,
        )
    return Content(
        kind=data["kind"],
        number=clean_text(data["number"]) or "",
        title=clean_text(data["title"]) or "",
        purpose=(data.get("purpose") or "").strip(),
        parties=parties,
        services=services,
        data_categories=sorted(categories, key=DATA_CATEGORIES.index),
        effective_from=effective_from,
        expires_on=expires_on,
        response_hours=response_hours,
        signatories=signatories,
        notes=(data.get("notes") or "").strip() or None,
    )


def number_key(number: str) -> str:
    """What two numbers are compared by: case and spacing do not make a new number."""
    return "".join(number.split()).casefold()


def parties_key(parties: Iterable[Organization]) -> str:
    return ",".join(sorted(org.id for org in parties))


def lineage_ids(agreement: Agreement | None) -> set[str]:
    ids: set[str] = set()
    while agreement is not None and agreement.id not in ids:
        ids.add(agreement.id)
        agreement = agreement.supersedes
    return ids


def check_number_free(
    number: str, parties_key: str, *, own_line: set[str], exclude_id: str | None
) -> None:
    """A number may repeat only within one line of renewals of the same parties."""
    query = select(Agreement.id).where(
        Agreement.parties_key == parties_key,
        Agreement.number_key == number_key(number),
        Agreement.status != "terminated",
    )
    if exclude_id is not None:
        query = query.where(Agreement.id != exclude_id)
    for other_id in db.session.scalars(query):
        if other_id not in own_line:
            raise Problem(
                409,
                DUPLICATE_NUMBER,
                f"An agreement numbered '{number}' between the same parties already exists.",
                errors={"number": ["Already used by another agreement between the same parties."]},
                agreement=other_id,
                number=number,
            )


def proposed_number(old: Agreement, start: dt.date) -> str:
    """The renewal's default number: the next in the sequence (terms.next_number) that no
    other agreement between the same parties holds."""
    taken = set(
        db.session.scalars(
            select(Agreement.number_key).where(
                Agreement.parties_key == old.parties_key, Agreement.status != "terminated"
            )
        )
    )
    proposals = following_numbers(old.number, year=start.year, version=old.version + 1)
    for proposal in proposals:
        if number_key(proposal) not in taken:
            return proposal
    return f"{old.number}/{old.version + 1}"


def apply_content(agreement: Agreement, content: Content) -> None:
    agreement.kind = content.kind
    agreement.number = content.number
    agreement.number_key = number_key(content.number)
    agreement.title = content.title
    agreement.purpose = content.purpose
    agreement.data_categories = content.data_categories
    agreement.effective_from = content.effective_from
    agreement.expires_on = content.expires_on
    agreement.response_hours = content.response_hours
    agreement.signatories = content.signatories
    agreement.notes = content.notes
    agreement.parties_key = parties_key(content.parties)
    wanted_parties = [org.id for org in content.parties]
    current = {p.organization_id: p for p in agreement.parties}
    for party in list(agreement.parties):
        if party.organization_id not in wanted_parties:
            agreement.parties.remove(party)
    for position, org_id in enumerate(wanted_parties):
        if org_id in current:
            current[org_id].position = position
        else:
            agreement.parties.append(AgreementParty(organization_id=org_id, position=position))
    wanted_services = [(code, org.id) for code, org in content.services]
    existing = {(s.service_code, s.provider_id): s for s in agreement.services}
    for item in list(agreement.services):
        if (item.service_code, item.provider_id) not in wanted_services:
            agreement.services.remove(item)
    for position, (code, provider_id) in enumerate(wanted_services):
        if (code, provider_id) in existing:
            existing[(code, provider_id)].position = position
        else:
            agreement.services.append(
                AgreementService(service_code=code, provider_id=provider_id, position=position)
            )


def deciding(content: Content) -> dict[str, Any]:
    """What decides sharing, recorded in the audit entry so that verification can hold the
    rows to it (audit/decisions.py): parties, services with their providers, categories."""
    return {
        "parties": sorted(org.code for org in content.parties),
        "services": sorted([code, org.code] for code, org in content.services),
        "data_categories": sorted(content.data_categories),
    }


def flush_or_duplicate(number: str) -> None:
    """Flush; a unique-constraint race on the number becomes the same 409 as the check."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Problem(
            409,
            DUPLICATE_NUMBER,
            f"An agreement numbered '{number}' between the same parties already exists.",
            errors={"number": ["Already used by another agreement between the same parties."]},
            number=number,
        ) from None


def content_as_input(agreement: Agreement) -> dict[str, Any]:
    return {
        "kind": agreement.kind,
        "number": agreement.number,
        "title": agreement.title,
        "purpose": agreement.purpose,
        "parties": list(agreement.party_ids),
        "services": [
            {"service": s.service_code, "provider": s.provider_id} for s in agreement.services
        ],
        "data_categories": list(agreement.data_categories),
        "effective_from": agreement.effective_from,
        "expires_on": agreement.expires_on,
        "response_hours": agreement.response_hours,
        "signatories": [
            {"name": s.get("name"), "title": s["title"], "organization": s["organization_id"]}
            for s in agreement.signatories
        ],
        "notes": agreement.notes,
    }
