"""Whose figures a reader gets (API.md, *Reports*).

- The hub operator sees every unit: the province total, or one unit with `unit=`.
- Any other organisation sees its own figures only; a `unit=` naming another is refused.
- Referrals: a UPTD PPA reads by default the referrals it sent (its own clients), a partner
  the referrals it received; either may ask for the other side with `side=`.
- Small counts are hidden whenever the figures are about clients the reader does not hold:
  everything the hub operator reads, and the referrals an organisation received.
"""

from __future__ import annotations

from referral_hub.actors import Actor
from referral_hub.directory.models import Organization
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.problems import Problem
from referral_hub.reports.registry import Scope

SENT, RECEIVED, PARTY = "sent", "received", "party"


def sees_every_unit(actor: Actor) -> bool:
    return actor.is_system or actor.is_hub_operator


def chosen_organization(actor: Actor, unit: str | None) -> Organization | None:
    """The organisation whose figures are asked for (None: every unit, the operator only)."""
    if sees_every_unit(actor):
        if not unit:
            return None
        org = find_organization(unit)
        if org is None:
            raise Problem(
                422,
                "validation-error",
                f"Unknown unit '{unit}'.",
                errors={"unit": [f"Unknown unit '{unit}'."]},
            )
        return org
    own = db.session.get(Organization, actor.organization_id)
    if own is None:
        raise Problem(403, "forbidden", "Reports are read for an organisation.")
    if unit and unit not in (own.id, own.code):
        raise Problem(403, "forbidden", "You can read your own organisation's figures only.")
    return own


def referral_scope(actor: Actor, unit: str | None, side: str | None) -> Scope:
    org = chosen_organization(actor, unit)
    if side not in (None, "", SENT, RECEIVED):
        raise Problem(
            422,
            "validation-error",
            "Unknown side.",
            errors={"side": ["Give 'sent' or 'received'."]},
        )
    if org is None:
        return Scope(None, None, None, SENT, protect=True)
    chosen = side or (SENT if org.type == "uptd_ppa" else RECEIVED)
    # Its own clients are the ones a unit sent; the operator holds none.
    protect = chosen == RECEIVED or sees_every_unit(actor)
    return Scope(org.id, org.code, org.name, chosen, protect=protect)


def party_scope(actor: Actor, unit: str | None, side: str | None) -> Scope:
    """Agreements: the organisation's as a party (every agreement for the operator). They
    hold no client: nothing is hidden."""
    org = chosen_organization(actor, unit)
    if org is None:
        return Scope(None, None, None, PARTY, protect=False)
    return Scope(org.id, org.code, org.name, PARTY, protect=False)
