"""Demo clients of UPTD PPA PPU and their consents: fictional people, marked "Demo" by name.

Demo NIKs are 0000000000000001, ...2, ...3: sixteen digits that no real person holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from referral_hub.actors import Actor
from referral_hub.clients.models import local_today
from referral_hub.clients.operations import find_by_nik, record_consent, register_client
from referral_hub.directory.operations import find_organization

DEMO_ORGANIZATION = "uptd-ppa-ppu"


def _evidence(label: str) -> str:
    return hashlib.sha256(f"demo consent form: {label}".encode()).hexdigest()


def _demo_clients(today: dt.date) -> list[dict[str, Any]]:
    return [
        {
            # A child counselled by Balikpapan's clinical psychologist, with her mother's consent.
            "client": {
                "full_name": "Klien Demo Satu",
                "nik": "0000000000000001",
                "birth_date": dt.date(today.year - 12, 3, 12),
                "sex": "female",
                "domicile_region": "64.09",
                "phone": "0812-0000-0001",
                "address": "Jl. Demo No. 1 (fiktif), Penajam",
                "guardian": {
                    "name": "Ibu Demo Satu",
                    "relationship": "ibu kandung",
                    "phone": "0812-0000-0011",
                    "is_alleged_perpetrator": False,
                },
            },
            "consents": [
                {
                    "given_by": "parent",
                    "giver_name": "Ibu Demo Satu",
                    "giver_relationship": "ibu kandung",
                    "child_assent": True,
                    "recipients": ["uptd-ppa-balikpapan"],
                    "services": ["psychological_counseling"],
                    "data_categories": ["identity", "case_summary"],
                    "method": "written",
                    "evidence_sha256": _evidence("satu"),
                    "valid_until": today + dt.timedelta(days=180),
                }
            ],
        },
        {
            # An adult who consents herself to counselling and to the police.
            "client": {
                "full_name": "Klien Demo Dua",
                "nik": "0000000000000002",
                "birth_date": dt.date(today.year - 31, 8, 17),
                "sex": "female",
                "domicile_region": "64.09.01",
                "phone": "0812-0000-0002",
                "address": "Jl. Demo No. 2 (fiktif), Penajam",
            },
            "consents": [
                {
                    "given_by": "client",
                    "recipients": ["uptd-ppa-balikpapan", "polres-ppu"],
                    "services": ["psychological_counseling", "law_enforcement"],
                    "data_categories": ["identity", "contact", "case_summary"],
                    "method": "electronic",
                    "evidence_sha256": _evidence("dua"),
                    "valid_until": today + dt.timedelta(days=365),
                }
            ],
        },
        {
            # A boy whose father, recorded as guardian, is the alleged perpetrator: only
            # another parent or guardian can consent (here his aunt, who is his guardian).
            "client": {
                "full_name": "Klien Demo Tiga",
                "nik": "0000000000000003",
                "birth_date": dt.date(today.year - 15, 1, 5),
                "sex": "male",
                "disability": ["sensory"],
                "domicile_region": "64.09",
                "guardian": {
                    "name": "Ayah Demo Tiga",
                    "relationship": "ayah kandung",
                    "phone": "0812-0000-0033",
                    "is_alleged_perpetrator": True,
                },
            },
            "consents": [
                {
                    "given_by": "guardian",
                    "giver_name": "Bibi Demo Tiga",
                    "giver_relationship": "bibi (wali)",
                    "child_assent": True,
                    "recipients": ["uptd-ppa-balikpapan", "dinsos-ppu"],
                    "services": ["psychological_counseling", "social_rehabilitation"],
                    "data_categories": ["identity", "case_summary", "health"],
                    "method": "recorded",
                    "evidence_sha256": _evidence("tiga"),
                    "valid_until": today + dt.timedelta(days=90),
                }
            ],
        },
    ]


def load_demo_clients() -> dict[str, Any]:
    """Create the demo clients and consents that are missing; running it again adds nothing."""
    actor = Actor.system("cli:demo")
    org = find_organization(DEMO_ORGANIZATION)
    created: list[str] = []
    consents = 0
    if org is None:
        return {"clients_created": created, "consents_created": consents}
    for item in _demo_clients(local_today()):
        if find_by_nik(org.id, item["client"]["nik"]) is not None:
            continue
        client = register_client(actor, organization=org.code, **item["client"])
        created.append(client.code)
        for consent in item["consents"]:
            record_consent(actor, client, **consent)
            consents += 1
    return {"clients_created": created, "consents_created": consents}
