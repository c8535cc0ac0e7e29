"""The events feed and the webhooks API over HTTP."""

from __future__ import annotations

import base64
import json
import socket

import pytest
from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.delivery import dispatch
from referral_hub.delivery.models import WebhookDelivery
from referral_hub.delivery.outbox import emit
from referral_hub.delivery.sender import ScriptedSender
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from tests.conftest import problem
from tests.orgs import BALIKPAPAN as BPP
from tests.orgs import POLRES, PPU


def _emit(app, event_type, codes, **data):
    with app.app_context():
        item = emit(
            Actor.system("tests"),
            event_type,
            subject_type="referral",
            subject_id=data.get("referral_id", "r"),
            organizations=[find_organization(c).id for c in codes],
            data=data,
        )
        db.session.commit()
        return item.id


@pytest.fixture
def bpp_hooks(hub):
    return hub.headers(BPP, "webhooks:write")


# --- events feed ---------------------------------------------------------------------------


def test_the_feed_holds_only_the_callers_events_oldest_first(app, client, hub):
    first = _emit(app, "referral.requested", [PPU, BPP], referral_id="r1", status="requested")
    _emit(app, "agreement.signed", [PPU, POLRES], agreement_id="a1")
    third = _emit(app, "referral.accepted", [PPU, BPP], referral_id="r1", status="accepted")
    body = client.get("/api/v1/events", headers=hub.headers(BPP, "events:read")).get_json()
    assert [e["id"] for e in body["items"]] == [first, third]
    assert body["has_more"] is False
    item = body["items"][0]
    assert item["type"] == "referral.requested"
    assert item["subject"] == {"type": "referral", "id": "r1"}
    assert item["data"]["links"]["self"].endswith("/api/v1/referrals/r1")
    assert item["occurred_at"].endswith("Z") or item["occurred_at"].endswith("+00:00")
    # Asking again from the last cursor: nothing new, and the cursor stays put.
    again = client.get(
        f"/api/v1/events?after={body['next_cursor']}", headers=hub.headers(BPP, "events:read")
    ).get_json()
    assert again == {"items": [], "next_cursor": body["next_cursor"], "has_more": False}


def test_the_feed_pages_by_cursor_without_gaps_or_repeats(app, client, hub):
    ids = [_emit(app, "referral.requested", [BPP], referral_id=f"r{i}") for i in range(7)]
    headers = hub.headers(BPP, "events:read")
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/events?limit=3" + (f"&after={cursor}" if cursor else "")
        response = client.get(url, headers=headers)
        body = response.get_json()
        seen += [e["id"] for e in body["items"]]
        cursor, pages = body["next_cursor"], pages + 1
        if not body["has_more"]:
            assert "Link" not in response.headers
            break
        assert 'rel="next"' in response.headers["Link"]
    assert seen == ids
    assert pages == 3
    # Each item's own cursor resumes right after it.
    body = client.get(f"/api/v1/events?limit=2&after={cursor}", headers=headers).get_json()
    assert body["items"] == []


@pytest.mark.parametrize("query", ["limit=101", "limit=0"])
def test_bad_feed_arguments_are_422(client, hub, query):
    response = client.get(f"/api/v1/events?{query}", headers=hub.headers(BPP, "events:read"))
    assert response.status_code == 422
    assert "errors" in problem(response)


@pytest.mark.parametrize("after", ["not-a-cursor", "ZTE6LTU"])
def test_a_cursor_the_feed_did_not_give_is_400(client, hub, after):
    response = client.get(f"/api/v1/events?after={after}", headers=hub.headers(BPP, "events:read"))
    assert response.status_code == 400
    assert "errors" in problem(response)


