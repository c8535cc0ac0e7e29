"""The registry as an outside OAuth client sees it over real HTTP: the acceptance check."""

from __future__ import annotations

import hashlib

import requests

from referral_hub.agreements.operations import active_agreements_covering
from tests.agreements_support import BALIKPAPAN, BONTANG, PPU, as_json, content

SCOPE = "agreements:read agreements:write"
PDF = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _token(live_server, hub, org: str) -> dict[str, str]:
    creds = hub.oauth_client(org, SCOPE)
    response = requests.post(
        f"{live_server}/oauth/token",
        data={"grant_type": "client_credentials", "scope": SCOPE},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_ppu_and_balikpapan_agree_sign_cover_share_a_pdf_and_terminate(app, hub, live_server):
    ppu, balikpapan, bontang = (_token(live_server, hub, org) for org in (PPU, BALIKPAPAN, BONTANG))
    api = f"{live_server}/api/v1"
    http = requests.Session()

    # PPU drafts an agreement with Balikpapan: Balikpapan's psychologist counsels PPU's clients.
    response = http.post(f"{api}/agreements", json=as_json(content()), headers=ppu, timeout=10)
    assert response.status_code == 201, response.text
    agreement = response.json()
    url = f"{api}/agreements/{agreement['id']}"
    assert agreement["status"] == "draft"

    # After PPU signs it is not yet active; after Balikpapan signs it is.
    response = http.post(f"{url}/sign", headers=ppu, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "draft"
    response = http.post(f"{url}/sign", headers=balikpapan, timeout=10)
    assert response.json()["status"] == "active"
    assert response.headers["ETag"]

    # Bontang is no party: it cannot sign, nor even see the agreement.
    response = http.post(f"{url}/sign", headers=bontang, timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")

    # Coverage for PPU lists Balikpapan for psychological counselling.
    coverage = http.get(
        f"{api}/coverage", params={"service": "psychological_counseling"}, headers=ppu, timeout=10
    ).json()
    assert [i["organization"]["code"] for i in coverage["items"]] == [BALIKPAPAN]
    assert coverage["items"][0]["agreement"]["id"] == agreement["id"]

    # The signed PDF comes back byte for byte, with the SHA-256 the upload reported.
    response = http.post(
        f"{url}/documents",
        files={"file": ("PKS PPU-Balikpapan.pdf", PDF, "application/pdf")},
        headers=balikpapan,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
    download = http.get(f"{url}/documents/{document['id']}", headers=ppu, timeout=10)
    assert download.status_code == 200
    assert download.content == PDF
    assert hashlib.sha256(download.content).hexdigest() == document["sha256"]
    assert download.headers["Content-Type"] == "application/pdf"

    # A file that is not a PDF is refused, whatever it is called.
    response = http.post(
        f"{url}/documents",
        files={"file": ("notulen.pdf", b"<html>not a pdf</html>", "application/pdf")},
        headers=ppu,
        timeout=10,
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("/document-not-pdf")

    # A terminated agreement stops new referrals: nothing covers the service any more.
    response = http.post(
        f"{url}/terminate",
        json={"reason": "Diganti perjanjian baru"},
        headers=ppu,
        timeout=10,
    )
    assert response.json()["status"] == "terminated"
    with app.app_context():
        ppu_id, balikpapan_id = (p["id"] for p in agreement["parties"])
        assert active_agreements_covering(ppu_id, balikpapan_id, "psychological_counseling") == []
    coverage = http.get(
        f"{api}/coverage", params={"service": "psychological_counseling"}, headers=ppu, timeout=10
    ).json()
    assert coverage["items"] == []
