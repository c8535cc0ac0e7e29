"""The rules of clients, consent and disclosure: one place for API, portal, CLI and referrals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.categories import ALWAYS_SHARED, DATA_CATEGORIES
from referral_hub.clients import names
from referral_hub.clients.crypto import (
    ENCRYPTED_MODELS,
    current_kid,
    nik_index_candidates,
    reencrypt,
    stale_clause,
)
from referral_hub.clients.models import (
    ASSENT_AGE,
    CHILD_AGE,
    CONSENT_GIVERS,
    CONSENT_METHODS,
    DISCLOSURE_KINDS,
    Client,
    CodeCounter,
    Consent,
    Disclosure,
    local_today,
)
from referral_hub.clients.signals import consent_withdrawn
from referral_hub.db import new_id, utcnow
from referral_hub.directory.models import Organization, Service
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

NOT_A_UPTD = register_problem("not-a-uptd", "Only a UPTD PPA registers clients")
CLIENT_ALREADY_REGISTERED = register_problem(
    "client-already-registered", "A client with this NIK is already registered"
)
CONSENT_GIVER_NOT_ALLOWED = register_problem(
    "consent-giver-not-allowed", "This person cannot give consent for the client"
)
CONSENT_GIVER_NEEDS_CLEARANCE = register_problem(
    "consent-giver-needs-clearance",
    "The consent giver resembles the alleged perpetrator: a supervisor must clear them",
)
CHILD_ASSENT_REFUSED = register_problem(
    "child-assent-refused", "The child refused assent to sharing on this consent"
)
CONSENT_ALREADY_WITHDRAWN = register_problem(
    "consent-already-withdrawn", "The consent was already withdrawn"
)
CONSENT_WITHDRAWN = register_problem("consent-withdrawn", "The consent was withdrawn")
CONSENT_EXPIRED = register_problem("consent-expired", "The consent has expired")
CONSENT_NOT_COVERING = register_problem(
    "consent-not-covering", "The consent does not cover this recipient or service"
)
DATA_CATEGORY_NOT_ALLOWED = register_problem(
    "data-category-not-allowed", "A requested data category is not allowed"
)

CLIENT_CODE_PREFIX = "KL"
#: How far ahead a consent may run; longer is a typing mistake (and consent should be renewed).
MAX_CONSENT_YEARS = 10

# --- who acts -----------------------------------------------------------------------------


def _acting_organization(actor: Actor) -> Organization | None:
    if actor.organization_id is None:
        return None
    return db.session.get(Organization, actor.organization_id)


def _require_writer(actor: Actor) -> None:
    """The right to change clients' records and consent (permissions.py: caseworkers and
    supervisors, or a token with clients:write acting for one of them, or for its unit)."""
    if not actor.has_scope("clients:write"):
        raise Problem(403, "forbidden", "Your role does not change clients' records or consent.")


def may_read_clients(actor: Actor) -> bool:
    """The right to read clients' personal data: `clients:read` for a token, and for a person
    (or an app acting for one) a role that keeps clients."""
    return actor.has_scope("clients:read")


def _require_reader(actor: Actor) -> None:
    if not may_read_clients(actor):
        raise Problem(403, "forbidden", "Your role does not read clients' personal data.")


def require_uptd(actor: Actor) -> Organization:
    """The actor's organisation, which must be a UPTD PPA (403 not-a-uptd otherwise)."""
    org = _acting_organization(actor)
    if org is None or org.type != "uptd_ppa":
        raise Problem(
            403,
            NOT_A_UPTD,
            "Clients are registered and kept by UPTD PPA units; partner agencies see a client "
            "only through a referral.",
            reason="registers-clients",
        )
    return org


def _sees_client(actor: Actor, client: Client) -> bool:
    return actor.is_system or client.organization_id == actor.organization_id


def find_client_of(actor: Actor, client_id: str) -> Client | None:
    """The client if the actor's organisation owns it (the system sees all), else None."""
    client = db.session.get(Client, client_id) if isinstance(client_id, str) else None
    if client is None or not _sees_client(actor, client):
        return None
    return client


def get_client_of(actor: Actor, client_id: str) -> Client:
    """The client of the actor's organisation, or 404 (another unit's client does not exist)."""
    client = find_client_of(actor, client_id)
    if client is None:
        raise Problem(404, "not-found", f"No client '{client_id}'.")
    return client


# --- codes ----------------------------------------------------------------------------------