def test_a_forged_cursor_cannot_reach_other_organisations_events(app, client, hub):
    _emit(app, "agreement.signed", [PPU, POLRES], agreement_id="a1")
    # BPP's own cursor from the start of its feed shows none of PPU's and Polres' events.
    start = client.get("/api/v1/events", headers=hub.headers(BPP, "events:read")).get_json()
    assert start["items"] == []
    body = client.get(
        f"/api/v1/events?after={start['next_cursor']}", headers=hub.headers(BPP, "events:read")
    ).get_json()
    assert body["items"] == []
    # A cursor made up to start before everything is refused, not followed.
    forged = base64.urlsafe_b64encode(b"e2:0:AAAAAAAAAAAAAAAA").rstrip(b"=").decode()
    response = client.get(f"/api/v1/events?after={forged}", headers=hub.headers(BPP, "events:read"))
    assert response.status_code == 400


def test_the_feed_needs_the_events_read_scope(client, hub):
    response = client.get("/api/v1/events", headers=hub.headers(BPP, "webhooks:write"))
    assert response.status_code == 403


# --- webhooks ------------------------------------------------------------------------------


def test_a_subscription_is_made_and_its_secret_shown_once(client, hub, bpp_hooks):
    response = client.post(
        "/api/v1/webhooks",
        json={"url": "https://8.8.8.8/hooks", "events": ["referral.requested"]},
        headers=bpp_hooks,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["url"] == "https://8.8.8.8/hooks"
    assert body["events"] == ["referral.requested"]
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"][6:])) == 32
    assert response.headers["Location"].endswith(f"/api/v1/webhooks/{body['id']}")
    one = client.get(f"/api/v1/webhooks/{body['id']}", headers=bpp_hooks).get_json()
    listed = client.get("/api/v1/webhooks", headers=bpp_hooks).get_json()
    assert "secret" not in one
    assert all("secret" not in w for w in listed["items"])
    assert [w["id"] for w in listed["items"]] == [body["id"]]


def test_another_organisations_subscription_is_404(client, hub, bpp_hooks):
    made = client.post(
        "/api/v1/webhooks", json={"url": "https://8.8.8.8/h"}, headers=bpp_hooks
    ).get_json()
    ppu = hub.headers(PPU, "webhooks:write")
    for method, path in (
        ("get", f"/api/v1/webhooks/{made['id']}"),
        ("delete", f"/api/v1/webhooks/{made['id']}"),
        ("get", f"/api/v1/webhooks/{made['id']}/deliveries"),
        ("post", f"/api/v1/webhooks/{made['id']}/deliveries/x/redeliver"),
    ):
        response = getattr(client, method)(path, headers=ppu)
        assert response.status_code == 404, (method, path)
        assert "url" not in problem(response)
    assert client.get("/api/v1/webhooks", headers=ppu).get_json()["items"] == []


def test_deleting_a_subscription(client, bpp_hooks):
    made = client.post(
        "/api/v1/webhooks", json={"url": "https://8.8.8.8/h"}, headers=bpp_hooks
    ).get_json()
    assert client.delete(f"/api/v1/webhooks/{made['id']}", headers=bpp_hooks).status_code == 204
    assert client.get(f"/api/v1/webhooks/{made['id']}", headers=bpp_hooks).status_code == 404


@pytest.mark.parametrize(
    "url",
    ["http://8.8.8.8/h", "https://127.0.0.1/h", "https://10.0.0.1/h", "https://169.254.169.254/"],
)
def test_urls_that_could_reach_inside_are_refused(app, client, bpp_hooks, monkeypatch, url):
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_ALLOW_LOOPBACK", False)
    response = client.post("/api/v1/webhooks", json={"url": url}, headers=bpp_hooks)
    assert response.status_code == 422
    body = problem(response)
    assert body["type"].endswith("/problems/webhook-url-not-allowed")
    assert "url" in body["errors"]


def test_a_refused_url_never_tells_what_its_host_resolves_to(app, client, bpp_hooks, monkeypatch):
    # Anyone who may register a webhook could otherwise map the hub's network: which
    # internal names exist and their addresses. An inside address and a name that does not
    # resolve get the same answer, naming no address.
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_ALLOW_LOOPBACK", False)

    def answer_with(addresses):
        def lookup(host, port, *args, **kwargs):
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

        monkeypatch.setattr(socket, "getaddrinfo", lookup)
        response = client.post(
            "/api/v1/webhooks", json={"url": "https://db.partner.example/h"}, headers=bpp_hooks
        )
        assert response.status_code == 422
        return problem(response)

    inside = answer_with(["10.0.0.5"])
    missing = answer_with([])
    assert inside["type"].endswith("/problems/webhook-url-not-allowed")
    assert "10.0.0.5" not in json.dumps(inside)
    assert (inside["detail"], inside["errors"]) == (missing["detail"], missing["errors"])


def test_unknown_event_types_are_refused(client, bpp_hooks):
    response = client.post(
        "/api/v1/webhooks",
        json={"url": "https://8.8.8.8/h", "events": ["referral.exploded"]},
        headers=bpp_hooks,
    )
    assert response.status_code == 422
    assert "events" in problem(response)["errors"]


def test_an_organisation_may_hold_a_limited_number_of_subscriptions(
    app, client, bpp_hooks, monkeypatch
):
    monkeypatch.setitem(app.config, "HUB_WEBHOOKS_PER_ORGANIZATION", "2")
    for _ in range(2):
        assert client.post(
            "/api/v1/webhooks", json={"url": "https://8.8.8.8/h"}, headers=bpp_hooks
        ).status_code == 201  # fmt: skip
    response = client.post("/api/v1/webhooks", json={"url": "https://8.8.8.8/h"}, headers=bpp_hooks)
    assert response.status_code == 409
    assert problem(response)["type"].endswith("/problems/webhook-limit-reached")


def test_webhooks_need_the_webhooks_write_scope(client, hub):
    response = client.get("/api/v1/webhooks", headers=hub.headers(BPP, "events:read"))
    assert response.status_code == 403


# --- deliveries ----------------------------------------------------------------------------


def test_deliveries_show_every_attempt_and_can_be_sent_again(app, client, bpp_hooks):
    made = client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=bpp_hooks
    ).get_json()
    event_id = _emit(app, "referral.requested", [PPU, BPP], referral_id="r1")
    answers = iter([500, 204])
    sender = ScriptedSender(lambda url, body, headers: next(answers))
    with app.app_context():
        dispatch.dispatch_pending()
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
        assert dispatch.attempt_delivery(delivery_id, sender) == "retrying"
    listed = client.get(f"/api/v1/webhooks/{made['id']}/deliveries", headers=bpp_hooks)
    (delivery,) = listed.get_json()["items"]
    assert delivery["id"] == delivery_id
    assert delivery["event_id"] == event_id
    assert delivery["event_type"] == "referral.requested"
    assert delivery["status"] == "retrying"
    assert delivery["next_attempt_at"]
    assert delivery["message_id"] == f"msg_{delivery_id}"
    (attempt,) = delivery["attempts"]
    assert attempt["status_code"] == 500
    assert attempt["error"] == "HTTP 500"
    assert attempt["duration_ms"] >= 0
    assert attempt["next_attempt_at"]

    response = client.post(
        f"/api/v1/webhooks/{made['id']}/deliveries/{delivery_id}/redeliver", headers=bpp_hooks
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "pending"
    with app.app_context():
        assert dispatch.attempt_delivery(delivery_id, sender) == "delivered"
    overview = client.get("/api/v1/deliveries", headers=bpp_hooks).get_json()
    assert overview["counts"] == {
        "pending": 0,
        "retrying": 0,
        "delivered": 1,
        "dead": 0,
        "cancelled": 0,
    }
    assert [d["id"] for d in overview["items"]] == [delivery_id]
    assert [a["status_code"] for a in overview["items"][0]["attempts"]] == [500, 204]
    dead = client.get("/api/v1/deliveries?status=dead", headers=bpp_hooks).get_json()
    assert dead["items"] == []
    assert dead["counts"]["delivered"] == 1
    assert client.get("/api/v1/deliveries?status=lost", headers=bpp_hooks).status_code == 422
