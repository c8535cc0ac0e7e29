"""The rules of the MoU registry.

Dates: `effective_from` and `expires_on` are calendar days in Kalimantan Timur's time
(WITA, UTC+8, no daylight saving), both inclusive: an agreement expiring on 31 March
covers referrals until the end of 31 March WITA and is `expired` from 1 April.

Status: the stored status is what the last change or sweep wrote; what every reader and
every check uses is `effective_status()`, which also applies the calendar (a `signed`
agreement whose start date has come is `active`; anything past `expires_on` is `expired`)
and renewals (an agreement whose renewal has come into force is `superseded`). So an
agreement past its end never covers a referral, whether or not the sweep has run.

Renewal: `renew` makes a new draft (version + 1, `supersedes` = the old id) with the same
parties and content. When that renewal comes into force, the old agreement ends with the
status `superseded` (also if it had meanwhile expired), so the registry shows which
agreement replaced it.

Who may do what: the parties' organisations and the hub operator see an agreement; any
other organisation gets 404. Only parties change it, and a person acting through a token
must hold the `org_admin` or `supervisor` role; the hub operator reads and audits only.

Content (what a signature's SHA-256 covers) is frozen from the first signature. Documents
are not content: the signed scan is usually uploaded after signing, so parties may add
PDFs in any status.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import Date, Select, String, and_, bindparam, exists, false, not_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, lazyload, load_only, selectinload
from werkzeug.http import parse_etags
from werkzeug.utils import secure_filename

from referral_hub.actors import Actor
from referral_hub.agreements.models import (
    ALWAYS_SHARED_CATEGORY,
    DATA_CATEGORIES,
    Agreement,
    AgreementDocument,
    AgreementParty,
    AgreementService,
    AgreementSignature,
)
from referral_hub.agreements.signals import agreement_ended
from referral_hub.agreements.storage import DocumentNotFound, document_store
from referral_hub.audit import operations as audit
from referral_hub.audit.models import AuditEntry
from referral_hub.db import utcnow
from referral_hub.directory.models import Organization, Service
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

log = logging.getLogger(__name__)

#: Kalimantan Timur local time, in which agreement dates are calendar days.
WITA = dt.timezone(dt.timedelta(hours=8), "WITA")
#: A routine referral must be answered within at most 30 days.
MAX_RESPONSE_HOURS = 720
#: Longer terms are almost always a typo (2062 for 2026); MoUs run for at most a few years.
MAX_TERM_DAYS = 10 * 366
MAX_PARTIES = 20
DEFAULT_DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
PDF_MAGIC = b"%PDF-"

#: Statuses in which an agreement may be in force, depending on the calendar.
LIVE_STATUSES = ("signed", "active", "suspended")
EXPIRY_WINDOWS = (30, 7)

INVALID_TRANSITION = register_problem(
    "invalid-transition", "The action is not allowed in the current status"
)
AGREEMENT_LOCKED = register_problem(
    "agreement-locked", "The agreement has been signed; its content can no longer change"
)
ALREADY_SIGNED = register_problem("already-signed", "Your organisation has already signed")
DUPLICATE_NUMBER = register_problem(
    "duplicate-agreement-number", "Another agreement between the same parties has this number"
)
CONTENT_CHANGED = register_problem(
    "content-changed", "The agreement's content is not the content you reviewed"
)
ALREADY_RENEWED = register_problem("already-renewed", "The agreement already has a renewal")
READ_ONLY = register_problem(
    "agreement-read-only", "The hub operator audits agreements but does not sign or change them"
)
NOT_A_PDF = register_problem("document-not-pdf", "The document is not a PDF")

#: Event types passed to EVENT_LISTENERS.
EVENT_TYPES = (
    "agreement.signed",
    "agreement.activated",
    "agreement.expiring",
    "agreement.expired",
    "agreement.terminated",
    "agreement.suspended",
    "agreement.resumed",
    "agreement.superseded",
)
#: The events after which an agreement covers no new work: `agreement_ended` is sent.
ENDING_EVENT_TYPES = frozenset(
    {"agreement.suspended", "agreement.terminated", "agreement.expired", "agreement.superseded"}
)
AgreementListener = Callable[[str, Agreement, Actor], None]
#: Called inside the transaction of the change (so an outbox row written by a listener
#: commits or rolls back with it); a listener must not send anything itself and should
#: ignore event types it does not know. The delivery package registers itself here.
EVENT_LISTENERS: list[AgreementListener] = []

CLOCK = Actor.system("agreements:clock")


# --- time and status -----------------------------------------------------------------------


def local_date(at: dt.datetime | dt.date | None = None) -> dt.date:
    """The calendar day in WITA at a moment (now by default); dates pass through."""
    if at is None:
        at = utcnow()
    if isinstance(at, dt.datetime):
        if at.tzinfo is None:
            raise ValueError("naive datetime: pass an aware time")
        return at.astimezone(WITA).date()
    return at


def start_of_day(day: dt.date) -> dt.datetime:
    """The UTC moment a WITA calendar day begins."""
    return dt.datetime.combine(day, dt.time(), tzinfo=WITA).astimezone(dt.UTC)


def _has_taken_over(renewal: Agreement, day: dt.date) -> bool:
    """A renewal has taken over once all parties signed it and its start date has come."""
    if renewal.fully_signed_at is None or renewal.effective_from > day:
        return False
    # Terminated before it ever came into force: the old agreement carries on.
    return not (renewal.status == "terminated" and renewal.activated_at is None)


def effective_status(agreement: Agreement, at: dt.datetime | dt.date | None = None) -> str:
    """The status at a moment (now by default), whatever the stored status lags behind."""
    stored = agreement.status
    if stored in ("draft", "terminated", "superseded"):
        return stored
    day = local_date(at)
    if any(_has_taken_over(r, day) for r in agreement.renewals):
        return "superseded"
    if stored == "expired" or day > agreement.expires_on:
        return "expired"
    if stored == "suspended":
        return "suspended"
    if day < agreement.effective_from:
        return "signed"
    return "active"


def covers_at(agreement: Agreement, at: dt.datetime | dt.date | None = None) -> bool:
    """True when the agreement is in force at the moment (and so may carry referrals)."""
    return effective_status(agreement, at) == "active"


def _taken_over_clause(day: dt.date):
    renewal = aliased(Agreement)
    return exists().where(
        renewal.supersedes_id == Agreement.id,
        renewal.fully_signed_at.is_not(None),
        renewal.effective_from <= day,
        not_(and_(renewal.status == "terminated", renewal.activated_at.is_(None))),
    )


def effective_status_clause(status: str, day: dt.date):
    """SQL condition equivalent to `effective_status(a, day) == status`."""
    taken_over = _taken_over_clause(day)
    live = Agreement.status.in_(LIVE_STATUSES)
    if status in ("draft", "terminated"):
        return Agreement.status == status
    if status == "superseded":
        return or_(
            Agreement.status == "superseded",
            and_(Agreement.status.in_((*LIVE_STATUSES, "expired")), taken_over),
        )
    not_over = not_(taken_over)
    if status == "expired":
        return and_(
            or_(Agreement.status == "expired", and_(live, Agreement.expires_on < day)), not_over
        )
    in_dates = Agreement.expires_on >= day
    if status == "suspended":
        return and_(Agreement.status == "suspended", in_dates, not_over)
    running = and_(Agreement.status.in_(("signed", "active")), in_dates, not_over)
    if status == "signed":
        return and_(running, Agreement.effective_from > day)
    if status == "active":
        return and_(running, Agreement.effective_from <= day)
    return false()


# --- content and its hash --------------------------------------------------------------------


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


def _check_if_match(agreement: Agreement, if_match: str | None, *, required: bool) -> None:
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


# --- events and audit ------------------------------------------------------------------------


def _emit(event_type: str, agreement: Agreement, actor: Actor) -> None:
    for listener in list(EVENT_LISTENERS):
        listener(event_type, agreement, actor)
    if event_type in ENDING_EVENT_TYPES:
        # Every change stamps updated_at with its moment (_touch) before announcing it.
        agreement_ended.send(agreement, actor=actor, how=event_type, at=agreement.updated_at)


def _audit(
    actor: Actor, action: str, agreement: Agreement, detail: dict[str, Any] | None = None
) -> None:
    """Record a change so that every party sees it in its audit log.

    An entry names one subject organisation; for agreements of three or more parties the
    other parties get a copy (marked `copy_for`), which the agreement's history leaves out.
    """
    base = {"number": agreement.number, **(detail or {})}
    others = [pid for pid in agreement.party_ids if pid != actor.organization_id]
    audit.record(
        actor,
        action,
        "agreement",
        agreement.id,
        base,
        subject_organization_id=others[0] if others else None,
    )
    for pid in others[1:]:
        audit.record(
            actor,
            action,
            "agreement",
            agreement.id,
            {**base, "copy_for": pid},
            subject_organization_id=pid,
        )


def _touch(agreement: Agreement, now: dt.datetime) -> None:
    agreement.revision = (agreement.revision or 0) + 1
    agreement.updated_at = now


# --- access ----------------------------------------------------------------------------------


def visible_agreements(actor: Actor) -> Select:
    """Agreements the actor may see: its organisation's, or all for the hub operator."""
    query = select(Agreement)
    if actor.is_system or actor.is_hub_operator:
        return query
    return query.where(
        Agreement.id.in_(
            select(AgreementParty.agreement_id).where(
                AgreementParty.organization_id == actor.organization_id
            )
        )
    )