def organization_short_code(org: Organization) -> str:
    """The unit's part of a readable number: uptd-ppa-ppu -> PPU, uptd-ppa-kukar -> KUKAR."""
    return org.code.removeprefix("uptd-ppa-").replace("-", "").upper()[:16]


def next_number(prefix: str, organization_id: str, year: int) -> int:
    """The next number of a (prefix, organisation, year) series, unique under concurrency.

    The counter row is incremented by one UPDATE ... RETURNING, which holds its row lock until
    the transaction ends, so concurrent transactions get consecutive numbers and a rolled-back
    one gives its number back. The first number of a year inserts the row; if another
    transaction inserted it meanwhile, the insert fails in its savepoint and we increment.
    """
    increment = (
        update(CodeCounter)
        .where(
            CodeCounter.prefix == prefix,
            CodeCounter.organization_id == organization_id,
            CodeCounter.year == year,
        )
        .values(last_value=CodeCounter.last_value + 1)
        .returning(CodeCounter.last_value)
        .execution_options(synchronize_session=False)
    )
    value = db.session.execute(increment).scalar()
    if value is not None:
        return value
    try:
        with db.session.begin_nested():
            db.session.add(
                CodeCounter(prefix=prefix, organization_id=organization_id, year=year, last_value=1)
            )
        return 1
    except IntegrityError:
        return db.session.execute(increment).scalar_one()


def take_number(prefix: str, organization_id: str, year: int) -> int:
    """The next number of a series, taken like a sequence's: in its own short transaction.

    `next_number` holds the counter's row lock until the caller's transaction ends, so every
    send of one unit waited for the previous one's gates, writes and commit: under load the
    sends of a busy unit queued on that row. Here the number is taken by one upsert committed
    at once; the row is locked only for that statement. The price is a sequence's: a send
    that fails after taking its number leaves a gap (the audit log shows every number sent).
    SQLite has one writer at a time, and a second connection would wait for the caller's
    own write lock, so there the number is taken in the caller's transaction.
    """
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return next_number(prefix, organization_id, year)
    counters = CodeCounter.__table__
    upsert = (
        pg_insert(counters)
        .values(prefix=prefix, organization_id=organization_id, year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[counters.c.prefix, counters.c.organization_id, counters.c.year],
            set_={"last_value": counters.c.last_value + 1},
        )
        .returning(counters.c.last_value)
    )
    with engine.connect() as connection:
        value = connection.execute(upsert).scalar_one()
        connection.commit()
    return value


def _client_code(org: Organization, at: dt.datetime) -> str:
    year = local_today(at).year
    number = next_number(CLIENT_CODE_PREFIX, org.id, year)
    return f"{CLIENT_CODE_PREFIX}-{organization_short_code(org)}-{year}-{number:06d}"


# --- clients --------------------------------------------------------------------------------


def find_by_nik(organization_id: str, nik: str) -> Client | None:
    """The organisation's client with this NIK, by its blind index under any key of the ring."""
    pairs = nik_index_candidates(nik, organization_id)
    return db.session.scalar(
        select(Client).where(
            Client.organization_id == organization_id,
            or_(*(and_(Client.nik_index_kid == k, Client.nik_index == v) for k, v in pairs)),
        )
    )


def register_client(
    actor: Actor,
    *,
    full_name: str,
    birth_date: dt.date,
    sex: str,
    domicile_region: str,
    nik: str | None = None,
    disability: Iterable[str] = (),
    phone: str | None = None,
    address: str | None = None,
    guardian: dict[str, Any] | None = None,
    simfoni_id: str | None = None,
    organization: str | None = None,
) -> Client:
    """Register a client of the actor's UPTD PPA (the system names the `organization`)."""
    _require_writer(actor)
    if actor.is_system and organization is not None:
        from referral_hub.directory.operations import require_organization

        org = require_organization(organization)
        if org.type != "uptd_ppa":
            raise Problem(
                403,
                NOT_A_UPTD,
                f"{org.code} is not a UPTD PPA.",
                reason="not-uptd",
                organization=org.code,
            )
    else:
        org = require_uptd(actor)
    if nik is not None:
        existing = find_by_nik(org.id, nik)
        if existing is not None:
            raise Problem(
                409,
                CLIENT_ALREADY_REGISTERED,
                f"This NIK is already registered as client {existing.code}.",
                client={"id": existing.id, "code": existing.code},
            )
    now = utcnow()
    client = Client(
        organization_id=org.id,
        code=_client_code(org, now),
        sex=sex,
        disability=list(disability),
        domicile_region=domicile_region,
        simfoni_id=simfoni_id,
        created_at=now,
        created_by_user_id=actor.user_id,
        created_by_client_id=actor.client_id,
    )
    client.full_name = full_name
    client.birth_date = birth_date
    client.nik = nik
    client.phone = phone
    client.address = address
    if guardian is not None:
        client.guardian = {
            "name": guardian["name"],
            "relationship": guardian["relationship"],
            "phone": guardian.get("phone"),
            "is_alleged_perpetrator": bool(guardian.get("is_alleged_perpetrator")),
        }
    try:
        with db.session.begin_nested():
            db.session.add(client)
    except IntegrityError:
        # The same NIK registered by a concurrent request: the unique index caught it.
        raise Problem(
            409, CLIENT_ALREADY_REGISTERED, "This NIK was just registered by another request."
        ) from None
    audit.record(
        actor,
        "client.registered",
        "client",
        client.id,
        {"code": client.code, "has_nik": nik is not None, "has_guardian": guardian is not None},
        subject_organization_id=org.id,
    )
    return client


