"""The embedded mode, as it will be checked: a Balikpapan subscription on loopback receives
`referral.requested` for a new PPU referral within seconds, its signature verifies with the
standardwebhooks library, and neither the payload nor the events feed holds a name or NIK."""

from __future__ import annotations

import json
import time

import pytest
import requests
from standardwebhooks import Webhook as StandardWebhook

from referral_hub.actors import Actor
from referral_hub.delivery.embedded import start_embedded_runner, stop_embedded_runner
from referral_hub.delivery.outbox import emit
from referral_hub.directory.operations import get_organization
from referral_hub.extensions import db
from tests.delivery_support import Receiver, wait_for

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
    ppu = hub.headers("uptd-ppa-ppu", "clients:write")
    client = requests.post(
        f"{live_server}/api/v1/clients",
        json={
            "full_name": NAME,
            "nik": NIK,
            "birth_date": "2012-06-05",
            "sex": "female",
            "domicile_region": "64.09",
        },
        headers=ppu,
        timeout=10,
    )
    assert client.status_code == 201, client.text
    client_code = client.json()["code"]

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

        # What sending a referral from PPU to Balikpapan's psychologist emits.
        with app.app_context():
            ppu_id = get_organization("uptd-ppa-ppu").id
            bpp_id = get_organization("uptd-ppa-balikpapan").id
            emit(
                Actor(organization_id=ppu_id, kind="client", client_id="ppu-system"),
                "referral.requested",
                subject_type="referral",
                subject_id="ref-ppu-1",
                organizations=[ppu_id, bpp_id],
                data={
                    "referral_id": "ref-ppu-1",
                    "number": "RUJ-PPU-2026-0001",
                    "status": "requested",
                    "service": "psychological_counseling",
                    "urgency": "routine",
                    "sender": "uptd-ppa-ppu",
                    "recipient": "uptd-ppa-balikpapan",
                    "client": client_code,
                },
            )
            committed = time.time()
            db.session.commit()

        (request,) = wait_for(lambda: receiver.requests, timeout=5)
        assert request["at"] - committed < 5
        body = request["body"].decode()
        payload = StandardWebhook(secret).verify(body, request["headers"])
        assert payload["type"] == "referral.requested"
        assert payload["data"]["number"] == "RUJ-PPU-2026-0001"
        assert payload["data"]["links"]["self"] == f"{live_server}/api/v1/referrals/ref-ppu-1"
        assert request["headers"]["webhook-id"].startswith("msg_")
        assert NAME not in body
        assert NIK not in body
        assert NAME.split()[0] not in body

        feed = requests.get(f"{live_server}/api/v1/events", headers=bpp, timeout=10)
        assert feed.status_code == 200
        (item,) = feed.json()["items"]
        assert item["type"] == "referral.requested"
        assert item["data"]["client"] == client_code
        text = json.dumps(feed.json())
        assert NAME not in text
        assert NIK not in text


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
