"""A world for intake tests: PATBM PPU reports to UPTD PPA PPU under a PKS; Balikpapan
takes over PPU's intakes under another; Bontang and Polres PPU should see nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from referral_hub.agreements import operations as agreements
from referral_hub.extensions import db
from tests.agreements_support import actor, today
from tests.orgs import BALIKPAPAN, BONTANG, POLRES, PPU  # noqa: F401  (re-exported)

PATBM = "patbm-ppu"
PUSPAGA = "puspaga-ppu"
SCOPES = "intakes:read intakes:write clients:read clients:write cases:read cases:write"
CANARY_NAME = "CANARY-VICTIM-5521 Siti"
CANARY_REPORTER = "CANARY-REPORTER-5521 Pak RT"
CANARY_SUMMARY = "CANARY-SUMMARY-5521 dipukul tetangga"


def agreement(reporter: str, unit: str, service: str = "complaint_intake") -> str:
    """A signed agreement in force in which `unit` provides `service` to `reporter`."""
    start = today() - dt.timedelta(days=5)
    data: dict[str, Any] = {
        "kind": "pks",
        "number": f"TEST/PKS/ADU/{reporter}/{unit}",
        "title": "Penerimaan pengaduan dari masyarakat",
        "parties": [reporter, unit],
        "services": [{"service": service, "provider": unit}],
        "data_categories": ["identity", "contact", "case_summary"],
        "purpose": "Reports of violence reach the unit.",
        "effective_from": start,
        "expires_on": start + dt.timedelta(days=365),
        "response_hours": 24,
        "signatories": [
            {"name": None, "title": "Ketua", "organization": reporter},
            {"name": None, "title": "Kepala", "organization": unit},
        ],
        "notes": None,
    }
    created = agreements.create_agreement(actor(reporter), data)
    for code in (reporter, unit):
        agreements.sign_agreement(actor(code), created.id)
    db.session.commit()
    return created.id


def intake_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "to": PPU,
        "channel": "patbm",
        "reporter": {
            "name": CANARY_REPORTER,
            "phone": "081234567890",
            "relationship": "neighbour",
            "is_victim": False,
        },
        "victim": {
            "name": CANARY_NAME,
            "age_years": 12,
            "sex": "female",
            "region_code": "64.09",
            "location_hint": "Rumah dekat masjid RT 04",
        },
        "incident": {
            "violence_types": ["physical"],
            "summary": CANARY_SUMMARY,
            "place_type": "household",
            "occurred_on": (today() - dt.timedelta(days=1)).isoformat(),
        },
        "immediate_danger": False,
        "reporter_may_be_contacted": True,
    }
    body.update(changes)
    return body