def clients_query(
    actor: Actor,
    *,
    nik: str | None = None,
    code: str | None = None,
    simfoni_id: str | None = None,
) -> Select:
    """The actor's organisation's clients, newest first; by exact NIK, code or SIMFONI id."""
    org = require_uptd(actor)
    query = select(Client).where(Client.organization_id == org.id)
    if nik is not None:
        pairs = nik_index_candidates(nik, org.id)
        query = query.where(
            or_(*(and_(Client.nik_index_kid == k, Client.nik_index == v) for k, v in pairs))
        )
    if code is not None:
        query = query.where(Client.code == code)
    if simfoni_id is not None:
        query = query.where(Client.simfoni_id == simfoni_id)
    return query.order_by(Client.created_at.desc(), Client.id.desc())


def held_categories(client: Client) -> list[str]:
    """The categories of personal data the client's own record holds."""
    held = [ALWAYS_SHARED, "identity"]
    if client.phone_enc is not None or client.address_enc is not None:
        held.append("contact")
    if client.guardian_enc is not None:
        held.append("guardian")
    return held


def read_client(actor: Actor, client_id: str, context: str) -> Client:
    """The owner's full read of a client, logged as a disclosure (PDP: history of processing)."""
    _require_reader(actor)
    client = get_client_of(actor, client_id)
    record_disclosure(actor, client, held_categories(client), "owner", context)
    return client


# --- the one minimisation function ----------------------------------------------------------


def _identity_view(client: Client) -> dict[str, Any]:
    return {
        "full_name": client.full_name,
        "nik": client.nik,
        "birth_date": client.birth_date.isoformat(),
    }


def _contact_view(client: Client) -> dict[str, Any]:
    return {"phone": client.phone, "address": client.address}


def guardian_is_alleged_perpetrator(client: Client) -> bool:
    """A guardian who is the alleged perpetrator is never handed out as someone to contact:
    a recipient who called them could tell the abuser where the child is. Whatever the
    perpetrator category allows is shown by the referral's own view."""
    return bool((client.guardian or {}).get("is_alleged_perpetrator"))


def _guardian_view(client: Client) -> dict[str, Any] | None:
    guardian = client.guardian
    if not guardian or guardian_is_alleged_perpetrator(client):
        return None
    return {
        "name": guardian["name"],
        "relationship": guardian["relationship"],
        "phone": guardian.get("phone"),
    }


#: Category -> the part of the client record it reveals. Categories not listed here
#: (case_summary, health, legal, perpetrator) are held by the referral, whose view adds them
#: next to `client_view`'s result: register a client-held category here to extend it.
CLIENT_CATEGORY_VIEWS: dict[str, Callable[[Client], dict[str, Any] | None]] = {
    "identity": _identity_view,
    "contact": _contact_view,
    "guardian": _guardian_view,
}


#: Why the client's record cannot give a category to a referral (`record_refusal`).
NOT_ON_RECORD = "not-on-record"
GUARDIAN_IS_ALLEGED_PERPETRATOR = "guardian-is-alleged-perpetrator"


