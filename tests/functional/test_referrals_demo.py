"""The demo holds referrals in several states, among them PPU -> Balikpapan still requested."""

from sqlalchemy import select

from referral_hub.demo import load_demo
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral


def test_demo_referrals_load_once_in_several_states(app_ctx):
    first = load_demo()
    db.session.commit()
    assert len(first["referrals_created"]) == 5
    assert load_demo()["referrals_created"] == []
    referrals = db.session.scalars(select(Referral)).all()
    statuses = {r.status for r in referrals}
    assert {"requested", "in-progress", "accepted", "completed", "rejected"} <= statuses
    waiting = [
        r
        for r in referrals
        if r.status == "requested"
        and r.recipient.code == "uptd-ppa-balikpapan"
        and r.service_code == "psychological_counseling"
    ]
    assert waiting
    assert all(r.client.full_name.startswith("Klien Demo") for r in referrals)
