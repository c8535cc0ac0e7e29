"""Builders for agreement tests: actors, content, and agreements in every status."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine

from referral_hub.actors import Actor
from referral_hub.agreements import operations as ops
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from tests.orgs import BALIKPAPAN, BONTANG, OPERATOR, PPU  # noqa: F401  (re-exported)

SCOPES = frozenset({"agreements:read", "agreements:write"})


def today() -> dt.date:
    return ops.local_date()


def actor(code: str, *, role: str | None = None, user_id: str | None = None) -> Actor:
    """An actor for an organisation: an OAuth client, or a user with a role."""
    org = find_organization(code)
    assert org is not None, code
    return Actor(
        organization_id=org.id,
        user_id=user_id,
        client_id=None if user_id else f"test-client-{code}",
        role=role,
        scopes=SCOPES,
        kind="client",
        label=f"test {code}",
        organization_type=org.type,
    )


def content(**overrides: Any) -> dict[str, Any]:
    """PPU and Balikpapan: Balikpapan's clinical psychologist counsels PPU's clients."""
    start = today() - dt.timedelta(days=10)
    data: dict[str, Any] = {
        "kind": "pks",
        "number": "TEST/PKS/001",
        "title": "Konseling psikologis klien UPTD PPA PPU",
        "parties": [PPU, BALIKPAPAN],
        "services": [{"service": "psychological_counseling", "provider": BALIKPAPAN}],
        "data_categories": ["case_summary", "health"],
        "purpose": "Counselling by Balikpapan's clinical psychologist for PPU's clients.",
        "effective_from": start,
        "expires_on": start + dt.timedelta(days=365),
        "response_hours": 72,
        "signatories": [
            {"name": None, "title": "Kepala UPTD PPA PPU", "organization": PPU},
            {"name": None, "title": "Kepala UPTD PPA Balikpapan", "organization": BALIKPAPAN},
        ],
        "notes": None,
    }
    data.update(overrides)
    return data


def as_json(data: dict[str, Any]) -> dict[str, Any]:
    """The same content as a JSON body."""
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in data.items()}


def sign_all(agreement_id: str, parties: tuple[str, ...] = (PPU, BALIKPAPAN)) -> None:
    for code in parties:
        ops.sign_agreement(actor(code), agreement_id)


def build(status: str, **overrides: Any) -> str:
    """An agreement between PPU and Balikpapan, committed, in the given effective status."""
    if status == "expired":
        # Signed and in force a year ago, ended last month.
        back = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
        with time_machine.travel(back, tick=False):
            start = today()
            agreement_id = build(
                "active",
                effective_from=start,
                expires_on=start + dt.timedelta(days=365),
                **overrides,
            )
        return agreement_id
    if status == "signed":
        start = today() + dt.timedelta(days=10)
        overrides = {
            "effective_from": start,
            "expires_on": start + dt.timedelta(days=365),
            **overrides,
        }
    agreement = ops.create_agreement(actor(PPU), content(**overrides))
    agreement_id = agreement.id
    if status != "draft":
        sign_all(agreement_id)
    if status == "suspended":
        ops.suspend_agreement(actor(PPU), agreement_id, reason="review")
    elif status == "terminated":
        ops.terminate_agreement(actor(PPU), agreement_id, reason="ended by both parties")
    elif status == "superseded":
        renewal = ops.renew_agreement(actor(PPU), agreement_id, {"effective_from": today()})
        sign_all(renewal.id)
    db.session.commit()
    return agreement_id


def stored(agreement_id: str):
    from referral_hub.agreements.models import Agreement

    db.session.expire_all()
    return db.session.get(Agreement, agreement_id)


class Tokens:
    """Bearer headers per organisation, one OAuth client and token each per test."""

    def __init__(self, hub) -> None:
        self.hub = hub
        self._cache: dict[tuple[str, str], dict[str, str]] = {}

    def __call__(self, org: str, scope: str = "agreements:read agreements:write") -> dict:
        key = (org, scope)
        if key not in self._cache:
            self._cache[key] = self.hub.headers(org, scope)
        return self._cache[key]
