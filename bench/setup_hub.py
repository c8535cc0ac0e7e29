"""Prepare the benchmark's working set through the hub's own operations; print it as JSON.

What a referral needs before the first POST: an agreement in force between UPTD PPA PPU and
UPTD PPA Balikpapan covering Balikpapan's psychological counselling, a client of PPU and her
consent to that referral, and OAuth clients for both units (their secrets are printed once,
for the load driver to get tokens over HTTP like a partner system would).

Run inside the benchmark's environment (HUB_* variables of bench/run.sh), after
`flask db upgrade` and `flask hub load-partners`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from referral_hub import create_app
from referral_hub.actors import Actor
from referral_hub.agreements import operations as agreements
from referral_hub.clients.models import local_today
from referral_hub.clients.operations import record_consent, register_client
from referral_hub.directory.operations import require_organization
from referral_hub.extensions import db
from referral_hub.oauth.operations import create_client

SENDER = "uptd-ppa-ppu"
RECIPIENT = "uptd-ppa-balikpapan"
SERVICE = "psychological_counseling"
CATEGORIES = ["identity", "contact", "case_summary", "health"]
SENDER_SCOPES = (
    "referrals:read referrals:write agreements:read clients:read clients:write reports:read"
)
#: The hub operator reads the province's reports (the report phase of bench/measure.py).
OPERATOR = "dp3a-kaltim"
OPERATOR_SCOPES = "reports:read"
RECIPIENT_SCOPES = "referrals:read referrals:respond events:read webhooks:write agreements:read"


def organization_actor(code: str) -> Actor:
    """The unit itself acting (as the CLI does for demo data): signs agreements."""
    org = require_organization(code)
    return Actor(
        organization_id=org.id, kind="system", label="bench:setup", organization_type=org.type
    )


def prepare() -> dict[str, object]:
    """Agreement, client, consent and OAuth clients; returns the ids and secrets."""
    today = local_today()
    system = Actor.system("bench:setup")
    sender, recipient = require_organization(SENDER), require_organization(RECIPIENT)
    ppu, bpn = organization_actor(SENDER), organization_actor(RECIPIENT)
    agreement = agreements.create_agreement(
        ppu,
        {
            "kind": "pks",
            "number": "BENCH/PKS/001/PPU-BPN",
            "title": "Benchmark: layanan psikolog klinis bagi klien UPTD PPA PPU",
            "parties": [SENDER, RECIPIENT],
            "services": [{"service": SERVICE, "provider": RECIPIENT}],
            "data_categories": CATEGORIES,
            "purpose": "Benchmark data: Balikpapan's psychologist counsels PPU's clients.",
            "effective_from": today - dt.timedelta(days=30),
            "expires_on": today + dt.timedelta(days=730),
            "response_hours": 72,
            "signatories": [
                {"name": None, "title": "Kepala UPTD PPA PPU", "organization": SENDER},
                {"name": None, "title": "Kepala UPTD PPA Balikpapan", "organization": RECIPIENT},
            ],
            "notes": "Benchmark data.",
        },
    )
    agreements.sign_agreement(ppu, agreement.id)
    agreements.sign_agreement(bpn, agreement.id)
    client = register_client(
        system,
        organization=SENDER,
        full_name="Klien Benchmark",
        birth_date=dt.date(today.year - 29, 5, 17),
        sex="female",
        domicile_region="64.09",
        phone="0812-0000-0099",
        address="Jl. Benchmark No. 1 (fiktif), Penajam",
    )
    consent = record_consent(
        system,
        client,
        given_by="client",
        recipients=[RECIPIENT],
        services=[SERVICE],
        data_categories=CATEGORIES,
        method="written",
        evidence_sha256=hashlib.sha256(b"benchmark consent form").hexdigest(),
        valid_until=today + dt.timedelta(days=365),
    )
    oauth = {}
    for code, scope in (
        (SENDER, SENDER_SCOPES),
        (RECIPIENT, RECIPIENT_SCOPES),
        (OPERATOR, OPERATOR_SCOPES),
    ):
        row, secret = create_client(
            system, organization=code, name=f"benchmark {code}", scope=scope
        )
        oauth[code] = {"client_id": row.client_id, "client_secret": secret}
    db.session.commit()
    return {
        "sender": {"id": sender.id, "code": sender.code},
        "recipient": {"id": recipient.id, "code": recipient.code},
        "service": SERVICE,
        "agreement_id": agreement.id,
        "agreement_status": agreements.effective_status(agreement),
        "client_id": client.id,
        "consent_id": consent.id,
        "oauth": oauth,
    }


def main() -> None:
    app = create_app()
    with app.app_context():
        print(json.dumps(prepare()))


if __name__ == "__main__":
    main()