def _not_found(agreement_id: str) -> Problem:
    return Problem(404, "not-found", f"No agreement '{agreement_id}'.")


def get_agreement(actor: Actor, agreement_id: str, *, lock: bool = False) -> Agreement:
    """An agreement the actor may see, or 404; with lock, its row is locked for the change."""
    visible_id = db.session.scalar(
        visible_agreements(actor)
        .with_only_columns(Agreement.id)
        .where(Agreement.id == agreement_id)
    )
    if visible_id is None:
        raise _not_found(agreement_id)
    if lock:
        # Serialises concurrent changes (two parties signing at once) on PostgreSQL;
        # SQLite has one writer at a time anyway. Lock first, then read fresh.
        db.session.execute(select(Agreement.id).where(Agreement.id == visible_id).with_for_update())
        existing = db.session.identity_map.get(db.session.identity_key(Agreement, (visible_id,)))
        if existing is not None:
            db.session.expire(existing)
    agreement = db.session.get(Agreement, visible_id)
    assert agreement is not None
    return agreement


def _require_writer(actor: Actor) -> None:
    if actor.is_system:
        return
    if actor.is_hub_operator:
        raise Problem(403, READ_ONLY, "The hub operator can read and audit agreements only.")
    # agreements:write, decided per role in permissions.py (administrators and supervisors).
    if not actor.has_scope("agreements:write"):
        raise Problem(
            403,
            "forbidden",
            "Only an organisation administrator or a supervisor can change agreements.",
        )


