"""The one minimisation function: what of a client a party allowed some categories sees.

`client_view` builds every view of a client from its categories (code and demographics
always); `record_refusal` says why the client's own record cannot give a category to a
referral (not held, or a guardian who is the alleged perpetrator).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from referral_hub.categories import ALWAYS_SHARED, DATA_CATEGORIES
from referral_hub.clients.models import Client


def held_categories(client: Client) -> list[str]:
    """The categories of personal data the client's own record holds."""
    held = [ALWAYS_SHARED, "identity"]
    if client.phone_enc is not None or client.address_enc is not None:
        held.append("contact")
    if client.guardian_enc is not None:
        held.append("guardian")
    return held


def _identity_view(client: Client) -> dict[str, Any]:
    return {
        "full_name": client.full_name,
        "nik": client.nik,
        # None once the client is erased (the other fields read as the ERASED marker)
        "birth_date": client.birth_date.isoformat() if client.birth_date else None,
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
