"""Who the people on a referral can call: staff contacts between its two parties.

The recipient sees the sending caseworker (name and work phone) and the sending unit's
focal points; the sender sees the recipient's focal points. These are staff contacts,
never a client's, and they pass only between organisations that share an agreement
(directory.operations.shares_agreement): without one, a party sees none of them.
"""

from __future__ import annotations

from typing import Any

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.directory.models import Organization
from referral_hub.directory.operations import shares_agreement
from referral_hub.extensions import db
from referral_hub.referrals.lifecycle import RECIPIENT, SENDER
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations.access import side_of

#: What a focal point shows: its work name, title, phone and e-mail, nothing else kept.
FOCAL_POINT_FIELDS = ("name", "title", "phone", "email")


def focal_points(org: Organization) -> list[dict[str, str | None]]:
    """An organisation's focal points as shown: the work fields only."""
    return [
        {key: (contact.get(key) or None) for key in FOCAL_POINT_FIELDS}
        for contact in (org.contacts or [])
        if isinstance(contact, dict) and contact.get("name")
    ]


def caseworker_contact(user_id: str | None) -> dict[str, str | None] | None:
    """The sending caseworker's name and work phone (None for a machine client's referral)."""
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        return None
    return {"name": user.name, "work_phone": user.work_phone}


def referral_contacts(actor: Actor, referral: Referral) -> dict[str, Any] | None:
    """The other party's staff contacts as the actor may see them, or None: for anyone not a
    party, and for a party whose organisation shares no agreement with the other."""
    side = side_of(actor, referral)
    if side not in (SENDER, RECIPIENT):
        return None
    other = referral.recipient if side == SENDER else referral.sender
    if not shares_agreement(actor.organization_id, other.id):
        return None
    return {
        "organization": {"id": other.id, "code": other.code, "name": other.name},
        "caseworker": (
            caseworker_contact(referral.created_by_user_id) if side == RECIPIENT else None
        ),
        "focal_points": focal_points(other),
    }