def _require_party(actor: Actor, agreement: Agreement) -> None:
    if actor.is_system:
        return
    if actor.organization_id not in agreement.party_ids:
        if actor.is_hub_operator:
            raise Problem(403, READ_ONLY, "The hub operator can read and audit agreements only.")
        raise _not_found(agreement.id)


def _for_change(
    actor: Actor, agreement_id: str, if_match: str | None, *, if_match_required: bool = False
) -> tuple[Agreement, dt.datetime]:
    """Lock the agreement for a change by a party; bring its stored status up to date."""
    agreement = get_agreement(actor, agreement_id, lock=True)
    _require_writer(actor)
    _require_party(actor, agreement)
    _check_if_match(agreement, if_match, required=if_match_required)
    now = utcnow()
    _materialise(agreement, now)
    return agreement, now


def _refuse_transition(agreement: Agreement, action: str, status: str) -> Problem:
    return Problem(
        409,
        INVALID_TRANSITION,
        f"An agreement that is '{status}' cannot be {action}.",
        status_now=status,
    )


# --- validation of content -------------------------------------------------------------------


@dataclass
class _Content:
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


def _clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    return " ".join(value.split()) if "\n" not in value else value.strip()


def _resolve_content(actor: Actor, data: dict[str, Any]) -> _Content:
    """Check the content against the directory and the rules; 422 with every field error."""
    errors: dict[str, Any] = {}

    parties: list[Organization] = []
    party_errors: dict[int, list[str]] = {}
    seen: set[str] = set()
    for index, ref in enumerate(data["parties"]):
        org = _find_org(ref)
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
    categories.add(ALWAYS_SHARED_CATEGORY)

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
                "name": _clean_text(item.get("name")) or None,
                "title": _clean_text(item["title"]),
                "organization_id": org.id,
            }
        )
    if signatory_errors:
        errors["signatories"] = signatory_errors

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
    return _Content(
        kind=data["kind"],
        number=_clean_text(data["number"]) or "",
        title=_clean_text(data["title"]) or "",
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


def _find_org(ref: Any) -> Organization | None:
    if not isinstance(ref, str) or not ref:
        return None
    return db.session.scalar(
        select(Organization).where((Organization.id == ref) | (Organization.code == ref))
    )


def number_key(number: str) -> str:
    """What two numbers are compared by: case and spacing do not make a new number."""
    return "".join(number.split()).casefold()


def _parties_key(parties: Iterable[Organization]) -> str:
    return ",".join(sorted(org.id for org in parties))


def _lineage_ids(agreement: Agreement | None) -> set[str]:
    ids: set[str] = set()
    while agreement is not None and agreement.id not in ids:
        ids.add(agreement.id)
        agreement = agreement.supersedes
    return ids


def _check_number_free(
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
            )


def _apply_content(agreement: Agreement, content: _Content) -> None:
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
    agreement.parties_key = _parties_key(content.parties)
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


def _deciding(content: _Content) -> dict[str, Any]:
    """What decides sharing, recorded in the audit entry so that verification can hold the
    rows to it (audit/decisions.py): parties, services with their providers, categories."""
    return {
        "parties": sorted(org.code for org in content.parties),
        "services": sorted([code, org.code] for code, org in content.services),
        "data_categories": sorted(content.data_categories),
    }


def _flush_or_duplicate(number: str) -> None:
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
        ) from None


# --- creating and changing -------------------------------------------------------------------


def create_agreement(actor: Actor, data: dict[str, Any]) -> Agreement:
    """Draft a new agreement; the caller's organisation must be a party."""
    _require_writer(actor)
    return _new_agreement(actor, data, supersedes=None)


def _new_agreement(actor: Actor, data: dict[str, Any], supersedes: Agreement | None) -> Agreement:
    content = _resolve_content(actor, data)
    parties_key = _parties_key(content.parties)
    _check_number_free(
        content.number, parties_key, own_line=_lineage_ids(supersedes), exclude_id=None
    )
    now = utcnow()
    agreement = Agreement(
        status="draft",
        version=(supersedes.version + 1) if supersedes is not None else 1,
        supersedes_id=supersedes.id if supersedes is not None else None,
        revision=1,
        created_by_organization_id=actor.organization_id,
        created_by_user_id=actor.user_id,
        created_by_client_id=actor.client_id,
        created_at=now,
        updated_at=now,
    )
    _apply_content(agreement, content)
    db.session.add(agreement)
    _flush_or_duplicate(content.number)
    _audit(
        actor,
        "agreement.created",
        agreement,
        {
            "kind": agreement.kind,
            "version": agreement.version,
            "supersedes": agreement.supersedes_id,
            "content_sha256": content_sha256(agreement),
            **_deciding(content),
        },
    )
    return agreement


