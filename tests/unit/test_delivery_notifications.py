"""Notifications: sent after commit to the right people, in Indonesian, with no personal data."""

from __future__ import annotations

import datetime as dt

import pytest
from redis import Redis
from sqlalchemy import select, update

from referral_hub.accounts.models import User
from referral_hub.db import utcnow
from referral_hub.delivery import notifications, tasks
from referral_hub.delivery.jobs import JOB_OPTIONS, SEND_NOTIFICATIONS, coalesce_key
from referral_hub.delivery.mail import MemoryMailer
from referral_hub.delivery.models import Notification
from referral_hub.delivery.notifications import (
    BATCH,
    claim_due_notifications,
    notify_referral_answered,
    notify_referral_overdue,
    notify_referral_received,
    send_due_notifications,
    send_notification,
)
from referral_hub.delivery.queues import MAIL, QUEUES, WEBHOOKS
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from tests.delivery_support import redis_db_url
from tests.unit.test_delivery_mail import SMTPServer

NUMBER = "RUJ-2026-000123"


@pytest.fixture
def staff(app_ctx):
    """Users of Balikpapan (recipient) and PPU (sender) in every role, and one who left.

    Made directly (no password to hash): these tests only need their roles and addresses.
    """
    people = {}
    for code in ("uptd-ppa-balikpapan", "uptd-ppa-ppu"):
        org = find_organization(code)
        for role in ("caseworker", "supervisor", "org_admin", "auditor", "left"):
            email = f"{role}.{code}@test.example"
            db.session.add(
                User(
                    organization_id=org.id,
                    email=email,
                    name=f"{role} {code}",
                    role="caseworker" if role == "left" else role,
                    active=role != "left",
                    password_hash="!",
                )
            )
            people[(code, role)] = email
    db.session.commit()
    return people


@pytest.fixture
def org_ids(app_ctx):
    return {c: find_organization(c).id for c in ("uptd-ppa-balikpapan", "uptd-ppa-ppu")}


def _send_all(mailer=None):
    ids = db.session.scalars(select(Notification.id).order_by(Notification.created_at)).all()
    return [send_notification(i, mailer) for i in ids]


def test_a_received_referral_is_mailed_to_the_recipients_staff_over_real_smtp(
    app, staff, org_ids, monkeypatch
):
    with SMTPServer() as server:
        monkeypatch.setitem(app.config, "HUB_SMTP_URL", f"smtp://127.0.0.1:{server.port}")
        notify_referral_received(
            NUMBER,
            org_ids["uptd-ppa-balikpapan"],
            "/portal/referrals/abc",
            respond_by=dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC),
            urgency="urgent",
        )
        db.session.commit()
        assert _send_all() == ["sent"]
        recipients = sorted(m["To"] for m in server.messages)
        assert recipients == sorted(
            [
                staff[("uptd-ppa-balikpapan", "caseworker")],
                staff[("uptd-ppa-balikpapan", "supervisor")],
            ]
        )
        message = server.messages[0]
        body = message.get_content()
        assert (
            message["Subject"] == f"[Rujukan {NUMBER}] Rujukan baru untuk UPTD PPA Kota Balikpapan"
        )
        assert NUMBER in body
        assert "menunggu tanggapan" in body
        assert "mendesak" in body
        assert f"{app.config['HUB_BASE_URL']}/portal/referrals/abc" in body
        assert "1 Des 2026, 09.00 WITA" in body  # respond_by as every page writes it
        assert "tidak memuat data pribadi" in body


def test_an_answer_goes_to_the_sender_and_overdue_to_both_sides(staff, org_ids):
    mailer = MemoryMailer()
    notify_referral_answered(NUMBER, org_ids["uptd-ppa-ppu"], "rejected", "/portal/referrals/abc")
    notify_referral_overdue(
        NUMBER,
        sender_org_id=org_ids["uptd-ppa-ppu"],
        recipient_org_id=org_ids["uptd-ppa-balikpapan"],
        link="/portal/referrals/abc",
    )
    db.session.commit()
    assert _send_all(mailer) == ["sent", "sent", "sent"]
    sent = [(m["To"], m["Subject"]) for m in mailer.outbox]
    answered = [to for to, subject in sent if "ditolak" in subject]
    overdue = sorted(to for to, subject in sent if "batas waktu" in subject)
    assert sorted(answered) == sorted(
        [staff[("uptd-ppa-ppu", "caseworker")], staff[("uptd-ppa-ppu", "supervisor")]]
    )
    assert overdue == sorted(
        [
            staff[("uptd-ppa-balikpapan", "caseworker")],
            staff[("uptd-ppa-balikpapan", "supervisor")],
            staff[("uptd-ppa-ppu", "supervisor")],
        ]
    )
    sender_copy = next(
        m
        for m in mailer.outbox
        if m["To"] == staff[("uptd-ppa-ppu", "supervisor")] and "batas waktu" in m["Subject"]
    )
    assert "tindak lanjuti dengan lembaga penerima" in sender_copy.get_content()