def record_refusal(client: Client, category: str) -> str | None:
    """Why the client's own record cannot give `category` to a referral: the record holds no
    such data (NOT_ON_RECORD), or the guardian is the alleged perpetrator and is never shared
    as a contact (GUARDIAN_IS_ALLEGED_PERPETRATOR). None when it can, and for the categories
    the referral itself carries (case data)."""
    if category not in CLIENT_CATEGORY_VIEWS:
        return None
    if category not in held_categories(client):
        return NOT_ON_RECORD
    if category == "guardian" and guardian_is_alleged_perpetrator(client):
        return GUARDIAN_IS_ALLEGED_PERPETRATOR
    return None


def demographics(client: Client, day: dt.date | None = None) -> dict[str, Any]:
    """What every recipient may see: age band, sex, disability, domicile region."""
    return {
        "age_band": client.age_band(day),
        "sex": client.sex,
        "disability": list(client.disability or []),
        "domicile_region": client.domicile_region,
    }


def client_view(client: Client, categories: Iterable[str], day: dt.date | None = None) -> dict:
    """The client as a party allowed `categories` sees it: code, demographics, and only those.

    Unknown category codes raise ValueError (a typo must not silently widen or narrow a view).
    """
    wanted = set(categories)
    unknown = wanted - set(DATA_CATEGORIES)
    if unknown:
        raise ValueError(f"unknown data categories: {sorted(unknown)}")
    view: dict[str, Any] = {"code": client.code, "demographics": demographics(client, day)}
    for category, build in CLIENT_CATEGORY_VIEWS.items():
        if category in wanted:
            view[category] = build(client)
    return view


# --- disclosures ----------------------------------------------------------------------------


def record_disclosure(
    actor: Actor,
    client: Client,
    categories: Iterable[str],
    basis: str,
    context: str,
    *,
    kind: str = "read",
    to_organization_id: str | None = None,
) -> Disclosure:
    """Log that personal data of `client` was read or shared (same transaction), and audit it.

    kind "read": the actor saw decrypted data; "share": data was made available to
    `to_organization_id` (default: the actor's organisation is the one that saw it).
    """
    chosen = list(dict.fromkeys(categories))
    if not chosen or set(chosen) - set(DATA_CATEGORIES):
        raise ValueError(f"disclosure categories must be known codes, not {chosen}")
    if kind not in DISCLOSURE_KINDS:
        raise ValueError(f"disclosure kind must be one of {DISCLOSURE_KINDS}")
    seen_by = to_organization_id or actor.organization_id
    disclosure = Disclosure(
        id=new_id(),  # known now, so that the audit detail needs no flush
        client_id=client.id,
        owner_organization_id=client.organization_id,
        organization_id=seen_by,
        actor_kind=actor.kind,
        user_id=actor.user_id,
        oauth_client_id=actor.client_id,
        actor_label=(actor.label or "")[:200] or None,
        kind=kind,
        categories=chosen,
        basis=basis[:64],
        context=context[:200],
        at=utcnow(),
    )
    db.session.add(disclosure)
    audit.record(
        actor,
        f"client.{kind}",
        "client",
        client.id,
        {
            "disclosure": disclosure.id,
            "categories": chosen,
            "basis": disclosure.basis,
            "context": disclosure.context,
            "organization": seen_by,
        },
        subject_organization_id=client.organization_id,
    )
    return disclosure


def disclosures_query(actor: Actor, client_id: str) -> Select:
    """The disclosures of one of the actor's organisation's clients, newest first."""
    _require_reader(actor)
    client = get_client_of(actor, client_id)
    return (
        select(Disclosure)
        .where(Disclosure.client_id == client.id)
        .order_by(Disclosure.at.desc(), Disclosure.id.desc())
    )


# --- consent --------------------------------------------------------------------------------


def _refuse_giver(detail: str, field: str, reason: str, **fields: Any) -> Problem:
    """`reason`: alleged-perpetrator, child-client (with `age`), adult-client or
    flagged-guardian; the portal says the refusal from it."""
    return Problem(
        422, CONSENT_GIVER_NOT_ALLOWED, detail, errors={field: [detail]}, reason=reason, **fields
    )


