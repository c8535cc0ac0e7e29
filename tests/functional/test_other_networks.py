"""Networks other than East Kalimantan's: Kota Yogyakarta and Kota Probolinggo.

Each partners file loads beside the default one and carries a referral from its UPTD to a
partner through every step (agreement in force, consent, send, accept, complete), over the
API, as the Kaltim network does.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from referral_hub.directory.models import Organization
from referral_hub.directory.partners_file import PartnersFileError, read_partners_file
from referral_hub.directory.regions import get_region
from referral_hub.extensions import db
from tests.clients_support import adult_body, create_client, create_consent

REPO = Path(__file__).resolve().parents[2]
SCOPES = (
    "referrals:read referrals:write referrals:respond clients:read clients:write "
    "agreements:read agreements:write directory:read"
)
NETWORKS = [
    pytest.param(
        "partners/yogyakarta.yaml",
        "uptd-ppa-yogyakarta",
        "peradi-yogyakarta",
        "legal_aid",
        "34.71.13",
        id="yogyakarta",
    ),
    pytest.param(
        "partners/probolinggo.yaml",
        "uptd-ppa-probolinggo",
        "pusat-layanan-terpadu-probolinggo",
        "health_care",
        "35.74.03",
        id="probolinggo",
    ),
]


def _yaml(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text(encoding="utf-8"))


@pytest.mark.parametrize(("path", "unit", "partner", "service", "domicile"), NETWORKS)
def test_a_network_loads_beside_the_default_and_carries_a_referral(
    app, client, hub, restore_directory, path, unit, partner, service, domicile
):
    result = app.test_cli_runner().invoke(args=["hub", "load-partners", str(REPO / path)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        codes = set(db.session.scalars(select(Organization.code)))
        db.session.remove()
    assert {unit, partner, "uptd-ppa-ppu"} <= codes  # beside the default, not instead

    sender = hub.headers(unit, SCOPES)
    recipient = hub.headers(partner, SCOPES)
    start = dt.date.today() - dt.timedelta(days=1)
    draft = client.post(
        "/api/v1/agreements",
        json={
            "kind": "pks",
            "number": f"PKS/{unit}/001",
            "title": "Perjanjian kerja sama layanan korban",
            "parties": [unit, partner],
            "services": [{"service": service, "provider": partner}],
            "data_categories": ["identity", "case_summary"],
            "purpose": "Referral of the unit's clients to the partner.",
            "effective_from": start.isoformat(),
            "expires_on": (start + dt.timedelta(days=365)).isoformat(),
            "response_hours": 72,
            "signatories": [
                {"name": None, "title": "Kepala UPTD PPA", "organization": unit},
                {"name": None, "title": "Pimpinan", "organization": partner},
            ],
        },
        headers=sender,
    )
    assert draft.status_code == 201, draft.get_data(as_text=True)
    agreement_id = draft.get_json()["id"]
    for headers in (sender, recipient):
        signed = client.post(f"/api/v1/agreements/{agreement_id}/sign", headers=headers)
        assert signed.status_code == 200, signed.get_data(as_text=True)
    assert signed.get_json()["status"] == "active"
    parties = {p["code"]: p["region_name"] for p in signed.get_json()["parties"]}
    assert parties[unit] == get_region(domicile[:5]).name  # the city

    person = create_client(client, sender, adult_body(domicile_region=domicile))
    consent = create_consent(
        client,
        sender,
        person["id"],
        {
            "given_by": "client",
            "giver_name": "Klien Sendiri",
            "giver_relationship": "diri sendiri",
            "recipients": [partner],
            "services": [service],
            "data_categories": ["identity", "case_summary"],
            "method": "written",
            "evidence_sha256": "b" * 64,
            "valid_until": (dt.date.today() + dt.timedelta(days=90)).isoformat(),
        },
    )
    sent = client.post(
        "/api/v1/referrals",
        json={
            "client": person["id"],
            "consent": consent["id"],
            "to": partner,
            "service": service,
            "urgency": "routine",
            "reason": "Pendampingan sesuai perjanjian",
            "data_categories": ["identity"],
        },
        headers=sender,
    )
    assert sent.status_code == 201, sent.get_data(as_text=True)
    referral = sent.get_json()
    assert referral["agreement"]["id"] == agreement_id
    for action, body in (("accept", {}), ("complete", {"outcome": "service_delivered"})):
        done = client.post(
            f"/api/v1/referrals/{referral['id']}/{action}", json=body, headers=recipient
        )
        assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["status"] == "completed"
    seen = client.get(f"/api/v1/referrals/{referral['id']}", headers=recipient).get_json()
    assert seen["client"]["demographics"]["domicile_region"] == domicile


@pytest.mark.parametrize("path", ["partners/yogyakarta.yaml", "partners/probolinggo.yaml"])
def test_a_network_file_shares_the_taxonomy_and_no_code_with_the_default(path):
    default, network = _yaml("partners.yaml"), _yaml(path)
    assert network["services"] == default["services"]
    default_codes = {o["code"] for o in default["organizations"]}
    assert not default_codes & {o["code"] for o in network["organizations"]}
    for org in network["organizations"]:
        assert get_region(org["region_code"]) is not None, org["code"]
    assert sum(o["type"] == "uptd_ppa" for o in network["organizations"]) == 1
    read_partners_file(REPO / path)


def test_a_partners_file_with_an_unknown_region_is_refused_naming_entry_and_field(tmp_path):
    data = _yaml("partners/probolinggo.yaml")
    data["organizations"][2]["region_code"] = "35.99"
    path = tmp_path / "partners.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(PartnersFileError) as refused:
        read_partners_file(path)
    assert refused.value.problems == [
        "organizations[2] (code 'uptd-ppa-probolinggo'): field 'region_code': "
        "'35.99' is not a Kemendagri region code in use"
    ]
