"""Who records a paper signature, and for which parties: asked by the paper signatures
(signatures.py) and by the documents (documents.py: whoever may record a party's paper
signature may upload its scan first, the hub operator's admin included).
"""

from __future__ import annotations

import datetime as dt

from referral_hub.actors import Actor
from referral_hub.agreements.models import Agreement
from referral_hub.agreements.operations.access import may_change
from referral_hub.agreements.operations.lifecycle import TRANSITIONS
from referral_hub.agreements.operations.status import effective_status


def may_record_paper(actor: Actor) -> bool:
    """An organisation administrator (or a partner system with `agreements:write`, or the
    hub itself); which parties it may record for is `paper_signature_parties`'."""
    if actor.is_system:
        return True
    if not actor.has_scope("agreements:write"):
        return False
    return (actor.kind == "client" and actor.user_id is None) or actor.role == "org_admin"


def paper_signature_parties(actor: Actor, agreement: Agreement, at: dt.datetime | None = None):
    """The parties whose paper signature the actor may record now (for the portal's form)."""
    if not may_record_paper(actor):
        return []
    if not (actor.is_system or actor.is_hub_operator or may_change(actor, agreement)):
        return []
    if effective_status(agreement, at) not in TRANSITIONS["sign"].sources:
        return []
    signed = {s.organization_id for s in agreement.signatures}
    return [
        p.organization
        for p in agreement.parties
        if p.organization_id not in signed and p.organization_id != actor.organization_id
    ]