def _check_giver(
    client: Client,
    is_child: bool,
    given_by: str,
    giver_name: str | None,
    giver_relationship: str | None,
    giver_is_alleged_perpetrator: bool,
) -> str | None:
    """Refuse a giver who may not consent; say what a supervisor must clear ("name",
    "relationship") when the giver resembles the guardian flagged as the alleged perpetrator.
    """
    if giver_is_alleged_perpetrator:
        raise _refuse_giver(
            "An alleged perpetrator can never give consent for the victim.",
            "giver_is_alleged_perpetrator",
            "alleged-perpetrator",
        )
    if is_child and given_by == "client":
        raise _refuse_giver(
            f"The client is under {CHILD_AGE}: consent comes from a parent or guardian "
            "(UU PDP Pasal 25); record the child's assent in child_assent.",
            "given_by",
            "child-client",
            age=CHILD_AGE,
        )
    if not is_child and given_by != "client" and not client.disability:
        raise _refuse_giver(
            "An adult client gives consent themself; a guardian may consent only for an adult "
            "with a recorded disability (UU PDP Pasal 26).",
            "given_by",
            "adult-client",
        )
    guardian = client.guardian
    if given_by == "client" or not giver_name or not guardian:
        return None
    if not guardian.get("is_alleged_perpetrator"):
        return None
    resemblance = names.compare_names(giver_name, guardian.get("name") or "")
    if resemblance == "same":
        raise _refuse_giver(
            "The giver matches the client's guardian, who is recorded as the alleged "
            "perpetrator; consent must come from another parent or guardian.",
            "giver_name",
            "flagged-guardian",
        )
    if resemblance == "close":
        return "name"
    if giver_relationship and names.same_relationship(
        giver_relationship, guardian.get("relationship") or ""
    ):
        return "relationship"
    return None


#: What resembles the flagged guardian -> (the field it is on, the refusal's detail, the field's
#: message).
_CLEARANCE_TEXTS = {
    "name": (
        "giver_name",
        "The giver's name is close to that of the client's guardian, who is recorded as the "
        "alleged perpetrator: a supervisor of the unit must make sure they are not the same "
        "person and record this consent personally (giver_cleared_by_supervisor).",
        "Close to the name of the guardian recorded as the alleged perpetrator; "
        "a supervisor must clear it.",
    ),
    "relationship": (
        "giver_relationship",
        "The giver has the same relationship to the client as the guardian recorded as the "
        "alleged perpetrator: a supervisor of the unit must make sure they are not the same "
        "person and record this consent personally (giver_cleared_by_supervisor).",
        "The relationship of the guardian recorded as the alleged perpetrator; "
        "a supervisor must clear it.",
    ),
}


def _needs_clearance(resembles: str) -> Problem:
    field, detail, message = _CLEARANCE_TEXTS[resembles]
    return Problem(
        422, CONSENT_GIVER_NEEDS_CLEARANCE, detail, errors={field: [message]}, reason=resembles
    )


def _clearing_supervisor(actor: Actor, client: Client) -> str:
    """The id of the supervisor who clears a giver: the actor, an active supervisor of the
    client's unit acting as themselves (portal, or a token issued to them); else 422."""
    user = db.session.get(User, actor.user_id) if actor.user_id else None
    if (
        user is None
        or not user.active
        or user.role != "supervisor"
        or user.organization_id != client.organization_id
    ):
        raise Problem(
            422,
            CONSENT_GIVER_NEEDS_CLEARANCE,
            "A consent giver is cleared by an active supervisor of the client's unit "
            "personally, who records the consent.",
            errors={
                "giver_cleared_by_supervisor": [
                    "Only a supervisor of the unit, recording the consent themself, clears it."
                ]
            },
            reason="supervisor-only",
        )
    return user.id


