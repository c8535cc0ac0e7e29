"""Builders for client tests: request bodies, actors, and clients registered over HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from referral_hub.actors import Actor
from referral_hub.clients.models import local_today
from referral_hub.directory.operations import find_organization
from tests.orgs import BALIKPAPAN, BONTANG, POLRES, PPU  # noqa: F401  (re-exported)

RW = "clients:read clients:write"

#: Values no code path should ever show where it must not, or store in clear.
CANARY = {
    "full_name": "CANARY-NAME-7731",
    "nik": "3171999999999999",
    "phone": "0899-7731-0000",
    "address": "CANARY-ADDRESS-7731",
    "guardian_name": "CANARY-GUARDIAN-7731",
    "guardian_phone": "0899-7731-1111",
    "giver_name": "CANARY-GIVER-7731",
    "reason": "CANARY-REASON-7731",
}


def years_ago(years: int, days: int = 0) -> dt.date:
    today = local_today()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return day - dt.timedelta(days=days)


def adult_body(**changes: Any) -> dict[str, Any]:
    body = {
        "full_name": "Siti Contoh",
        "birth_date": years_ago(30).isoformat(),
        "sex": "female",
        "domicile_region": "64.09",
    }
    body.update(changes)
    return body


def child_body(**changes: Any) -> dict[str, Any]:
    body = {
        "full_name": "Anak Contoh",
        "birth_date": years_ago(10).isoformat(),
        "sex": "female",
        "domicile_region": "64.09",
        "guardian": {"name": "Ibu Contoh", "relationship": "ibu kandung", "phone": "0812111222"},
    }
    body.update(changes)
    return body


def canary_body() -> dict[str, Any]:
    """A child whose every personal field holds a canary."""
    return {
        "full_name": CANARY["full_name"],
        "nik": CANARY["nik"],
        "birth_date": years_ago(9).isoformat(),
        "sex": "male",
        "disability": ["sensory"],
        "phone": CANARY["phone"],
        "address": CANARY["address"],
        "domicile_region": "64.09.01",
        "guardian": {
            "name": CANARY["guardian_name"],
            "relationship": "ibu kandung",
            "phone": CANARY["guardian_phone"],
            "is_alleged_perpetrator": False,
        },
    }


def consent_body(**changes: Any) -> dict[str, Any]:
    """An adult's own consent to Balikpapan's counselling with identity shared."""
    body = {
        "given_by": "client",
        "recipients": [BALIKPAPAN],
        "services": ["psychological_counseling"],
        "data_categories": ["identity"],
        "method": "written",
        "evidence_sha256": hashlib.sha256(b"signed form").hexdigest(),
        "valid_until": (local_today() + dt.timedelta(days=90)).isoformat(),
    }
    body.update(changes)
    return body


def parent_consent_body(**changes: Any) -> dict[str, Any]:
    given = {
        "given_by": "parent",
        "giver_name": "Ibu Contoh",
        "giver_relationship": "ibu kandung",
        "child_assent": True,
    }
    return consent_body(**{**given, **changes})


def create_client(client, headers, body) -> dict[str, Any]:
    response = client.post("/api/v1/clients", json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def create_consent(client, headers, client_id, body) -> dict[str, Any]:
    response = client.post(f"/api/v1/clients/{client_id}/consents", json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def actor(code: str, *, role: str | None = None) -> Actor:
    """An OAuth-client actor of an organisation (in an app context)."""
    org = find_organization(code)
    assert org is not None, code
    return Actor(
        organization_id=org.id,
        client_id=f"test-client-{code}",
        role=role,
        scopes=frozenset(RW.split()),
        kind="client",
        label=f"test {code}",
        organization_type=org.type,
    )