def _content_as_input(agreement: Agreement) -> dict[str, Any]:
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


def update_agreement(
    actor: Actor, agreement_id: str, changes: dict[str, Any], *, if_match: str | None
) -> Agreement:
    """Change a draft nobody has signed yet; If-Match is required."""
    agreement, now = _for_change(actor, agreement_id, if_match, if_match_required=True)
    status = effective_status(agreement, now)
    if status != "draft" or agreement.signatures:
        raise Problem(
            409,
            AGREEMENT_LOCKED,
            "The agreement has been signed, so its content can no longer change. "
            "Terminate it or renew it instead.",
            status_now=status,
        )
    before = canonical_content(agreement)
    merged = {**_content_as_input(agreement), **changes}
    content = _resolve_content(actor, merged)
    _check_number_free(
        content.number,
        _parties_key(content.parties),
        own_line=_lineage_ids(agreement.supersedes) | {agreement.id},
        exclude_id=agreement.id,
    )
    _apply_content(agreement, content)
    after = canonical_content(agreement)
    changed = sorted(k for k in after if after[k] != before[k])
    if not changed:
        return agreement
    _touch(agreement, now)
    _flush_or_duplicate(content.number)
    _audit(
        actor,
        "agreement.updated",
        agreement,
        {"changed": changed, "content_sha256": content_sha256(agreement), **_deciding(content)},
    )
    return agreement


def sign_agreement(
    actor: Actor,
    agreement_id: str,
    *,
    content_sha256_seen: str | None = None,
    if_match: str | None = None,
) -> Agreement:
    """The actor's organisation signs; the last signature makes it active (or signed)."""
    agreement, now = _for_change(actor, agreement_id, if_match)
    if actor.organization_id not in agreement.party_ids:
        raise Problem(409, INVALID_TRANSITION, "Only a party's organisation signs.")
    status = effective_status(agreement, now)
    if status != "draft":
        raise _refuse_transition(agreement, "signed", status)
    if actor.organization_id in agreement.signed_party_ids:
        raise Problem(409, ALREADY_SIGNED, "Your organisation has already signed this agreement.")
    if local_date(now) > agreement.expires_on:
        raise Problem(
            409,
            INVALID_TRANSITION,
            "The agreement's end date has passed; change its dates before signing.",
            status_now=status,
        )
    digest = content_sha256(agreement)
    if content_sha256_seen is not None and content_sha256_seen != digest:
        raise Problem(
            409,
            CONTENT_CHANGED,
            "The agreement's content changed since you reviewed it; read it again.",
            content_sha256=digest,
        )
    signature = AgreementSignature(
        organization_id=actor.organization_id,
        actor_kind=actor.kind,
        user_id=actor.user_id,
        client_id=actor.client_id,
        actor_label=actor.label,
        signed_at=now,
        content_sha256=digest,
    )
    agreement.signatures.append(signature)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Problem(
            409, ALREADY_SIGNED, "Your organisation has already signed this agreement."
        ) from None
    _touch(agreement, now)
    all_signed = set(agreement.party_ids) <= agreement.signed_party_ids
    if all_signed:
        agreement.fully_signed_at = now
        agreement.status = "signed"
    _audit(
        actor,
        "agreement.signed",
        agreement,
        {"content_sha256": digest, "all_signed": all_signed, "status": agreement.status},
    )
    _emit("agreement.signed", agreement, actor)
    if all_signed and local_date(now) >= agreement.effective_from:
        _activate(agreement, actor, now, now)
    return agreement


def _activate(
    agreement: Agreement, actor: Actor, now: dt.datetime, in_force_since: dt.datetime
) -> None:
    """Bring a fully signed agreement into force, and end the one it renews."""
    agreement.status = "active"
    agreement.activated_at = agreement.activated_at or min(in_force_since, now)
    _touch(agreement, now)
    _audit(actor, "agreement.activated", agreement, {"in_force_since": agreement.activated_at})
    _emit("agreement.activated", agreement, actor)
    previous = agreement.supersedes
    if previous is None or previous.status in ("terminated", "superseded"):
        return
    db.session.execute(select(Agreement.id).where(Agreement.id == previous.id).with_for_update())
    db.session.refresh(previous)
    if previous.status not in ("terminated", "superseded"):
        _end_superseded(previous, agreement, actor, now)


def _end_superseded(
    agreement: Agreement, renewal: Agreement, actor: Actor, now: dt.datetime
) -> None:
    agreement.status = "superseded"
    agreement.ended_at = agreement.ended_at or min(renewal.activated_at or now, now)
    _touch(agreement, now)
    _audit(actor, "agreement.superseded", agreement, {"by": renewal.id})
    _emit("agreement.superseded", agreement, actor)


