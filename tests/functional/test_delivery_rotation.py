"""Webhook secret rotation with a 24-hour overlap, and the ping.

A receiver verifies with the standardwebhooks library, as a partner would: during the
overlap every delivery verifies under the old secret and under the new one; after it, only
under the new one, and the old secret is gone from the database.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from sqlalchemy import select
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from referral_hub.audit.models import AuditEntry
from referral_hub.delivery.models import Event, EventAudience, Webhook
from referral_hub.delivery.tasks import destroy_rotated_secrets
from referral_hub.extensions import db
from tests.conftest import problem
from tests.delivery_support import Receiver
from tests.orgs import BALIKPAPAN as BPP
from tests.orgs import PPU

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def bpp(hub):
    return hub.headers(BPP, "webhooks:write events:read")


def _subscribe(client, headers, url) -> dict:
    response = client.post(
        "/api/v1/webhooks", json={"url": url, "events": ["referral.requested"]}, headers=headers
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _ping(client, headers, hook_id):
    response = client.post(f"/api/v1/webhooks/{hook_id}/ping", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _verifies(secret: str, request: dict) -> bool:
    try:
        StandardWebhook(secret).verify(request["body"], request["headers"])
    except WebhookVerificationError:
        return False
    return True


def test_a_ping_goes_the_normal_way_and_reports_the_answer(app, client, bpp, receiver):
    hook = _subscribe(client, bpp, receiver.url)
    delivery = _ping(client, bpp, hook["id"])
    assert delivery["status"] == "delivered"
    assert delivery["event_type"] == "webhook.ping"
    assert delivery["last_status_code"] == 204
    assert [a["outcome"] for a in delivery["attempts"]] == ["delivered"]
    (request,) = receiver.requests
    payload = StandardWebhook(hook["secret"]).verify(request["body"], request["headers"])
    assert payload["type"] == "webhook.ping"
    assert payload["data"]["webhook_id"] == hook["id"]
    assert payload["data"]["links"]["self"].endswith(f"/api/v1/webhooks/{hook['id']}")
    assert request["headers"]["webhook-id"] == delivery["message_id"]
    # Listed with the subscription's deliveries; never in the events feed.
    listed = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=bpp).get_json()
    assert [d["id"] for d in listed["items"]] == [delivery["id"]]
    feed = client.get("/api/v1/events", headers=bpp).get_json()
    assert feed["items"] == []


def test_a_ping_to_an_endpoint_that_fails_says_why(app, client, bpp):
    with Receiver(lambda n, body, headers: 503) as failing:
        hook = _subscribe(client, bpp, failing.url)
        delivery = _ping(client, bpp, hook["id"])
    assert delivery["status"] == "retrying"
    assert delivery["last_status_code"] == 503
    assert delivery["last_error"] == "HTTP 503"


def test_a_ping_is_refused_where_the_url_guard_refuses(app, client, bpp, receiver, monkeypatch):
    hook = _subscribe(client, bpp, receiver.url)
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_ALLOW_LOOPBACK", False)
    delivery = _ping(client, bpp, hook["id"])
    assert delivery["status"] != "delivered"
    assert delivery["last_error"].startswith("refused: URL")
    assert receiver.requests == []


def test_ping_and_rotation_of_another_organisations_webhook_are_404(client, hub, bpp, receiver):
    hook = _subscribe(client, bpp, receiver.url)
    ppu = hub.headers(PPU, "webhooks:write")
    for action in ("ping", "rotate-secret"):
        response = client.post(f"/api/v1/webhooks/{hook['id']}/{action}", headers=ppu)
        assert response.status_code == 404
        problem(response)
    assert receiver.requests == []


def test_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new(
    app, client, bpp, receiver
):
    with time_machine.travel(START, tick=True):
        hook = _subscribe(client, bpp, receiver.url)
        old = hook["secret"]
        rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=bpp)
        assert rotated.status_code == 200, rotated.get_data(as_text=True)
        body = rotated.get_json()
        new = body["secret"]
        assert new.startswith("whsec_")
        assert new != old
        until = dt.datetime.fromisoformat(body["previous_secret_valid_until"])
        assert until - dt.datetime.fromisoformat(body["secret_rotated_at"]) == dt.timedelta(
            hours=24
        )
        # The secret is shown once: reading the subscription gives the dates, not it.
        shown = client.get(f"/api/v1/webhooks/{hook['id']}", headers=bpp).get_json()
        assert "secret" not in shown
        assert shown["previous_secret_valid_until"] == body["previous_secret_valid_until"]

    with time_machine.travel(START + dt.timedelta(hours=23), tick=True):
        _ping(client, bpp, hook["id"])
        during = receiver.requests[-1]
        assert len(during["headers"]["webhook-signature"].split(" ")) == 2
        assert _verifies(new, during)
        assert _verifies(old, during)
        with app.app_context():
            assert destroy_rotated_secrets() == 0  # still in its overlap

    with time_machine.travel(START + dt.timedelta(hours=24, minutes=1), tick=True):
        # Past the overlap the old secret signs no more, even before the sweep destroys it.
        _ping(client, bpp, hook["id"])
        after = receiver.requests[-1]
        assert len(after["headers"]["webhook-signature"].split(" ")) == 1
        assert _verifies(new, after)
        assert not _verifies(old, after)
        with app.app_context():
            assert destroy_rotated_secrets() == 1
            row = db.session.get(Webhook, hook["id"])
            assert row.previous_secret_ciphertext is None
            assert row.previous_secret_expires_at is None
        shown = client.get(f"/api/v1/webhooks/{hook['id']}", headers=bpp).get_json()
        assert shown["previous_secret_valid_until"] is None


def test_an_event_delivered_during_the_overlap_carries_both_signatures(
    app, client, hub, bpp, receiver
):
    from referral_hub.actors import Actor
    from referral_hub.delivery import dispatch
    from referral_hub.delivery.outbox import emit
    from referral_hub.directory.operations import find_organization

    with time_machine.travel(START, tick=True):
        hook = _subscribe(client, bpp, receiver.url)
        new = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=bpp).get_json()[
            "secret"
        ]
    with time_machine.travel(START + dt.timedelta(hours=2), tick=True), app.app_context():
        emit(
            Actor.system("tests"),
            "referral.requested",
            subject_type="referral",
            subject_id="r1",
            organizations=[find_organization(BPP).id],
            data={"referral_id": "r1", "status": "requested"},
        )
        db.session.commit()
        dispatch.dispatch_pending()
        assert dispatch.drain_webhook(hook["id"], 10) == 1
        (request,) = receiver.requests
        assert json.loads(request["body"])["type"] == "referral.requested"
        assert _verifies(hook["secret"], request)
        assert _verifies(new, request)


def test_a_second_rotation_keeps_only_the_secret_in_use_until_then(app, client, bpp, receiver):
    with time_machine.travel(START, tick=True):
        hook = _subscribe(client, bpp, receiver.url)
        first = hook["secret"]
        url = f"/api/v1/webhooks/{hook['id']}/rotate-secret"
        second = client.post(url, headers=bpp).get_json()["secret"]
        third = client.post(url, headers=bpp).get_json()["secret"]
        _ping(client, bpp, hook["id"])
        (request,) = receiver.requests
        assert _verifies(third, request)
        assert _verifies(second, request)
        assert not _verifies(first, request)
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == hook["id"])
        ).all()
        assert actions.count("webhook.secret_rotated") == 2
        texts = json.dumps(
            [
                e.detail
                for e in db.session.scalars(
                    select(AuditEntry).where(AuditEntry.object_id == hook["id"])
                )
            ]
        )
        for secret in (first, second, third):
            assert secret not in texts
        # The ping's event reaches no feed.
        ping = db.session.scalar(select(Event).where(Event.type == "webhook.ping"))
        assert ping.seq is None
        assert (
            db.session.scalars(select(EventAudience).where(EventAudience.event_id == ping.id)).all()
            == []
        )
