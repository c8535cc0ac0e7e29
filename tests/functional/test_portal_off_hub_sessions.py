"""A partner not on the hub tells the sender how a session went (by phone, by letter): the
sender records attended, no-show or cancelled on its behalf, marked as such; once the partner
is on the hub, the forms are gone and a late update is refused."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from referral_hub.extensions import db
from referral_hub.referrals.models import Appointment
from tests.offhub_support import take_off_hub
from tests.portal_sender_support import post, signed_in
from tests.referrals_support import BALIKPAPAN, PPU, Scenario

HOW = "telepon dari psikolog mitra"


def _sessions(app, referral_id: str) -> list[tuple[str, str, bool]]:
    with app.app_context():
        rows = db.session.execute(
            select(Appointment.id, Appointment.status, Appointment.recorded_on_behalf)
            .where(Appointment.referral_id == referral_id)
            .order_by(Appointment.starts_at)
        ).all()
        db.session.remove()
        return [tuple(r) for r in rows]


def _has_begun(app, appointment_id: str) -> None:
    """The session's time has come (a minute ago)."""
    with app.app_context():
        appointment = db.session.get(Appointment, appointment_id)
        appointment.starts_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        db.session.commit()
        db.session.remove()


def _accepted_with_two_sessions(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.send()
    take_off_hub(app, BALIKPAPAN)
    browser = signed_in(app, hub, PPU, "caseworker", "pengirim@ppu.test")
    url = f"/referrals/{referral['id']}"
    assert post(browser, f"{url}/on-behalf", {"answer": "accept", "how": HOW}).status_code == 302
    for days in (2, 9):
        starts = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")
        made = post(
            browser,
            f"{url}/on-behalf/session",
            {"starts_at": starts, "mode": "in_person", "session_how": HOW},
        )
        assert made.status_code == 302, made.get_data(as_text=True)[:800]
    return referral, browser, url


def test_the_sender_records_a_cancellation_and_attendance_on_the_partners_behalf(app, client, hub):
    referral, browser, url = _accepted_with_two_sessions(app, client, hub)
    (first, _, _), (second, _, _) = _sessions(app, referral["id"])
    page = browser.get(url).get_data(as_text=True)
    assert f"/on-behalf/session/{first}" in page
    assert f"/on-behalf/session/{second}" in page

    cancelled = post(
        browser, f"{url}/on-behalf/session/{second}", {"status": "cancelled", "update_how": HOW}
    )
    assert cancelled.status_code == 302, cancelled.get_data(as_text=True)[:800]
    # Attendance of a session that has not started waits, said beside its form.
    early = post(
        browser, f"{url}/on-behalf/session/{first}", {"status": "attended", "update_how": HOW}
    )
    assert early.status_code == 409
    assert f'id="f-update-how-{first}"' in early.get_data(as_text=True)
    assert "belum dimulai" in early.get_data(as_text=True)
    _has_begun(app, first)
    attended = post(
        browser, f"{url}/on-behalf/session/{first}", {"status": "attended", "update_how": HOW}
    )
    assert attended.status_code == 302, attended.get_data(as_text=True)[:800]
    assert _sessions(app, referral["id"]) == [
        (first, "attended", True),
        (second, "cancelled", True),
    ]
    page = browser.get(url).get_data(as_text=True)
    assert f"/on-behalf/session/{first}" not in page  # nothing left to record
    assert f"dicatat oleh pengirim atas nama mitra: {HOW}" in page


def test_without_how_it_came_nothing_is_recorded(app, client, hub):
    referral, browser, url = _accepted_with_two_sessions(app, client, hub)
    (first, _, _), _ = _sessions(app, referral["id"])
    refused = post(browser, f"{url}/on-behalf/session/{first}", {"status": "no_show"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert f'id="f-update-how-{first}-error"' in html
    assert 'aria-invalid="true"' in html
    assert _sessions(app, referral["id"])[0][1] == "scheduled"


def test_once_the_partner_is_on_the_hub_it_updates_its_own_sessions(app, client, hub):
    referral, browser, url = _accepted_with_two_sessions(app, client, hub)
    (first, _, _), _ = _sessions(app, referral["id"])
    hub.user(BALIKPAPAN, "caseworker", "psikolog@balikpapan.test")
    assert "/on-behalf/session/" not in browser.get(url).get_data(as_text=True)
    late = post(
        browser, f"{url}/on-behalf/session/{first}", {"status": "cancelled", "update_how": HOW}
    )
    assert late.status_code == 409
    assert "sudah memakai hub dan menjawab sendiri" in late.get_data(as_text=True)
    assert _sessions(app, referral["id"])[0][1] == "scheduled"