def _materialise(agreement: Agreement, now: dt.datetime, actor: Actor = CLOCK) -> str | None:
    """Write the effective status where the calendar moved it on; return the new status."""
    status = effective_status(agreement, now)
    stored = agreement.status
    if status == stored:
        return None
    if stored == "signed" and status in ("active", "expired", "superseded"):
        # It came into force at its start date even if nobody looked then.
        since = max(agreement.fully_signed_at or now, start_of_day(agreement.effective_from))
        _activate(agreement, actor, now, since)
    if status == "expired":
        agreement.status = "expired"
        agreement.ended_at = agreement.ended_at or start_of_day(
            agreement.expires_on + dt.timedelta(days=1)
        )
        _touch(agreement, now)
        _audit(actor, "agreement.expired", agreement, {"expired_on": agreement.expires_on})
        _emit("agreement.expired", agreement, actor)
    elif status == "superseded":
        renewal = next(r for r in agreement.renewals if _has_taken_over(r, local_date(now)))
        _end_superseded(agreement, renewal, actor, now)
    elif status == "signed":
        # Only if the clock went backwards: not yet in force after all.
        agreement.status = "signed"
        _touch(agreement, now)
    return status


def suspend_agreement(
    actor: Actor, agreement_id: str, *, reason: str | None = None, if_match: str | None = None
) -> Agreement:
    """Pause an active agreement: it covers no new referral until resumed."""
    agreement, now = _for_change(actor, agreement_id, if_match)
    status = effective_status(agreement, now)
    if status != "active":
        raise _refuse_transition(agreement, "suspended", status)
    agreement.status = "suspended"
    agreement.status_reason = reason
    _touch(agreement, now)
    _audit(actor, "agreement.suspended", agreement, {"reason": reason})
    _emit("agreement.suspended", agreement, actor)
    return agreement


def resume_agreement(
    actor: Actor, agreement_id: str, *, reason: str | None = None, if_match: str | None = None
) -> Agreement:
    """End a suspension; the agreement covers referrals again while in its dates."""
    agreement, now = _for_change(actor, agreement_id, if_match)
    status = effective_status(agreement, now)
    if status != "suspended":
        raise _refuse_transition(agreement, "resumed", status)
    agreement.status = "active"
    agreement.status_reason = reason
    _touch(agreement, now)
    _audit(actor, "agreement.resumed", agreement, {"reason": reason})
    _emit("agreement.resumed", agreement, actor)
    return agreement


def terminate_agreement(
    actor: Actor, agreement_id: str, *, reason: str, if_match: str | None = None
) -> Agreement:
    """End the agreement for good (a draft is withdrawn the same way); a reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise Problem(
            422, "validation-error", "Give a reason.", errors={"reason": ["Give a reason."]}
        )
    agreement, now = _for_change(actor, agreement_id, if_match)
    status = effective_status(agreement, now)
    if status not in ("draft", "signed", "active", "suspended"):
        raise _refuse_transition(agreement, "terminated", status)
    agreement.status = "terminated"
    agreement.termination_reason = reason
    agreement.ended_at = now
    _touch(agreement, now)
    _audit(actor, "agreement.terminated", agreement, {"reason": reason, "was": status})
    _emit("agreement.terminated", agreement, actor)
    return agreement


def renew_agreement(
    actor: Actor,
    agreement_id: str,
    changes: dict[str, Any] | None = None,
    *,
    if_match: str | None = None,
) -> Agreement:
    """A new draft that supersedes this agreement once it is signed and in force.

    It copies the content; by default it runs for the same length of time from the day
    after the old one ends (or from today, if that has passed), under the same number.
    """
    old, now = _for_change(actor, agreement_id, if_match)
    status = effective_status(old, now)
    if status not in ("active", "suspended", "expired"):
        raise _refuse_transition(old, "renewed", status)
    pending = [r.id for r in old.renewals if r.status != "terminated"]
    if pending:
        raise Problem(
            409,
            ALREADY_RENEWED,
            "This agreement already has a renewal; change or terminate that draft instead.",
            renewal=pending[0],
        )
    changes = dict(changes or {})
    term = old.expires_on - old.effective_from
    start = changes.get("effective_from") or max(
        old.expires_on + dt.timedelta(days=1), local_date(now)
    )
    data = {
        **_content_as_input(old),
        "effective_from": start,
        "expires_on": start + term,
        **changes,
    }
    renewal = _new_agreement(actor, data, supersedes=old)
    _touch(old, now)
    _audit(actor, "agreement.renewed", old, {"renewal": renewal.id, "version": renewal.version})
    return renewal


# --- documents -------------------------------------------------------------------------------


def document_max_bytes() -> int:
    """The upload limit for agreement documents (HUB_DOCUMENT_MAX_BYTES, default 20 MiB)."""
    return int(current_app.config.get("HUB_DOCUMENT_MAX_BYTES") or DEFAULT_DOCUMENT_MAX_BYTES)


def clean_filename(name: str | None) -> str:
    """A safe file name ending in .pdf: no path, no control or shell characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    safe = secure_filename(base)[:120]
    stem = safe[:-4] if safe.lower().endswith(".pdf") else safe
    stem = stem.strip("._") or "document"
    return f"{stem}.pdf"


