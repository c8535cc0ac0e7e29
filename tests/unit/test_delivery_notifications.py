"""Notifications: sent after commit to the right people, in Indonesian, with no personal data."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from referral_hub.accounts.models import User
from referral_hub.db import utcnow
from referral_hub.delivery.mail import MemoryMailer
from referral_hub.delivery.models import Notification
from referral_hub.delivery.notifications import (
    notify_referral_answered,
    notify_referral_overdue,
    notify_referral_received,
    send_notification,
)
from referral_hub.directory.operations import get_organization
from referral_hub.extensions import db
from tests.unit.test_delivery_mail import SMTPServer

NUMBER = "RUJ-2026-000123"


@pytest.fixture
def staff(app_ctx):
    """Users of Balikpapan (recipient) and PPU (sender) in every role, and one who left.

    Made directly (no password to hash): these tests only need their roles and addresses.
    """
    people = {}
    for code in ("uptd-ppa-balikpapan", "uptd-ppa-ppu"):
        org = get_organization(code)
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
    return {c: get_organization(c).id for c in ("uptd-ppa-balikpapan", "uptd-ppa-ppu")}


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
        assert "01-12-2026 09:00 WITA" in body  # respond_by in the hub's time zone
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