def test_nothing_is_sent_for_a_rolled_back_change(staff, org_ids):
    notify_referral_received(NUMBER, org_ids["uptd-ppa-balikpapan"], "/portal/referrals/abc")
    db.session.rollback()
    assert db.session.scalars(select(Notification)).all() == []


def test_personal_data_cannot_be_put_in_a_notification(org_ids):
    with pytest.raises(ValueError, match=r"personal data|NIK"):
        notify_referral_received("6409012345678901", org_ids["uptd-ppa-balikpapan"], "/x")


def test_a_mail_outage_is_retried_without_mailing_anyone_twice(staff, org_ids, app, monkeypatch):
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_RETRY_SCHEDULE", "60")
    note = notify_referral_received(NUMBER, org_ids["uptd-ppa-balikpapan"], "/x")
    db.session.commit()

    class FailsAfterOne(MemoryMailer):
        def send(self, message):
            if self.outbox:
                self.unreachable = True
            super().send(message)

    first = FailsAfterOne()
    assert send_notification(note.id, first) == "retrying"
    stored = db.session.get(Notification, note.id)
    assert len(stored.sent_to) == 1
    assert stored.last_error.startswith("ConnectionRefused")
    assert stored.next_attempt_at > utcnow()
    assert send_notification(note.id, MemoryMailer()) is None  # not due yet
    db.session.execute(
        update(Notification).where(Notification.id == note.id).values(next_attempt_at=utcnow())
    )
    db.session.commit()
    second = MemoryMailer()
    assert send_notification(note.id, second) == "sent"
    assert len(first.outbox) == 1
    assert len(second.outbox) == 1
    assert first.outbox[0]["To"] != second.outbox[0]["To"]


def _received(org_ids, count):
    notes = []
    for n in range(count):
        notes.append(
            notify_referral_received(
                f"RUJ-2026-{n:06d}", org_ids["uptd-ppa-balikpapan"], f"/portal/referrals/{n}"
            )
        )
        db.session.commit()
    return [note.id for note in notes]


def test_two_senders_claim_disjoint_batches_of_due_notifications(staff, org_ids):
    ids = _received(org_ids, 5)
    first = claim_due_notifications(limit=3)
    second = claim_due_notifications(limit=3)
    assert len(first) == 3
    assert len(second) == 2
    assert set(first) | set(second) == set(ids)
    assert claim_due_notifications(limit=3) == []  # all leased


def test_one_job_sends_every_due_notification_once_in_batches(staff, org_ids):
    ids = _received(org_ids, 7)
    mailer = MemoryMailer()
    sent = []
    while (batch := send_due_notifications(limit=3, mailer=mailer)) != (0, False):
        sent.append(batch[0])
    assert sent == [3, 3, 1]
    assert {db.session.get(Notification, i).status for i in ids} == {"sent"}
    # Two recipients (caseworker and supervisor) per notification, nobody twice.
    pairs = [(m["To"], m["Subject"]) for m in mailer.outbox]
    assert len(pairs) == 14
    assert len(set(pairs)) == 14
    assert send_due_notifications(mailer=MemoryMailer()) == (0, False)


def test_a_mail_outage_stops_the_batch_and_leaves_the_rest_due_and_uncounted(
    staff, org_ids, app, monkeypatch
):
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_RETRY_SCHEDULE", "60")
    ids = _received(org_ids, 4)
    assert send_due_notifications(limit=4, mailer=MemoryMailer(unreachable=True)) == (1, True)
    notes = [db.session.get(Notification, i) for i in ids]
    failed = [n for n in notes if n.status == "retrying"]
    assert len(failed) == 1
    assert failed[0].attempts == 1
    # One failure says the server is down: the others are not tried, not counted, not leased.
    rest = [n for n in notes if n.status == "pending"]
    assert len(rest) == 3
    assert {(n.attempts, n.lease_until) for n in rest} == {(0, None)}
    assert sorted(claim_due_notifications(limit=10)) == sorted(n.id for n in rest)