def add_document(
    actor: Actor, agreement_id: str, *, filename: str | None, stream: BinaryIO
) -> AgreementDocument:
    """Keep a PDF with the agreement (the bytes decide, not the name); SHA-256 recorded."""
    agreement = get_agreement(actor, agreement_id, lock=True)
    _require_writer(actor)
    _require_party(actor, agreement)
    limit = document_max_bytes()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise Problem(
            413,
            "payload-too-large",
            f"A document may be at most {limit} bytes.",
            errors={"file": [f"Larger than {limit} bytes."]},
        )
    if not data:
        raise Problem(
            422, "validation-error", "The file is empty.", errors={"file": ["The file is empty."]}
        )
    if not data.startswith(PDF_MAGIC):
        raise Problem(
            422,
            NOT_A_PDF,
            "Only PDF documents are accepted; this file does not start like a PDF.",
            errors={"file": ["Not a PDF (the content does not start with %PDF-)."]},
        )
    digest = hashlib.sha256(data).hexdigest()
    key = document_store().put(data)
    now = utcnow()
    document = AgreementDocument(
        filename=clean_filename(filename),
        size=len(data),
        sha256=digest,
        storage_key=key,
        uploaded_by_organization_id=actor.organization_id,
        uploaded_by_user_id=actor.user_id,
        uploaded_by_client_id=actor.client_id,
        uploaded_at=now,
    )
    agreement.documents.append(document)
    _touch(agreement, now)
    db.session.flush()
    _audit(
        actor,
        "agreement.document_uploaded",
        agreement,
        {
            "document": document.id,
            "filename": document.filename,
            "size": document.size,
            "sha256": digest,
        },
    )
    return document


def read_document(
    actor: Actor, agreement_id: str, document_id: str
) -> tuple[AgreementDocument, bytes]:
    """A document's bytes for a party or the hub operator; every read is audited."""
    agreement = get_agreement(actor, agreement_id)
    document = next((d for d in agreement.documents if d.id == document_id), None)
    if document is None:
        raise Problem(404, "not-found", f"No document '{document_id}' on this agreement.")
    try:
        data = document_store().get(document.storage_key)
    except DocumentNotFound:
        log.error("document %s of agreement %s is missing", document.id, agreement.id)
        raise Problem(
            503, "service-unavailable", "The document cannot be read right now."
        ) from None
    if hashlib.sha256(data).hexdigest() != document.sha256:
        log.error("document %s of agreement %s fails its SHA-256", document.id, agreement.id)
        raise Problem(
            500, "internal-error", "The stored document does not match its recorded SHA-256."
        )
    _audit(
        actor,
        "agreement.document_downloaded",
        agreement,
        {"document": document.id, "filename": document.filename, "sha256": document.sha256},
    )
    return document, data


# --- registry queries ------------------------------------------------------------------------


def registry_query(
    actor: Actor,
    *,
    status: str | None = None,
    party: str | None = None,
    service: str | None = None,
    provider: str | None = None,
    region: str | None = None,
    expiring_within_days: int | None = None,
    at: dt.datetime | None = None,
) -> Select:
    """The agreements the actor sees, filtered; statuses are effective at `at` (now)."""
    day = local_date(at)
    query = visible_agreements(actor).options(selectinload(Agreement.renewals))
    if status:
        query = query.where(effective_status_clause(status, day))
    if party:
        org = _require_filter_org(party, "party")
        query = query.where(
            Agreement.id.in_(
                select(AgreementParty.agreement_id).where(AgreementParty.organization_id == org.id)
            )
        )
    if service or provider:
        services = select(AgreementService.agreement_id)
        if service:
            services = services.where(AgreementService.service_code == service)
        if provider:
            org = _require_filter_org(provider, "provider")
            services = services.where(AgreementService.provider_id == org.id)
        query = query.where(Agreement.id.in_(services))
    if region:
        query = query.where(
            Agreement.id.in_(
                select(AgreementParty.agreement_id)
                .join(Organization, Organization.id == AgreementParty.organization_id)
                .where(
                    or_(
                        Organization.region_code == region,
                        Organization.region_code.like(region + ".%"),
                    )
                )
            )
        )
    if expiring_within_days is not None:
        query = query.where(
            or_(*(effective_status_clause(s, day) for s in LIVE_STATUSES)),
            Agreement.expires_on <= day + dt.timedelta(days=expiring_within_days),
        )
    return query.order_by(Agreement.expires_on, Agreement.number, Agreement.id)


def _require_filter_org(ref: str, field: str) -> Organization:
    org = _find_org(ref)
    if org is None:
        raise Problem(
            422,
            "validation-error",
            f"Unknown organisation '{ref}'.",
            errors={field: [f"Unknown organisation '{ref}'."]},
        )
    return org


def agreement_history(actor: Actor, agreement_id: str) -> list[AuditEntry]:
    """Every recorded change and document read of an agreement, oldest first."""
    agreement = get_agreement(actor, agreement_id)
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "agreement", AuditEntry.object_id == agreement.id)
        .order_by(AuditEntry.seq)
    )
    return [e for e in entries if "copy_for" not in (e.detail or {})]


def record_export(actor: Actor, filters: dict[str, Any], count: int) -> None:
    """Audit that the actor exported the registry (what was asked, how many rows)."""
    audit.record(
        actor,
        "agreement.registry_exported",
        "agreement",
        None,
        {"filters": {k: v for k, v in filters.items() if v is not None}, "rows": count},
    )


# --- coverage --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """One way to refer a service: the provider and the agreement that allows it."""

    service_code: str
    provider: Organization
    agreement: Agreement

    @property
    def data_categories(self) -> list[str]:
        return list(self.agreement.data_categories)

    @property
    def response_hours(self) -> int:
        return self.agreement.response_hours


