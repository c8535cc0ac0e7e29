"""Webhook pages: subscribe (the secret shown once), delete, every attempt, redeliver."""

from __future__ import annotations

import datetime as dt
import re
import socket

from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.db import utcnow
from referral_hub.delivery import operations as ops
from referral_hub.delivery.models import DeliveryAttempt, Event, Webhook, WebhookDelivery
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from tests.conftest import _csrf_from
from tests.orgs import BONTANG, PPU


def _browser(app, hub, org: str = PPU, role: str = "org_admin"):
    user = hub.user(org, role)
    browser = app.test_client()
    assert hub.login(browser, user["email"]).status_code == 302
    return browser


def _post(browser, path: str, data: dict, token_from: str):
    token = _csrf_from(browser.get(token_from).get_data(as_text=True))
    return browser.post(path, data={**data, "csrf_token": token})


def _webhook_with_a_failing_delivery(app, org: str = PPU) -> tuple[str, str]:
    """A subscription whose one delivery failed twice: what the receiver said, each time."""
    with app.app_context():
        org_id = find_organization(org).id
        actor = Actor(organization_id=org_id, kind="system", label="tests")
        hook, _secret = ops.create_webhook(
            actor, url="http://127.0.0.1:9/hook", events=["referral.requested"]
        )
        event = Event(
            type="referral.requested",
            subject_type="referral",
            subject_id="r1",
            data={"number": "RJ-PPU-2026-000001"},
            recorded_at=utcnow(),
            dispatched_at=utcnow(),
        )
        db.session.add(event)
        db.session.flush()
        now = utcnow()
        delivery = WebhookDelivery(
            webhook_id=hook.id,
            event_id=event.id,
            status="retrying",
            attempts=2,
            cycle_attempts=2,
            last_status_code=None,
            last_error="connection refused",
            next_attempt_at=now + dt.timedelta(minutes=2),
        )
        db.session.add(delivery)
        db.session.flush()
        for number, code, error in (
            (1, 503, "HTTP 503 from receiver"),
            (2, None, "connection refused"),
        ):
            db.session.add(
                DeliveryAttempt(
                    delivery_id=delivery.id,
                    number=number,
                    started_at=now - dt.timedelta(minutes=3 - number),
                    duration_ms=120,
                    status_code=code,
                    error=error,
                    outcome="failed",
                )
            )
        db.session.commit()
        ids = (hook.id, delivery.id)
        db.session.remove()
        return ids


def test_subscribe_shows_the_secret_once(app, hub):
    browser = _browser(app, hub)
    response = _post(
        browser,
        "/webhooks/new",
        {
            "url": "http://127.0.0.1:9/hub-events",
            "events": ["referral.requested", "referral.accepted"],
        },
        "/webhooks/new",
    )
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    secret = re.search(r'<code id="webhook-secret">(whsec_[^<]+)</code>', html).group(1)
    listing = browser.get("/webhooks").get_data(as_text=True)
    assert "http://127.0.0.1:9/hub-events" in listing
    assert secret not in listing
    with app.app_context():
        hook = db.session.scalars(select(Webhook)).one()
        assert hook.events == ["referral.accepted", "referral.requested"]
        assert secret not in hook.secret_ciphertext
        db.session.remove()


def test_a_url_the_hub_may_not_call_is_refused_beside_the_field(app, hub):
    browser = _browser(app, hub)
    response = _post(browser, "/webhooks/new", {"url": "ftp://partner.example/x"}, "/webhooks/new")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="f-url-error"' in html
    assert 'value="ftp://partner.example/x"' in html
    with app.app_context():
        assert db.session.scalars(select(Webhook)).all() == []
        db.session.remove()


def test_a_refused_host_is_not_told_what_it_resolves_to(app, hub, monkeypatch):
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_ALLOW_LOOPBACK", False)
    browser = _browser(app, hub)

    def page_for(addresses) -> str:
        def lookup(host, port, *args, **kwargs):
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

        monkeypatch.setattr(socket, "getaddrinfo", lookup)
        url = "https://db.partner.example/h"
        response = _post(browser, "/webhooks/new", {"url": url}, "/webhooks/new")
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        match = re.search(r'id="f-url-error"[^>]*>(.*?)</p>', html, re.S)
        assert match, html[:500]
        return re.sub(r"<[^>]+>", "", match.group(1)).strip()

    inside = page_for(["10.0.0.5"])
    assert "10.0.0.5" not in inside
    assert "db.partner.example" in inside
    assert inside == page_for([])


