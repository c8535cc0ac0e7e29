"""Clients' records: registering a client, finding one by NIK, code or SIMFONI id, reading one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.exc import IntegrityError

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.clients.crypto import nik_index_candidates
from referral_hub.clients.models import CHILD_AGE, Client, age_on, local_today
from referral_hub.clients.operations.access import (
    NOT_A_UPTD,
    get_client_of,
    require_reader,
    require_uptd,
    require_writer,
)
from referral_hub.clients.operations.disclosures import record_disclosure
from referral_hub.clients.operations.matching import index_client_name, name_search_clause
from referral_hub.clients.operations.minimisation import held_categories
from referral_hub.clients.operations.numbers import next_number, organization_short_code
from referral_hub.db import utcnow
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

CLIENT_ALREADY_REGISTERED = register_problem(
    "client-already-registered", "A client with this NIK is already registered"
)
CLIENT_CODE_PREFIX = "KL"


def _client_code(org: Organization, at: dt.datetime) -> str:
    year = local_today(at).year
    number = next_number(CLIENT_CODE_PREFIX, org.id, year)
    return f"{CLIENT_CODE_PREFIX}-{organization_short_code(org)}-{year}-{number:06d}"


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
    require_writer(actor)
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
    if age_on(birth_date, local_today()) < CHILD_AGE and not guardian:  # CHILD_AGE is 18
        # A child's consent comes from a parent or guardian (UU PDP Pasal 25): who that is
        # is recorded with the child, or no consent for the child could be checked against
        # the guardian (names.py) and no partner could be told whom to contact.
        raise Problem(
            422,
            "validation-error",
            "The client is under 18: record the parent or guardian.",
            errors={"guardian": ["Required for a client under 18."]},
        )
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
    try:
        with db.session.begin_nested():
            # Added first: the client's own data key (made by the first value) refers to it.
            db.session.add(client)
            client.full_name = full_name
            index_client_name(client)
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
    name: str | None = None,
) -> Select:
    """The actor's organisation's clients, newest first; by exact NIK, code or SIMFONI id, or
    by a part of the name (each word typed, 3 letters or more, begins a word of the name)."""
    org = require_uptd(actor)
    query = select(Client).where(Client.organization_id == org.id)
    if name is not None:
        clause = name_search_clause(org.id, name)
        query = query.where(clause if clause is not None else false())
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


def read_client(actor: Actor, client_id: str, context: str) -> Client:
    """The owner's full read of a client, logged as a disclosure (PDP: history of processing)."""
    require_reader(actor)
    client = get_client_of(actor, client_id)
    if not client.is_erased:  # an erased client's record discloses nothing any more
        record_disclosure(actor, client, held_categories(client), "owner", context)
    return client
