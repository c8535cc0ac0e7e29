"""A case opened from an intake shows the intake on its timeline: its number, channel,
arrival, triage and acceptance, linked to the intake's page; no other unit's intake."""

from __future__ import annotations

from referral_hub.extensions import db
from tests.intake_support import PATBM, PPU, SCOPES, agreement, intake_body

ACCEPT = {
    "register": {
        "birth_date": "2014-01-01",
        "guardian": {"name": "Ibu Uji", "relationship": "ibu kandung", "phone": "081234567890"},
    }
}


def _accepted_case(app, client, hub):
    with app.app_context():
        agreement(PATBM, PPU)
        db.session.remove()
    patbm = hub.headers(PATBM, SCOPES)
    ppu = hub.headers(PPU, SCOPES)
    sent = client.post("/api/v1/intakes", json=intake_body(), headers=patbm).get_json()
    triaged = client.post(
        f"/api/v1/intakes/{sent['id']}/triage", json={"risk_level": "high"}, headers=ppu
    )
    assert triaged.status_code == 200, triaged.get_data(as_text=True)
    accepted = client.post(f"/api/v1/intakes/{sent['id']}/accept", json=ACCEPT, headers=ppu)
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    return sent, accepted.get_json()["case"], ppu


def test_the_case_timeline_shows_the_intake_it_came_from(app, client, hub):
    sent, case, ppu = _accepted_case(app, client, hub)
    got = client.get(f"/api/v1/cases/{case['id']}/timeline?page_size=100", headers=ppu)
    assert got.status_code == 200, got.get_data(as_text=True)
    entries = [e for e in got.get_json()["items"] if e["kind"] == "intake"]
    steps = sorted(e["status"] for e in entries)
    assert steps == ["accepted", "received", "triaged"], entries
    for entry in entries:
        assert entry["id"] == sent["id"]
        assert entry["number"] == sent["number"]
        assert entry["channel"] == "patbm"
    triage = next(e for e in entries if e["status"] == "triaged")
    assert triage["risk_level"] == "high"
    received = next(e for e in entries if e["status"] == "received")
    assert received["organization"]  # who reported it: PATBM PPU
    # Nothing personal of the intake rides along (the case holds its own copy).
    assert "CANARY" not in got.get_data(as_text=True).replace(case["client"]["code"], "")


def test_the_case_page_links_the_intake(app, client, hub):
    sent, case, _ppu = _accepted_case(app, client, hub)
    caseworker = hub.user(PPU, "caseworker")
    hub.login(client, caseworker["email"])
    page = client.get(f"/cases/{case['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/intakes/{sent["id"]}"' in html
    assert sent["number"] in html
    assert "PATBM" in html  # the channel


def test_a_case_naming_another_units_intake_shows_none_of_it(app, client, hub):
    sent, _case, _ppu = _accepted_case(app, client, hub)
    bpp = hub.headers("uptd-ppa-balikpapan", SCOPES)
    client_made = client.post(
        "/api/v1/clients",
        json={
            "full_name": "Klien Lain",
            "birth_date": "1990-01-01",
            "sex": "female",
            "domicile_region": "64.71",
        },
        headers=bpp,
    )
    assert client_made.status_code == 201, client_made.get_data(as_text=True)
    other = client.post(
        "/api/v1/cases",
        json={"client": client_made.get_json()["id"], "risk_level": "low", "intake": sent["id"]},
        headers=bpp,
    )
    # Another unit's intake is not found: a case is tied to an intake only by accepting it.
    assert other.status_code == 404, other.get_data(as_text=True)
    plain = client.post(
        "/api/v1/cases",
        json={"client": client_made.get_json()["id"], "risk_level": "low"},
        headers=bpp,
    )
    assert plain.status_code == 201, plain.get_data(as_text=True)
    got = client.get(f"/api/v1/cases/{plain.get_json()['id']}/timeline", headers=bpp)
    assert got.status_code == 200
    assert [e for e in got.get_json()["items"] if e["kind"] == "intake"] == []
    assert sent["number"] not in got.get_data(as_text=True)