def test_deliveries_show_every_attempt_and_can_be_sent_again(app, hub):
    hook_id, delivery_id = _webhook_with_a_failing_delivery(app)
    browser = _browser(app, hub)
    html = browser.get(f"/webhooks/{hook_id}").get_data(as_text=True)
    assert "referral.requested" in html
    assert "HTTP 503" in html
    assert "HTTP 503 from receiver" in html
    assert "connection refused" in html
    assert "Dicoba ulang" in html
    response = _post(
        browser,
        f"/webhooks/{hook_id}/deliveries/{delivery_id}/redeliver",
        {},
        f"/webhooks/{hook_id}",
    )
    assert response.status_code == 302
    with app.app_context():
        delivery = db.session.get(WebhookDelivery, delivery_id)
        assert delivery.status == "pending"
        assert delivery.cycle_attempts == 0
        db.session.remove()
    filtered = browser.get(f"/webhooks/{hook_id}?status=dead").get_data(as_text=True)
    assert "0 pengiriman" in filtered


def test_delete_a_subscription(app, hub):
    hook_id, _delivery_id = _webhook_with_a_failing_delivery(app)
    browser = _browser(app, hub)
    response = _post(browser, f"/webhooks/{hook_id}/delete", {}, "/webhooks")
    assert response.status_code == 302
    listing = browser.get("/webhooks").get_data(as_text=True)
    assert "Webhook ke http://127.0.0.1:9/hook dihapus." in listing
    assert f"/webhooks/{hook_id}" not in listing
    with app.app_context():
        assert db.session.get(Webhook, hook_id).deleted_at is not None
        assert db.session.get(WebhookDelivery, _delivery_id).status == "cancelled"
        db.session.remove()


def test_another_organisations_webhook_is_404(app, hub):
    hook_id, delivery_id = _webhook_with_a_failing_delivery(app)
    bontang = _browser(app, hub, BONTANG)
    assert bontang.get(f"/webhooks/{hook_id}").status_code == 404
    assert "127.0.0.1:9/hook" not in bontang.get("/webhooks").get_data(as_text=True)
    response = _post(bontang, f"/webhooks/{hook_id}/delete", {}, "/webhooks")
    assert response.status_code == 404
    response = _post(
        bontang, f"/webhooks/{hook_id}/deliveries/{delivery_id}/redeliver", {}, "/webhooks"
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Webhook, hook_id).deleted_at is None
        assert db.session.get(WebhookDelivery, delivery_id).status == "retrying"
        db.session.remove()


def test_only_administrators_manage_webhooks(app, hub):
    for role in ("caseworker", "supervisor", "auditor"):
        browser = _browser(app, hub, PPU, role)
        assert browser.get("/webhooks").status_code == 403, role


def test_rotating_the_secret_shows_the_new_one_once_and_keeps_the_old_for_a_day(app, hub):
    from referral_hub.delivery.dispatch import signing_secrets

    hook_id, _delivery_id = _webhook_with_a_failing_delivery(app)
    with app.app_context():
        old = signing_secrets(db.session.get(Webhook, hook_id), utcnow())
        db.session.remove()
    browser = _browser(app, hub)
    page = browser.get(f"/webhooks/{hook_id}").get_data(as_text=True)
    assert f"/webhooks/{hook_id}/rotate-secret" in page
    response = _post(browser, f"/webhooks/{hook_id}/rotate-secret", {}, f"/webhooks/{hook_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    secret = re.search(r'<code id="webhook-secret">(whsec_[^<]+)</code>', html).group(1)
    assert "Rahasia webhook diganti" in html
    assert "dua tanda tangan" in html
    detail = browser.get(f"/webhooks/{hook_id}").get_data(as_text=True)
    assert secret not in detail
    assert "Rahasia lama" in detail
    with app.app_context():
        hook = db.session.get(Webhook, hook_id)
        assert signing_secrets(hook, utcnow()) == (secret, *old)
        later = utcnow() + dt.timedelta(hours=24, seconds=1)
        assert signing_secrets(hook, later) == (secret,)
        db.session.remove()