def record_consent(
    actor: Actor,
    client: Client,
    *,
    given_by: str,
    recipients: list[str],
    services: list[str],
    data_categories: list[str],
    method: str,
    evidence_sha256: str,
    valid_until: dt.date,
    giver_name: str | None = None,
    giver_relationship: str | None = None,
    giver_is_alleged_perpetrator: bool = False,
    giver_cleared_by_supervisor: bool = False,
    child_assent: bool | None = None,
    child_assent_refusal_reason: str | None = None,
) -> Consent:
    """Record consent to share a client's data with recipients for services (giver rules first).

    A giver who resembles the guardian flagged as the alleged perpetrator (a close spelling
    of the name, or the same relationship to the client) is accepted only with
    `giver_cleared_by_supervisor` from an active supervisor of the unit acting personally.
    """
    _require_writer(actor)
    if not _sees_client(actor, client):
        raise Problem(404, "not-found", f"No client '{client.id}'.")
    if given_by not in CONSENT_GIVERS or method not in CONSENT_METHODS:
        raise ValueError("given_by and method are validated by the schema")
    now = utcnow()
    today = local_today(now)
    is_child = client.is_child(today)
    resembles = _check_giver(
        client, is_child, given_by, giver_name, giver_relationship, giver_is_alleged_perpetrator
    )
    cleared_by = _clearing_supervisor(actor, client) if giver_cleared_by_supervisor else None
    if resembles is not None and cleared_by is None:
        raise _needs_clearance(resembles)

    errors: dict[str, list[str]] = {}
    if given_by != "client":
        if not giver_name:
            errors["giver_name"] = ["Required when a parent or guardian gives consent."]
        if not giver_relationship:
            errors["giver_relationship"] = ["Required when a parent or guardian gives consent."]
    if is_child and child_assent is None:
        errors["child_assent"] = ["Record whether the child agreed (true or false)."]
    if not is_child and child_assent is not None:
        errors["child_assent"] = ["Only recorded for a child client."]
    if child_assent is False and not child_assent_refusal_reason:
        errors["child_assent_refusal_reason"] = ["Required when the child did not agree."]
    if child_assent is not False and child_assent_refusal_reason:
        errors["child_assent_refusal_reason"] = ["Only recorded when the child did not agree."]

    orgs: list[Organization] = []
    unknown_orgs = []
    for ref in dict.fromkeys(recipients):
        org = db.session.scalar(
            select(Organization).where((Organization.id == ref) | (Organization.code == ref))
        )
        if org is None:
            unknown_orgs.append(f"Unknown organisation '{ref}'.")
        elif org.id == client.organization_id:
            unknown_orgs.append("The client's own unit needs no consent to hold its data.")
        elif org not in orgs:
            orgs.append(org)
    if unknown_orgs:
        errors["recipients"] = unknown_orgs

    wanted_services = list(dict.fromkeys(services))
    known_services = set(
        db.session.scalars(select(Service.code).where(Service.code.in_(wanted_services)))
    )
    if set(wanted_services) - known_services:
        errors["services"] = [
            f"Unknown service '{code}'." for code in wanted_services if code not in known_services
        ]

    categories = [
        ALWAYS_SHARED,
        *(c for c in dict.fromkeys(data_categories) if c != ALWAYS_SHARED),
    ]
    unknown_categories = [c for c in categories if c not in DATA_CATEGORIES]
    if unknown_categories:
        errors["data_categories"] = [f"Unknown data category '{c}'." for c in unknown_categories]

    if valid_until < today:
        errors["valid_until"] = ["Must be today or later: consent is recorded for the future."]
    elif valid_until > today + dt.timedelta(days=365 * MAX_CONSENT_YEARS):
        errors["valid_until"] = [f"At most {MAX_CONSENT_YEARS} years ahead; renew consent instead."]
    if errors:
        raise Problem(422, "validation-error", "The consent cannot be recorded.", errors=errors)

    consent = Consent(
        client_id=client.id,
        organization_id=client.organization_id,
        given_by=given_by,
        giver_relationship=giver_relationship if given_by != "client" else None,
        giver_is_alleged_perpetrator=False,
        client_was_child=is_child,
        child_assent=child_assent,
        giver_cleared_by_user_id=cleared_by if resembles is not None else None,
        services=wanted_services,
        data_categories=categories,
        method=method,
        evidence_sha256=evidence_sha256.lower(),
        valid_until=valid_until,
        created_at=now,
        recorded_by_user_id=actor.user_id,
        recorded_by_client_id=actor.client_id,
    )
    consent.recipients = orgs
    consent.giver_name = giver_name if given_by != "client" else None
    consent.child_assent_refusal_reason = child_assent_refusal_reason
    db.session.add(consent)
    db.session.flush()
    audit.record(
        actor,
        "consent.recorded",
        "consent",
        consent.id,
        {
            "client": client.id,
            "given_by": given_by,
            "client_was_child": is_child,
            "child_assent": child_assent,
            "recipients": [o.code for o in orgs],
            "services": wanted_services,
            "data_categories": categories,
            "method": method,
            "evidence_sha256": consent.evidence_sha256,
            "valid_until": valid_until.isoformat(),
        },
        subject_organization_id=client.organization_id,
    )
    if consent.giver_cleared_by_user_id is not None:
        # The kind of resemblance, never the names: the audit log holds no personal data.
        audit.record(
            actor,
            "consent.giver_cleared",
            "consent",
            consent.id,
            {"client": client.id, "resembles": resembles},
            subject_organization_id=client.organization_id,
        )
    return consent


