"""Issue acceptance, over real HTTP with an outside OAuth client: PPU refers a child to
Balikpapan's clinical psychologist and the loop closes."""

from __future__ import annotations

import datetime as dt

import requests

from referral_hub.extensions import db
from tests.agreements_support import build
from tests.clients_support import CANARY, canary_body
from tests.referrals_support import AGREEMENT_CATEGORIES, BALIKPAPAN, BONTANG, PPU

SCOPES = "referrals:read referrals:write referrals:respond clients:read clients:write audit:read"


def _session(live_server, hub, org):
    creds = hub.oauth_client(org, SCOPES)
    token = requests.post(
        f"{live_server}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    ).json()["access_token"]
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def test_ppu_refers_a_child_to_balikpapans_psychologist(app, hub, live_server):
    api = f"{live_server}/api/v1"
    with app.app_context():
        build("active", data_categories=AGREEMENT_CATEGORIES)
        db.session.remove()
    ppu, balikpapan, bontang = (_session(live_server, hub, o) for o in (PPU, BALIKPAPAN, BONTANG))

    child = ppu.post(f"{api}/clients", json=canary_body(), timeout=10).json()
    assert child["is_child"] is True
    consent_body = {
        "recipients": [BALIKPAPAN],
        "services": ["psychological_counseling"],
        "data_categories": ["identity", "case_summary"],
        "method": "written",
        "evidence_sha256": "d" * 64,
        "valid_until": "2030-01-01",
    }
    # A child's consent by the child alone is refused.
    alone = ppu.post(
        f"{api}/clients/{child['id']}/consents",
        json={**consent_body, "given_by": "client"},
        timeout=10,
    )
    assert alone.status_code == 422
    assert alone.json()["type"].endswith("/consent-giver-not-allowed")
    consent = ppu.post(
        f"{api}/clients/{child['id']}/consents",
        json={
            **consent_body,
            "given_by": "parent",
            "giver_name": "Ibu Kandung",
            "giver_relationship": "ibu kandung",
            "child_assent": True,
        },
        timeout=10,
    ).json()

    body = {
        "client": child["id"],
        "consent": consent["id"],
        "to": BALIKPAPAN,
        "service": "psychological_counseling",
        "reason": "Gejala trauma setelah kekerasan dalam rumah tangga; perlu psikolog klinis.",
        "data_categories": ["identity", "case_summary"],
        "case_data": {"case_summary": {"violence_types": ["psychological"]}},
    }
    # Each gate refuses with its slug.
    for change, slug in (
        ({"to": BONTANG}, "no-active-agreement"),
        ({"data_categories": ["identity", "case_summary", "contact"]}, "data-category-not-allowed"),
        ({"service": "mediation"}, "no-active-agreement"),
    ):
        refused = ppu.post(f"{api}/referrals", json={**body, **change}, timeout=10)
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"].endswith(slug), refused.json()
        assert refused.headers["Content-Type"].startswith("application/problem+json")

    sent = ppu.post(f"{api}/referrals", json=body, timeout=10)
    assert sent.status_code == 201, sent.text
    referral = sent.json()
    url = f"{api}/referrals/{referral['id']}"

    # Balikpapan sees the name it may see, not the phone or the address.
    seen = balikpapan.get(url, timeout=10)
    assert seen.status_code == 200
    assert CANARY["full_name"] in seen.text
    assert CANARY["phone"] not in seen.text
    assert CANARY["address"] not in seen.text
    # Bontang gets 404.
    assert bontang.get(url, timeout=10).status_code == 404
    # The disclosure list shows Balikpapan's read.
    disclosures = ppu.get(f"{api}/clients/{child['id']}/disclosures", timeout=10).json()["items"]
    assert any(d["organization"]["code"] == BALIKPAPAN and d["kind"] == "read" for d in disclosures)
    # The sender cannot accept.
    assert ppu.post(f"{url}/accept", json={}, timeout=10).status_code == 409
    # A reject without reason is refused.
    assert balikpapan.post(f"{url}/reject", json={}, timeout=10).status_code == 422
    # accept -> appointment -> start -> complete; a second accept is 409.
    assert balikpapan.post(f"{url}/accept", json={}, timeout=10).status_code == 200
    assert balikpapan.post(f"{url}/accept", json={}, timeout=10).status_code == 409
    appointment = balikpapan.post(
        f"{url}/appointments",
        json={
            "starts_at": "2030-01-06T09:00:00+08:00",
            "mode": "in_person",
            "practitioner": "Psikolog klinis UPTD PPA Balikpapan",
        },
        timeout=10,
    )
    assert appointment.status_code == 201, appointment.text
    # Attendance is recorded once a session has started: this one took place just now.
    attended = balikpapan.patch(
        f"{url}/appointments/{appointment.json()['id']}",
        json={"status": "attended", "starts_at": dt.datetime.now(dt.UTC).isoformat()},
        timeout=10,
    )
    assert attended.json()["status"] == "attended"
    assert balikpapan.post(f"{url}/start", json={}, timeout=10).status_code == 200
    done = balikpapan.post(
        f"{url}/complete",
        json={"outcome": "service_delivered", "summary": "Enam sesi konseling selesai."},
        timeout=10,
    )
    assert done.json()["status"] == "completed"
    actions = [e["action"] for e in ppu.get(f"{url}/events", timeout=10).json()]
    assert actions[0] == "requested"
    assert actions[-1] == "complete"

    # Withdrawing consent hides the client from Balikpapan at once.
    second = ppu.post(f"{api}/referrals", json=body, timeout=10).json()
    ppu.post(f"{api}/consents/{consent['id']}/withdraw", json={"reason": "ditarik ibu"}, timeout=10)
    cancelled = balikpapan.get(f"{api}/referrals/{second['id']}", timeout=10).json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["status_reason"] == "consent_withdrawn"
    assert CANARY["full_name"] not in balikpapan.get(url, timeout=10).text

    # The audit chain verifies.
    verified = ppu.get(f"{api}/audit/verify", timeout=10).json()
    assert verified["ok"] is True
