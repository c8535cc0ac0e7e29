"""Deliveries: signed, retried with backoff within a window, then dead; leases survive
dead workers; the webhook-id never changes."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from sqlalchemy import func, select, update
from standardwebhooks import Webhook as StandardWebhook

from referral_hub.actors import Actor
from referral_hub.db import utcnow
from referral_hub.delivery import dispatch
from referral_hub.delivery.models import DeliveryAttempt, Event, Webhook, WebhookDelivery
from referral_hub.delivery.operations import create_webhook, delete_webhook, redeliver
from referral_hub.delivery.outbox import emit
from referral_hub.delivery.sender import ScriptedSender
from referral_hub.delivery.settings import parse_settings
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db


@pytest.fixture
def setup(app_ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_RETRY_SCHEDULE", "5,30")
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_RETRY_WINDOW", "3600")
    ppu = find_organization("uptd-ppa-ppu").id
    bpp = find_organization("uptd-ppa-balikpapan").id
    actor = Actor(organization_id=bpp, kind="client", client_id="c1", scopes=frozenset())
    hook, secret = create_webhook(actor, url="http://127.0.0.1:9/hooks", events=[])
    db.session.commit()
    emit(
        Actor.system("tests"),
        "referral.requested",
        subject_type="referral",
        subject_id="ref1",
        organizations=[ppu, bpp],
        data={"referral_id": "ref1", "number": "RUJ-1", "status": "requested"},
    )
    db.session.commit()
    assert dispatch.dispatch_pending() == (1, [hook.id])
    delivery_id = db.session.scalar(select(WebhookDelivery.id))
    return {"actor": actor, "hook": hook, "secret": secret, "delivery_id": delivery_id}


def _emit(event_type, subject_id, organizations):
    emit(
        Actor.system("tests"),
        event_type,
        subject_type="referral",
        subject_id=subject_id,
        organizations=organizations,
        data={},
    )


def _delivery(delivery_id):
    db.session.expire_all()
    return db.session.get(WebhookDelivery, delivery_id)


def _make_due(delivery_id):
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(next_attempt_at=utcnow() - dt.timedelta(seconds=1))
    )
    db.session.commit()


def test_a_2xx_answer_delivers_a_signed_payload_without_personal_data(setup):
    sender = ScriptedSender(lambda url, body, headers: 204)
    assert dispatch.attempt_delivery(setup["delivery_id"], sender) == "delivered"
    (sent,) = sender.sent
    verified = StandardWebhook(setup["secret"]).verify(sent["body"], sent["headers"])
    assert verified["type"] == "referral.requested"
    assert verified["data"]["number"] == "RUJ-1"
    assert verified["data"]["links"]["self"].endswith("/api/v1/referrals/ref1")
    assert set(verified) == {"type", "timestamp", "data"}
    delivery = _delivery(setup["delivery_id"])
    assert sent["headers"]["webhook-id"] == delivery.message_id
    assert delivery.delivered_at is not None
    assert delivery.attempt_log[0].status_code == 204
    # Delivered is final: the job running again does nothing.
    assert dispatch.attempt_delivery(setup["delivery_id"], sender) is None
    assert len(sender.sent) == 1


def test_dispatching_twice_creates_one_delivery(setup):
    assert dispatch.dispatch_pending() == (0, [])
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


def test_a_subscription_gets_only_its_types_and_what_commits_after_it(setup, app):
    bpp = setup["hook"].organization_id
    actor = setup["actor"]
    only_accepted, _ = create_webhook(
        actor, url="http://127.0.0.1:9/a", events=["referral.accepted"]
    )
    db.session.commit()
    ppu = find_organization("uptd-ppa-ppu").id
    police = find_organization("polres-ppu").id
    for event_type, orgs in (
        ("referral.requested", [ppu, bpp]),
        ("referral.accepted", [ppu, bpp]),
        ("agreement.signed", [ppu, police]),  # not Balikpapan's
    ):
        _emit(event_type, "x", orgs)
    db.session.commit()
    count, touched = dispatch.dispatch_pending()
    assert count == 3
    assert sorted(touched) == sorted([setup["hook"].id, only_accepted.id])
    rows = db.session.execute(select(WebhookDelivery.webhook_id, WebhookDelivery.event_id)).all()
    by_hook = {}
    for webhook_id, event_id in rows:
        by_hook.setdefault(webhook_id, []).append(event_id)
    assert len(by_hook[setup["hook"].id]) == 3  # the first delivery, requested, accepted
    assert len(by_hook[only_accepted.id]) == 1


def test_a_drain_attempts_the_subscriptions_due_deliveries_oldest_first(setup, monkeypatch):
    monkeypatch.setattr(dispatch, "PARALLEL_REQUESTS", 1)  # one at a time: a visible order
    ppu = find_organization("uptd-ppa-ppu").id
    bpp = setup["hook"].organization_id
    for n in range(3):
        _emit("referral.requested", f"d{n}", [ppu, bpp])
        db.session.commit()
    dispatch.dispatch_pending()
    seen = []

    def receiver(url, body, headers):
        seen.append(json.loads(body)["data"]["links"]["self"].rsplit("/", 1)[1])
        return 204

    assert dispatch.drain_webhook(setup["hook"].id, 30, ScriptedSender(receiver)) == 4
    assert seen == ["ref1", "d0", "d1", "d2"]
    # Out of budget: it stops and says more is due.
    _emit("referral.requested", "d3", [ppu, bpp])
    db.session.commit()
    dispatch.dispatch_pending()
    assert dispatch.drain_webhook(setup["hook"].id, -1, ScriptedSender(receiver)) == 0
    assert dispatch.drain_webhook(setup["hook"].id, 30, ScriptedSender(receiver)) == 1
    assert seen[-1] == "d3"


def test_a_batch_goes_out_in_parallel_and_each_result_is_kept(setup):
    ppu = find_organization("uptd-ppa-ppu").id
    bpp = setup["hook"].organization_id
    for n in range(5):
        _emit("referral.requested", f"p{n}", [ppu, bpp])
    db.session.commit()
    dispatch.dispatch_pending()
    answers = {"p1": 500, "p3": 503}

    def receiver(url, body, headers):
        time.sleep(0.2)
        return answers.get(json.loads(body)["data"]["links"]["self"].rsplit("/", 1)[1], 204)

    started = time.monotonic()
    assert dispatch.drain_webhook(setup["hook"].id, 30, ScriptedSender(receiver)) == 6
    assert time.monotonic() - started < 1.0  # six requests of 0.2 s, side by side
    statuses = dict(
        db.session.execute(
            select(Event.subject_id, WebhookDelivery.status).join(
                Event, Event.id == WebhookDelivery.event_id
            )
        ).all()
    )
    assert statuses == {
        "ref1": "delivered",
        "p0": "delivered",
        "p1": "retrying",
        "p2": "delivered",
        "p3": "retrying",
        "p4": "delivered",
    }


def test_a_failure_is_retried_after_a_jittered_delay_then_dead_after_the_window(setup, app):
    sender = ScriptedSender(lambda url, body, headers: 500)
    before = utcnow()
    assert dispatch.attempt_delivery(setup["delivery_id"], sender) == "retrying"
    delivery = _delivery(setup["delivery_id"])
    assert before <= delivery.next_attempt_at <= utcnow() + dt.timedelta(seconds=5)
    assert delivery.last_status_code == 500
    assert delivery.last_error == "HTTP 500"
    # Not due yet (unless the jitter drew ~0): no second attempt.
    if delivery.next_attempt_at > utcnow() + dt.timedelta(milliseconds=50):
        assert dispatch.attempt_delivery(setup["delivery_id"], sender) is None
    _make_due(setup["delivery_id"])
    assert dispatch.attempt_delivery(setup["delivery_id"], sender) == "retrying"
    # A retry window already spent: the next failure is the last.
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == setup["delivery_id"])
        .values(cycle_started_at=utcnow() - dt.timedelta(hours=2))
    )
    db.session.commit()
    _make_due(setup["delivery_id"])
    assert dispatch.attempt_delivery(setup["delivery_id"], sender) == "dead"
    delivery = _delivery(setup["delivery_id"])
    assert delivery.next_attempt_at is None
    assert [a.number for a in delivery.attempt_log] == [1, 2, 3]
    assert [a.outcome for a in delivery.attempt_log] == ["failed"] * 3
    assert delivery.attempt_log[0].next_attempt_at is not None
    assert delivery.attempt_log[-1].next_attempt_at is None
    assert len({s["headers"]["webhook-id"] for s in sender.sent}) == 1


def test_retry_delays_use_full_jitter_below_the_schedule_cap():
    schedule = (5, 30, 120)
    for attempt, cap in ((1, 5), (2, 30), (3, 120), (9, 120)):
        delays = [dispatch.retry_delay(attempt, schedule) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap / 2
        assert min(delays) < cap / 2


def test_the_default_schedule_retries_for_about_a_day():
    conf = parse_settings({"HUB_BASE_URL": "https://hub.example.id"})
    assert conf.retry_window == 86400
    assert conf.retry_schedule[0] == 5
    assert conf.retry_schedule[-1] == 36000
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    now, attempts = start, 0
    while True:
        attempts += 1
        status, due = dispatch.next_state(attempts, start, now, conf)
        if status == "dead":
            break
        now = due
    assert dt.timedelta(hours=14) < now - start <= dt.timedelta(hours=24)
    assert attempts >= 9


def test_redelivery_of_a_dead_delivery_sends_the_same_message_again(setup):
    failing = ScriptedSender(lambda url, body, headers: 503)
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == setup["delivery_id"])
        .values(cycle_started_at=utcnow() - dt.timedelta(days=2))
    )
    db.session.commit()
    assert dispatch.attempt_delivery(setup["delivery_id"], failing) == "dead"
    redeliver(setup["actor"], setup["hook"].id, setup["delivery_id"])
    db.session.commit()
    working = ScriptedSender(lambda url, body, headers: 200)
    assert dispatch.attempt_delivery(setup["delivery_id"], working) == "delivered"
    assert failing.sent[0]["headers"]["webhook-id"] == working.sent[0]["headers"]["webhook-id"]
    assert failing.sent[0]["body"] == working.sent[0]["body"]
    assert _delivery(setup["delivery_id"]).attempts == 2


def test_an_attempt_whose_worker_died_is_taken_over_after_its_lease(setup, app, monkeypatch):
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_TIMEOUT", "1,1")
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_LEASE_MARGIN", "0")
    now = utcnow()
    conf = parse_settings(app.config)
    # A worker claimed the delivery and died before recording anything.
    assert dispatch._claim([setup["delivery_id"]], now, conf) is not None
    assert dispatch.due_delivery_ids(now + dt.timedelta(seconds=1), overdue_by=0) == []
    later = now + dt.timedelta(seconds=conf.lease_seconds + 1)
    assert dispatch.due_delivery_ids(later, overdue_by=0) == [setup["delivery_id"]]
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == setup["delivery_id"])
        .values(lease_until=utcnow() - dt.timedelta(seconds=1))
    )
    db.session.commit()
    sender = ScriptedSender(lambda url, body, headers: 204)
    assert dispatch.attempt_delivery(setup["delivery_id"], sender) == "delivered"
    delivery = _delivery(setup["delivery_id"])
    assert sender.sent[0]["headers"]["webhook-id"] == delivery.message_id
    # The dead worker's attempt counts; only the finished one is logged.
    assert delivery.attempts == 2
    assert [a.number for a in delivery.attempt_log] == [2]


def test_a_late_result_does_not_overrule_a_redelivery_asked_for_meanwhile(setup):
    def answer_while_redelivery_is_requested(url, body, headers):
        redeliver(setup["actor"], setup["hook"].id, setup["delivery_id"])
        db.session.commit()
        return 500

    sender = ScriptedSender(answer_while_redelivery_is_requested)
    dispatch.attempt_delivery(setup["delivery_id"], sender)
    delivery = _delivery(setup["delivery_id"])
    assert delivery.status == "pending"  # the redelivery stands
    assert db.session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 1


def test_a_deleted_subscription_receives_nothing_more(setup):
    delete_webhook(setup["actor"], setup["hook"].id)
    db.session.commit()
    assert _delivery(setup["delivery_id"]).status == "cancelled"
    sender = ScriptedSender(lambda url, body, headers: 204)
    assert dispatch.attempt_delivery(setup["delivery_id"], sender) is None
    assert sender.sent == []


def test_the_secret_is_stored_encrypted_and_bound_to_its_webhook(setup):
    stored = db.session.get(Webhook, setup["hook"].id).secret_ciphertext
    assert setup["secret"] not in stored
    assert setup["secret"][6:] not in stored
    assert stored.startswith("v1.test1.")
    other = Webhook(
        id="other",
        organization_id=setup["hook"].organization_id,
        url="http://127.0.0.1:9/x",
        events=[],
        secret_ciphertext=stored,  # copied from another row
    )
    db.session.add(other)
    db.session.commit()
    item_id = _delivery(setup["delivery_id"]).event_id
    copy = WebhookDelivery(id="d2", webhook_id="other", event_id=item_id, next_attempt_at=utcnow())
    db.session.add(copy)
    db.session.commit()
    sender = ScriptedSender(lambda url, body, headers: 204)
    assert dispatch.attempt_delivery("d2", sender) == "dead"
    assert sender.sent == []
    assert "does not authenticate" in _delivery("d2").last_error


def test_the_payload_is_compact_json_of_type_timestamp_and_data(setup, app):
    delivery = _delivery(setup["delivery_id"])
    body = dispatch.payload(delivery.event, app.config["HUB_BASE_URL"])
    assert json.loads(body)["timestamp"].endswith("Z")
    assert ": " not in body
