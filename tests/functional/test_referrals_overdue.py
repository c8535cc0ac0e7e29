"""Referrals past respond_by are announced once: event, audit and e-mail to both sides."""

from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import select

from referral_hub.delivery.models import Event, Notification
from referral_hub.extensions import db
from referral_hub.referrals.operations import sweep_overdue_referrals
from tests.referrals_support import Scenario


def test_overdue_is_announced_once(app, client, hub):
    s = Scenario(app, client, hub)
    late = s.send(urgency="emergency")
    on_time = s.send()
    listed = client.get("/api/v1/referrals?box=received&overdue=true", headers=s.balikpapan)
    assert listed.get_json()["total"] == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    with time_machine.travel(later), app.app_context():
        assert sweep_overdue_referrals() == [late["number"]]
        db.session.commit()
        assert sweep_overdue_referrals() == []
        db.session.commit()
        events = db.session.scalars(select(Event).where(Event.type == "referral.overdue")).all()
        assert [e.subject_id for e in events] == [late["id"]]
        kinds = db.session.scalars(
            select(Notification.kind).where(Notification.kind == "referral_overdue")
        ).all()
        assert len(kinds) == 2  # the recipient's staff and the sender's supervisors
        db.session.remove()
        headers = hub.headers("uptd-ppa-balikpapan", "referrals:read")
        body = client.get("/api/v1/referrals?box=received&overdue=true", headers=headers).get_json()
    assert [item["id"] for item in body["items"]] == [late["id"]]
    assert body["items"][0]["overdue"] is True
    assert on_time["id"] not in {item["id"] for item in body["items"]}
