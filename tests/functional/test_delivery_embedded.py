"""The embedded mode, as it will be checked: a Balikpapan subscription on loopback receives
`referral.requested` for a new PPU referral within seconds, its signature verifies with the
standardwebhooks library, and neither the payload nor the events feed holds a name or NIK."""

from __future__ import annotations

import json
import time

import pytest
import requests
from standardwebhooks import Webhook as StandardWebhook

from referral_hub.delivery.embedded import start_embedded_runner, stop_embedded_runner
from referral_hub.extensions import db
from tests.agreements_support import build
from tests.delivery_support import Receiver, wait_for

#: Commits for real: the embedded runner's job threads read what the tests write.
pytestmark = pytest.mark.commits

NAME, NIK = "Siti Aminah", "6409014506120003"


@pytest.fixture
def runner(app):
    """The embedded job threads of the app the live server serves."""
    with app.app_context():
        db.engine.dispose()  # no pooled connection kept on an old snapshot by earlier tests
    yield start_embedded_runner(app)
    stop_embedded_runner(app)


def test_balikpapan_receives_a_signed_ppu_referral_without_personal_data(
    app, hub, live_server, runner
):
    with app.app_context():
        build("active", data_categories=["identity", "case_summary"])
        db.session.remove()
    ppu = hub.headers("uptd-ppa-ppu", "clients:write clients:read referrals:write referrals:read")
    client = requests.post(
        f"{live_server}/api/v1/clients",
        json={
            "full_name": NAME,
            "nik": NIK,
            "birth_date": "2012-06-05",
            "sex": "female",
            "domicile_region": "64.09",
            "guardian": {"name": "Ibu Kandung", "relationship": "ibu kandung"},
        },
        headers=ppu,
        timeout=10,
    )
    assert client.status_code == 201, client.text
    client_code = client.json()["code"]
    consent = requests.post(
        f"{live_server}/api/v1/clients/{client.json()['id']}/consents",
        json={
            "given_by": "parent",
            "giver_name": "Ibu Kandung",
            "giver_relationship": "ibu kandung",
            "child_assent": True,
            "recipients": ["uptd-ppa-balikpapan"],
            "services": ["psychological_counseling"],
            "data_categories": ["identity", "case_summary"],
            "method": "written",
            "evidence_sha256": "e" * 64,
            "valid_until": "2030-01-01",
        },
        headers=ppu,
        timeout=10,
    )
    assert consent.status_code == 201, consent.text

    with Receiver() as receiver:
        bpp = hub.headers("uptd-ppa-balikpapan", "webhooks:write events:read")
        made = requests.post(
            f"{live_server}/api/v1/webhooks",
            json={"url": receiver.url, "events": ["referral.requested"]},
            headers=bpp,
            timeout=10,
        )
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]

        # PPU refers the child to Balikpapan's psychologist, through the real API.
        committed = time.time()
        sent = requests.post(
            f"{live_server}/api/v1/referrals",
            json={
                "client": client.json()["id"],
                "consent": consent.json()["id"],
                "to": "uptd-ppa-balikpapan",
                "service": "psychological_counseling",
                "reason": "Perlu konseling psikolog klinis.",
                "data_categories": ["identity"],
            },
            headers=ppu,
            timeout=10,
        )
        assert sent.status_code == 201, sent.text
        referral = sent.json()

        (request,) = wait_for(lambda: receiver.requests, timeout=5)
        assert request["at"] - committed < 5
        body = request["body"].decode()
        payload = StandardWebhook(secret).verify(body, request["headers"])
        assert payload["type"] == "referral.requested"
        assert payload["data"]["number"] == referral["number"]
        assert payload["data"]["links"]["self"] == (
            f"{live_server}/api/v1/referrals/{referral['id']}"
        )
        assert request["headers"]["webhook-id"].startswith("msg_")
        for secret_value in (NAME, NIK, NAME.split()[0], "Ibu Kandung", "2012-06-05"):
            assert secret_value not in body

        feed = requests.get(f"{live_server}/api/v1/events", headers=bpp, timeout=10)
        assert feed.status_code == 200
        (item,) = [i for i in feed.json()["items"] if i["type"] == "referral.requested"]
        assert item["data"]["number"] == referral["number"]
        text = json.dumps(feed.json())
        assert NAME not in text
        assert NIK not in text
        # Not even the pseudonymous code travels in events: the link fetches the detail.
        assert client_code not in text
        assert client_code not in body


def test_the_first_request_starts_the_embedded_runner_when_enabled(app, client, monkeypatch):
    state = app.extensions["hub_delivery"]
    monkeypatch.setitem(app.config, "HUB_EMBEDDED_WORKER", "1")
    monkeypatch.setitem(state, "armed", False)
    try:
        client.get("/healthz")
        assert state["runner"].running
    finally:
        stop_embedded_runner(app)
    monkeypatch.setitem(app.config, "HUB_REDIS_URL", "redis://127.0.0.1:9/0")
    monkeypatch.setitem(state, "armed", False)
    client.get("/healthz")
    assert not state["runner"].running  # with Redis, rq workers do the jobs
