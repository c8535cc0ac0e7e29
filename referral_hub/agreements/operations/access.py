"""Who may see and change an agreement.

The parties' organisations and the hub operator see an agreement; any other organisation
gets 404. Only parties change it, and a person (or a token acting for one) must hold
`agreements:write` (permissions.py: administrators and supervisors); the hub operator reads
and audits only.
"""

from __future__ import annotations

from sqlalchemy import Select, select

from referral_hub.actors import Actor
from referral_hub.agreements.models import (
    Agreement,
    AgreementParty,
)
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

READ_ONLY = register_problem(
    "agreement-read-only", "The hub operator audits agreements but does not sign or change them"
)


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


def not_found(agreement_id: str) -> Problem:
    return Problem(404, "not-found", f"No agreement '{agreement_id}'.")


def get_agreement(actor: Actor, agreement_id: str, *, lock: bool = False) -> Agreement:
    """An agreement the actor may see, or 404; with lock, its row is locked for the change."""
    visible_id = db.session.scalar(
        visible_agreements(actor)
        .with_only_columns(Agreement.id)
        .where(Agreement.id == agreement_id)
    )
    if visible_id is None:
        raise not_found(agreement_id)
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


def require_writer(actor: Actor) -> None:
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


def require_party(actor: Actor, agreement: Agreement) -> None:
    if actor.is_system:
        return
    if actor.organization_id not in agreement.party_ids:
        if actor.is_hub_operator:
            raise Problem(403, READ_ONLY, "The hub operator can read and audit agreements only.")
        raise not_found(agreement.id)
