"""Who may read the registry, see an agreement and change it: the one rule every way in asks.

What a role may do is permissions.py's (`agreements:read`: every role; `agreements:write`:
administrators and supervisors); this module adds what belongs to agreements. The parties'
organisations and the hub operator see an agreement; any other organisation gets 404. Only
parties change it, with `agreements:write`; the hub operator reads and audits only. The
portal's pages and menu, the API and the operations below all ask `may_read_registry`,
`sees_every_agreement` and `may_change` (and lifecycle.allowed_actions, for what the status
allows).
"""

from __future__ import annotations

from sqlalchemy import Select, select

from referral_hub.actors import Actor
from referral_hub.agreements.models import Agreement, AgreementParty
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

READ_ONLY = register_problem(
    "agreement-read-only", "The hub operator audits agreements but does not sign or change them"
)


def may_read_registry(actor: Actor) -> bool:
    """Whether the actor may read the registry and the coverage (`agreements:read`)."""
    return actor.has_scope("agreements:read")


def sees_every_agreement(actor: Actor) -> bool:
    """The hub operator (and the hub itself) sees every organisation's agreements."""
    return actor.is_system or actor.is_hub_operator


def may_change(actor: Actor, agreement: Agreement | None = None) -> bool:
    """Whether the actor may change agreements at all (`agreement` None: draft a new one) or
    this agreement: `agreements:write`, as one of its parties, never the hub operator.
    Whether its status allows an action is lifecycle.allowed_actions'."""
    if actor.is_system:
        return True
    if actor.is_hub_operator or not actor.has_scope("agreements:write"):
        return False
    return agreement is None or actor.organization_id in agreement.party_ids


def visible_agreements(actor: Actor) -> Select:
    """Agreements the actor may see: its organisation's, or all for the hub operator."""
    query = select(Agreement)
    if sees_every_agreement(actor):
        return query
    return query.where(
        Agreement.id.in_(
            select(AgreementParty.agreement_id).where(
                AgreementParty.organization_id == actor.organization_id
            )
        )
    )


def not_found(agreement_id: str) -> Problem:
    return Problem(404, "not-found", f"No agreement '{agreement_id}'.", reason="no-agreement")


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
    """may_change(actor), or the refusal that says why not (403)."""
    if may_change(actor):
        return
    if actor.is_hub_operator:
        raise Problem(403, READ_ONLY, "The hub operator can read and audit agreements only.")
    raise Problem(
        403,
        "forbidden",
        "Only an organisation administrator or a supervisor can change agreements.",
        reason="agreement-writers",
    )


def require_change(actor: Actor, agreement: Agreement) -> None:
    """may_change(actor, agreement), or the refusal: 403 for a reader, 404 for a stranger."""
    require_writer(actor)
    if may_change(actor, agreement):
        return
    if actor.is_hub_operator:
        raise Problem(403, READ_ONLY, "The hub operator can read and audit agreements only.")
    raise not_found(agreement.id)