def test_a_notification_that_fails_for_its_own_reason_waits_alone(staff, org_ids, app, monkeypatch):
    # Not a mail-server failure (a template fault, a bug): only that notification waits
    # for its retry, the rest of the batch goes out, and it is retired after its attempts.
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_RETRY_SCHEDULE", "60")
    ids = _received(org_ids, 4)
    bad = ids[0]
    real_render = notifications.render

    def render(kind, context, organization):
        if context["referral_number"] == "RUJ-2026-000000":
            raise RuntimeError("template fault")
        return real_render(kind, context, organization)

    monkeypatch.setattr(notifications, "render", render)
    mailer = MemoryMailer()
    assert send_due_notifications(limit=4, mailer=mailer) == (4, False)
    assert len(mailer.outbox) == 6  # the three others, to two people each
    note = db.session.get(Notification, bad)
    assert (note.status, note.attempts, note.lease_until) == ("retrying", 1, None)
    assert "template fault" in note.last_error
    assert note.next_attempt_at > utcnow()
    assert {db.session.get(Notification, i).status for i in ids[1:]} == {"sent"}
    db.session.execute(
        update(Notification)
        .where(Notification.id == bad)
        .values(attempts=notifications.MAX_ATTEMPTS - 1, next_attempt_at=utcnow())
    )
    db.session.commit()
    assert send_due_notifications(limit=4, mailer=mailer) == (1, False)
    db.session.expire_all()
    assert db.session.get(Notification, bad).status == "dead"


def test_a_batch_starts_no_note_once_told_to_stop_and_gives_the_rest_back(staff, org_ids):
    # The mail job's deadline (well inside rq's job timeout) and a worker's warm shutdown
    # are checked before each notification, not only between batches.
    ids = _received(org_ids, 4)
    calls = []

    def stop_after_one() -> bool:
        calls.append(1)
        return len(calls) > 1

    mailer = MemoryMailer()
    assert send_due_notifications(limit=4, mailer=mailer, should_stop=stop_after_one) == (
        1,
        False,
    )
    notes = [db.session.get(Notification, i) for i in ids]
    assert sorted(n.status for n in notes) == ["pending", "pending", "pending", "sent"]
    rest = [n for n in notes if n.status == "pending"]
    assert {(n.attempts, n.lease_until) for n in rest} == {(0, None)}


def test_notifications_queue_one_mail_job_and_the_sweeper_queues_no_duplicate(
    staff, org_ids, app, redis_url, monkeypatch
):
    url = redis_db_url(redis_url, 2)
    connection = Redis.from_url(url)
    connection.flushdb()
    monkeypatch.setitem(app.config, "HUB_REDIS_URL", url)
    _received(org_ids, 3)
    mail = JOB_OPTIONS[SEND_NOTIFICATIONS]["queue"]
    queued = {name: connection.llen(f"rq:queue:{name}") for name in QUEUES}
    assert queued == {name: 1 if name == mail else 0 for name in QUEUES}
    monkeypatch.setitem(app.config, "HUB_OUTBOX_SWEEP_AFTER", "0")
    assert tasks.sweep_outbox()["notifications"] == 3
    assert connection.llen(f"rq:queue:{mail}") == 1  # its job is only waiting: none added
    # A job lost with its worker leaves a mark that expires; the sweeper then queues one.
    connection.delete(coalesce_key(SEND_NOTIFICATIONS, ()))
    tasks.sweep_outbox()
    tasks.sweep_outbox()
    assert connection.llen(f"rq:queue:{mail}") == 2
    connection.flushdb()


@pytest.fixture
def memory_mailer(app, monkeypatch):
    mailer = MemoryMailer()
    monkeypatch.setitem(app.extensions.setdefault("hub_delivery", {}), "mailer", mailer)
    return mailer


def test_the_mail_job_sends_batch_after_batch_until_none_is_due(staff, org_ids, memory_mailer):
    ids = _received(org_ids, BATCH + 5)
    tasks.send_notifications()
    assert {db.session.get(Notification, i).status for i in ids} == {"sent"}
    assert len(memory_mailer.outbox) == 2 * len(ids)


def test_the_mail_job_sends_a_batch_then_steps_aside_for_waiting_webhook_work(
    staff, org_ids, app, redis_url, monkeypatch, memory_mailer
):
    url = redis_db_url(redis_url, 2)
    connection = Redis.from_url(url)
    connection.flushdb()
    monkeypatch.setitem(app.config, "HUB_REDIS_URL", url)
    ids = _received(org_ids, BATCH + 3)
    connection.rpush(f"rq:queue:{WEBHOOKS}", "a-drain-job")
    connection.delete(f"rq:queue:{MAIL}")
    tasks.send_notifications()
    # One batch goes out whatever waits (steady webhook traffic cannot starve e-mail); then
    # the job queues itself again, behind the webhook work.
    statuses = [db.session.get(Notification, i).status for i in ids]
    assert statuses.count("sent") == BATCH
    assert statuses.count("pending") == 3
    assert len(memory_mailer.outbox) == 2 * BATCH
    assert connection.llen(f"rq:queue:{MAIL}") == 1
    connection.flushdb()
