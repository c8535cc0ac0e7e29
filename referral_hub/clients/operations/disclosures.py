"""Disclosures: every read or share of a client's personal data, logged and audited."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, select

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.categories import DATA_CATEGORIES
from referral_hub.clients.models import DISCLOSURE_KINDS, Client, Disclosure
from referral_hub.clients.operations.access import get_client_of, require_reader
from referral_hub.db import new_id, utcnow
from referral_hub.extensions import db


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
    require_reader(actor)
    client = get_client_of(actor, client_id)
    return (
        select(Disclosure)
        .where(Disclosure.client_id == client.id)
        .order_by(Disclosure.at.desc(), Disclosure.id.desc())
    )