def _in_force_candidates(day: dt.date) -> Select:
    # Cheap pre-filter in SQL; the exact rule is effective_status() on each candidate.
    # Coverage and the referral gate read the covered services and the renewals, never the
    # parties, signatures or documents: not loading those saves three queries per call.
    return (
        select(Agreement)
        .where(
            Agreement.status.in_(("signed", "active")),
            Agreement.effective_from <= day,
            Agreement.expires_on >= day,
        )
        .options(
            lazyload(Agreement.parties),
            lazyload(Agreement.signatures),
            lazyload(Agreement.documents),
        )
    )


def active_agreements_covering(
    sender_org_id: str,
    recipient_org_id: str,
    service_code: str,
    at: dt.datetime | dt.date | None = None,
) -> list[Agreement]:
    """Agreements in force at `at` between both organisations with the recipient providing
    the service; the one expiring last first. Empty means no referral may be sent."""
    if sender_org_id == recipient_org_id:
        return []
    day = local_date(at)
    query = (
        _in_force_candidates(day)
        .where(
            Agreement.id.in_(
                select(AgreementParty.agreement_id).where(
                    AgreementParty.organization_id == sender_org_id
                )
            ),
            Agreement.id.in_(
                select(AgreementService.agreement_id).where(
                    AgreementService.service_code == service_code,
                    AgreementService.provider_id == recipient_org_id,
                )
            ),
        )
        .options(selectinload(Agreement.renewals))
        .order_by(Agreement.expires_on.desc(), Agreement.id)
    )
    return [a for a in db.session.scalars(query) if covers_at(a, day)]


#: What a coverage line shows of its agreement (API, matrix, wizard, consent form).
_COVERAGE_AGREEMENT_COLUMNS = (
    Agreement.id,
    Agreement.number,
    Agreement.kind,
    Agreement.title,
    Agreement.expires_on,
    Agreement.data_categories,
    Agreement.response_hours,
)


@functools.cache
def _coverage_statement(of_one_service: bool) -> Select:
    """The coverage query, built once: its expression (the in-force rule with its renewal
    subquery) cost more CPU to build on every call than the query took to run.

    Bound parameters: `org_id`, `day`, and `service_code` when `of_one_service`.
    """
    org_id = bindparam("org_id", type_=String)
    # One query of the covered services with their provider and agreement: the rule of
    # covers_at() is applied in SQL (effective_status_clause), so no renewals, no lists of
    # services per agreement and no agreement columns a line does not show are loaded.
    query = (
        select(AgreementService.service_code, Organization, Agreement)
        .join(Agreement, Agreement.id == AgreementService.agreement_id)
        .join(Organization, Organization.id == AgreementService.provider_id)
        .where(
            effective_status_clause("active", bindparam("day", type_=Date)),
            AgreementService.provider_id != org_id,
            Agreement.id.in_(
                select(AgreementParty.agreement_id).where(AgreementParty.organization_id == org_id)
            ),
        )
        .options(
            load_only(*_COVERAGE_AGREEMENT_COLUMNS),
            lazyload(Agreement.parties),
            lazyload(Agreement.services),
            lazyload(Agreement.signatures),
            lazyload(Agreement.documents),
            lazyload(Organization.parent),
        )
    )
    if of_one_service:
        query = query.where(AgreementService.service_code == bindparam("service_code"))
    return query


def covering_agreements_for(
    org_id: str,
    service_code: str | None = None,
    at: dt.datetime | dt.date | None = None,
) -> list[Coverage]:
    """Where an organisation can refer (a service) at `at`: provider and agreement for each."""
    params: dict[str, Any] = {"org_id": org_id, "day": local_date(at)}
    if service_code is not None:
        params["service_code"] = service_code
    rows = db.session.execute(_coverage_statement(service_code is not None), params)
    result = [Coverage(code, provider, agreement) for code, provider, agreement in rows]
    result.sort(key=lambda c: (c.service_code, c.provider.code, c.agreement.expires_on))
    return result


def _coverage_subject(actor: Actor, for_org: str | None) -> Organization:
    if not for_org:
        org = db.session.get(Organization, actor.organization_id)
        if org is None:
            raise Problem(422, "validation-error", "Say which organisation: 'for'.")
        return org
    org = _find_org(for_org)
    if org is None:
        raise Problem(
            422,
            "validation-error",
            f"Unknown organisation '{for_org}'.",
            errors={"for": [f"Unknown organisation '{for_org}'."]},
        )
    if not (actor.is_system or actor.is_hub_operator or org.id == actor.organization_id):
        # Another organisation's agreements are not the caller's to see.
        raise Problem(404, "not-found", f"No coverage for '{for_org}' that you may see.")
    return org


def coverage_for(
    actor: Actor,
    *,
    service: str | None = None,
    for_org: str | None = None,
    at: dt.datetime | None = None,
) -> tuple[Organization, list[Coverage]]:
    """The organisations the actor's organisation (or `for_org`) can refer a service to now."""
    org = _coverage_subject(actor, for_org)
    items = covering_agreements_for(org.id, service, at)
    # A covered service exists (agreement_services.service_code is a foreign key): look it
    # up only when nothing covers it, to tell an unknown code from a gap.
    if service is not None and not items and db.session.get(Service, service) is None:
        raise Problem(
            422,
            "validation-error",
            f"Unknown service '{service}'.",
            errors={"service": [f"Unknown service '{service}'."]},
        )
    return org, items