def get_consent_of(actor: Actor, consent_id: str) -> Consent:
    """A consent of the actor's organisation's client, or 404."""
    consent = db.session.get(Consent, consent_id) if isinstance(consent_id, str) else None
    if consent is None or not (actor.is_system or consent.organization_id == actor.organization_id):
        raise Problem(404, "not-found", f"No consent '{consent_id}'.")
    return consent


def require_consent_for(
    actor: Actor, consent_id: str, client: Client, *, hold: bool = False
) -> Consent:
    """The actor's consent `consent_id`, which must be this client's (else 422 on `consent`).

    `hold` locks it FOR SHARE until the commit, read as it is once the lock is had (a
    withdrawal waits for the caller's commit, or is seen if it committed first).
    """
    consent = None
    if isinstance(consent_id, str) and hold:
        consent = db.session.scalar(
            select(Consent)
            .where(Consent.id == consent_id, Consent.client_id == client.id)
            .with_for_update(read=True, of=Consent)
            .execution_options(populate_existing=True)
        )
    elif isinstance(consent_id, str):
        consent = db.session.get(Consent, consent_id)
    if consent is None or consent.client_id != client.id or not _sees_client(actor, client):
        raise Problem(
            422,
            "validation-error",
            "No such consent of this client.",
            errors={"consent": [f"'{consent_id}' is not a consent of client {client.code}."]},
        )
    return consent


def consents_query(actor: Actor, client_id: str) -> Select:
    """A client's consents, newest first."""
    _require_reader(actor)
    client = get_client_of(actor, client_id)
    return (
        select(Consent)
        .where(Consent.client_id == client.id)
        .order_by(Consent.created_at.desc(), Consent.id.desc())
    )


def record_consent_reads(actor: Actor, consents: Iterable[Consent], context: str) -> None:
    """Log the owner's read of the giver names (a parent's or guardian's identity) shown."""
    for consent in consents:
        if consent.giver_name_enc is not None:
            record_disclosure(
                actor, consent.client, ["guardian"], "owner", f"{context} consent:{consent.id}"
            )


class ConsentWithoutGiver:
    """A consent as a caller without the right to read clients receives it: everything but
    the giver's name (a parent's or guardian's identity)."""

    giver_name = None

    def __init__(self, consent: Consent) -> None:
        self._consent = consent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consent, name)


def consents_seen_by(
    actor: Actor, consents: Iterable[Consent], context: str, *, record: bool = True
) -> list[Consent | ConsentWithoutGiver]:
    """The consents as the actor may receive them, the one rule for every answer that holds
    one: the giver's name only with the right to read clients, and then that read logged.

    `record=False` is for the answer to recording a consent, which echoes the name the
    caller has just sent: nothing the hub held is read there.
    """
    consents = list(consents)
    if not may_read_clients(actor):
        return [ConsentWithoutGiver(consent) for consent in consents]
    if record:
        record_consent_reads(actor, consents, context)
    return consents


def withdraw_consent(actor: Actor, consent_id: str, reason: str) -> Consent:
    """Withdraw a consent now: recorded, audited, and `consent_withdrawn` sent (its receivers
    run in this transaction; clients/signals.py)."""
    _require_writer(actor)
    consent = get_consent_of(actor, consent_id)
    if consent.withdrawn_at is not None:
        raise Problem(
            409,
            CONSENT_ALREADY_WITHDRAWN,
            f"The consent was withdrawn at {consent.withdrawn_at.isoformat()}.",
        )
    consent.withdrawn_at = utcnow()
    consent.withdrawal_reason = reason
    consent.withdrawn_by_user_id = actor.user_id
    consent.withdrawn_by_client_id = actor.client_id
    db.session.flush()
    audit.record(
        actor,
        "consent.withdrawn",
        "consent",
        consent.id,
        {"client": consent.client_id, "recipients": sorted(o.code for o in consent.recipients)},
        subject_organization_id=consent.organization_id,
    )
    consent_withdrawn.send(consent, actor=actor)
    return consent


def assent_blocks_sharing(consent: Consent, at: dt.datetime | None = None) -> bool:
    """Whether the child's refusal of assent stops sharing on `consent` at `at` (default now).

    The refusal is always recorded; it blocks from the child's ASSENT_AGE birthday on, by
    the age at the time of use, not when the consent was given (DOMAIN.md).
    """
    if consent.child_assent is not False:
        return False
    return consent.client.age(local_today(at)) >= ASSENT_AGE