def coverage_matrix(
    actor: Actor,
    *,
    for_org: str | None = None,
    region: str | None = None,
    org_type: str | None = "uptd_ppa",
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Services x organisations: who covers each cell under which agreement, or a gap.

    A cell is `covered` when an agreement in force lets the organisation refer the service
    to another party, `own` when the organisation offers it itself and no agreement covers
    it, and a `gap` otherwise.
    """
    if for_org and region:
        raise Problem(
            422,
            "validation-error",
            "Give either 'for' or 'region'.",
            errors={"region": ["Give either 'for' or 'region', not both."]},
        )
    if region:
        if not (actor.is_system or actor.is_hub_operator):
            raise Problem(
                403, "forbidden", "Only the hub operator can see the coverage of a region."
            )
        query = select(Organization).where(
            or_(Organization.region_code == region, Organization.region_code.like(region + ".%")),
            Organization.type != "hub_operator",
        )
        if org_type:
            query = query.where(Organization.type == org_type)
        # Each row tells whether the organisation offers a service itself: one query for all.
        query = query.options(selectinload(Organization.services))
        organizations = list(db.session.scalars(query.order_by(Organization.code)))
    else:
        organizations = [_coverage_subject(actor, for_org)]
    services = list(db.session.scalars(select(Service).order_by(Service.position, Service.code)))
    rows = []
    gaps = 0
    for org in organizations:
        by_service: dict[str, list[Coverage]] = {}
        for item in covering_agreements_for(org.id, None, at):
            by_service.setdefault(item.service_code, []).append(item)
        cells = []
        for service in services:
            covered = by_service.get(service.code, [])
            own = org.offers(service.code)
            state = "covered" if covered else ("own" if own else "gap")
            gaps += state == "gap"
            cells.append(
                {
                    "service": service.code,
                    "state": state,
                    "offered_by_self": own,
                    "covered_by": covered,
                }
            )
        rows.append({"organization": org, "cells": cells})
    return {
        "date": local_date(at),
        "services": services,
        "rows": rows,
        "gaps": gaps,
    }


# --- the scheduled sweep ---------------------------------------------------------------------


def _expiry_window(agreement: Agreement, now: dt.datetime) -> int | None:
    """The expiry window (30 or 7 days) still to announce for an agreement in force, if any."""
    if effective_status(agreement, now) not in ("active", "suspended"):
        return None
    days_left = (agreement.expires_on - local_date(now)).days
    window = next((w for w in sorted(EXPIRY_WINDOWS) if days_left <= w), None)
    if window is None:
        return None
    if agreement.expiry_notice_days is not None and agreement.expiry_notice_days <= window:
        return None
    return window


def _sweep_has_work(agreement: Agreement, now: dt.datetime) -> bool:
    return (
        effective_status(agreement, now) != agreement.status
        or _expiry_window(agreement, now) is not None
    )


def sweep_agreement_expiry(
    now: dt.datetime | None = None, *, actor: Actor | None = None
) -> dict[str, list[str]]:
    """Write statuses the calendar changed and announce agreements expiring in 30 and 7 days.

    Idempotent: each agreement is announced once per window (the marker column), and a
    status already written is not written again. The caller commits.
    """
    now = now or utcnow()
    actor = actor or Actor.system("scheduler:agreement-expiry")
    day = local_date(now)
    found: dict[str, list[str]] = {
        "expired": [],
        "expiring_30": [],
        "expiring_7": [],
        "activated": [],
        "superseded": [],
    }
    candidates = dict(
        db.session.execute(
            select(Agreement.id, Agreement.status)
            .where(
                or_(
                    Agreement.status.in_(LIVE_STATUSES),
                    and_(Agreement.status == "expired", _taken_over_clause(day)),
                )
            )
            .order_by(Agreement.expires_on, Agreement.id)
        ).all()
    )
    for agreement_id in candidates:
        agreement = db.session.get(Agreement, agreement_id)
        if agreement is None or not _sweep_has_work(agreement, now):
            continue
        # Only agreements that change are locked, and each only for this transaction.
        agreement = get_agreement(actor, agreement_id, lock=True)
        _materialise(agreement, now, actor)
        window = _expiry_window(agreement, now)
        if window is None:
            continue
        days_left = (agreement.expires_on - day).days
        agreement.expiry_notice_days = window
        _touch(agreement, now)
        found[f"expiring_{window}"].append(agreement.id)
        _audit(
            actor,
            "agreement.expiring",
            agreement,
            {"days_left": days_left, "window_days": window, "expires_on": agreement.expires_on},
        )
        _emit("agreement.expiring", agreement, actor)
    # Report what the sweep wrote, including predecessors ended by a renewal's activation.
    for agreement_id, was in candidates.items():
        now_stored = db.session.get(Agreement, agreement_id).status
        if now_stored == was:
            continue
        if now_stored in ("expired", "superseded"):
            found[now_stored].append(agreement_id)
        elif now_stored == "active" and was == "signed":
            found["activated"].append(agreement_id)
    db.session.flush()
    return found


# Partners hear of agreement events through the delivery outbox (events feed, webhooks).
from referral_hub.agreements import events as _events  # noqa: E402

_events.install(EVENT_LISTENERS)