def consent_problems(
    consent: Consent,
    *,
    recipient_org_id: str,
    service_code: str,
    categories: Iterable[str],
    at: dt.datetime | None = None,
) -> list[Problem]:
    """Why `consent` does not allow sending `categories` to a recipient for a service ([]: it does).

    In order: consent-withdrawn, consent-expired, child-assent-refused (the child refused
    and is ASSENT_AGE or older at `at`; errors on `consent`), consent-not-covering (recipient
    or service outside; errors on `to` / `service`), data-category-not-allowed (errors on
    `data_categories`). "demographics" is always allowed.
    """
    problems: list[Problem] = []
    status = consent.status(at)
    if status == "withdrawn":
        problems.append(Problem(422, CONSENT_WITHDRAWN, "The client's consent was withdrawn."))
    elif status == "expired":
        problems.append(
            Problem(
                422,
                CONSENT_EXPIRED,
                f"The client's consent held until {consent.valid_until.isoformat()}.",
                valid_until=consent.valid_until.isoformat(),
            )
        )
    if assent_blocks_sharing(consent, at):
        problems.append(
            Problem(
                422,
                CHILD_ASSENT_REFUSED,
                f"The child refused assent to this consent, and from age {ASSENT_AGE} a "
                "child's refusal blocks sharing on consent; a supervisor may still send on a "
                "legal basis.",
                errors={"consent": ["The child refused assent."]},
            )
        )
    outside: dict[str, list[str]] = {}
    if recipient_org_id not in consent.recipient_ids:
        outside["to"] = ["The consent does not name this recipient."]
    if service_code not in consent.services:
        outside["service"] = ["The consent does not cover this service."]
    if outside:
        problems.append(
            Problem(
                422,
                CONSENT_NOT_COVERING,
                "The consent does not cover this recipient or service.",
                errors=outside,
            )
        )
    extra = [c for c in dict.fromkeys(categories) if not consent_allows(consent, c)]
    if extra:
        problems.append(
            Problem(
                422,
                DATA_CATEGORY_NOT_ALLOWED,
                "The consent does not allow: " + ", ".join(extra) + ".",
                errors={"data_categories": [f"'{c}' is outside the consent." for c in extra]},
                categories=list(extra),
            )
        )
    return problems


def consent_allows(consent: Consent, category: str) -> bool:
    """Whether the consent allows sharing `category` (demographics always)."""
    return category == ALWAYS_SHARED or category in consent.data_categories


def require_consent_covers(
    consent: Consent,
    *,
    recipient_org_id: str,
    service_code: str,
    categories: Iterable[str],
    at: dt.datetime | None = None,
) -> None:
    """Raise the first of `consent_problems`, if any."""
    problems = consent_problems(
        consent,
        recipient_org_id=recipient_org_id,
        service_code=service_code,
        categories=categories,
        at=at,
    )
    if problems:
        raise problems[0]


# --- key rotation ---------------------------------------------------------------------------


def rotate_keys_batch(actor: Actor, batch_size: int = 200) -> dict[str, Any]:
    """Re-encrypt up to `batch_size` rows still under an older key; the caller commits.

    Rows are picked by what they hold (any value or index not under the current key), so a
    batch never repeats work, an interrupted run resumes where it stopped, and a run with
    nothing left changes nothing. Picked rows are locked (FOR UPDATE) so a concurrent edit
    cannot be overwritten with the value read before it.
    """
    kid = current_kid()
    done: dict[str, dict[str, int]] = {}
    remaining = batch_size
    for model in ENCRYPTED_MODELS:
        if remaining <= 0:
            break
        rows = db.session.scalars(
            select(model)
            .where(stale_clause(model, kid))
            .order_by(model.id)
            .limit(remaining)
            .with_for_update(of=model)
        ).all()
        if not rows:
            continue
        values = indexes = 0
        for row in rows:
            if hasattr(row, "rotate_keys"):
                changed_values, changed_indexes = row.rotate_keys(kid)
            else:
                changed_values, changed_indexes = reencrypt(row, kid), 0
            values += changed_values
            indexes += changed_indexes
        remaining -= len(rows)
        done[model.__tablename__] = {"rows": len(rows), "values": values, "indexes": indexes}
    db.session.flush()
    if done:
        audit.record(actor, "data_keys.rotated", "key_ring", kid, {"tables": done})
    return {
        "kid": kid,
        "tables": done,
        "rows": sum(t["rows"] for t in done.values()),
        "values": sum(t["values"] for t in done.values()),
        "indexes": sum(t["indexes"] for t in done.values()),
    }
