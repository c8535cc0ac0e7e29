"""Sessions keep to the referral's clock: none before the referral was sent, and none recorded
as attended or missed before it starts."""

from __future__ import annotations

import datetime as dt

import time_machine

from tests.conftest import problem
from tests.referrals_support import ALL_REFERRAL_SCOPES, BALIKPAPAN, Scenario


def _at(moment: dt.datetime) -> str:
    return moment.isoformat()


def _schedule(s: Scenario, referral: dict, starts_at: dt.datetime, headers=None):
    return s.http.post(
        f"/api/v1/referrals/{referral['id']}/appointments",
        json={"starts_at": _at(starts_at), "mode": "in_person"},
        headers=headers or s.balikpapan,
    )


def _patch(s: Scenario, referral: dict, appointment_id: str, body: dict, headers=None):
    return s.http.patch(
        f"/api/v1/referrals/{referral['id']}/appointments/{appointment_id}",
        json=body,
        headers=headers or s.balikpapan,
    )


def test_a_session_before_the_referral_was_sent_is_refused(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.in_status("accepted")
    sent_at = dt.datetime.fromisoformat(referral["created_at"])
    before = sent_at - dt.timedelta(minutes=1)

    refused = _schedule(s, referral, before)
    assert refused.status_code == 422, refused.get_data(as_text=True)
    body = problem(refused)
    assert list(body["errors"]) == ["starts_at"]
    assert "before the referral was sent" in body["errors"]["starts_at"][0]

    scheduled = _schedule(s, referral, sent_at + dt.timedelta(hours=2))
    assert scheduled.status_code == 201, scheduled.get_data(as_text=True)
    moved = _patch(s, referral, scheduled.get_json()["id"], {"starts_at": _at(before)})
    assert moved.status_code == 422
    assert list(problem(moved)["errors"]) == ["starts_at"]
    listed = client.get(f"/api/v1/referrals/{referral['id']}", headers=s.balikpapan).get_json()
    assert [a["starts_at"] for a in listed["appointments"]] == [scheduled.get_json()["starts_at"]]


def test_attendance_is_recorded_only_once_the_session_has_started(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.in_status("accepted")
    starts_at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    appointment = _schedule(s, referral, starts_at).get_json()

    for outcome in ("attended", "no_show"):
        early = _patch(s, referral, appointment["id"], {"status": outcome, "note": "datang"})
        assert early.status_code == 409, early.get_data(as_text=True)
        assert "has not started" in problem(early)["detail"]
    # Cancelling a session that has not started is what cancelling is for.
    other = _schedule(s, referral, starts_at).get_json()
    assert _patch(s, referral, other["id"], {"status": "cancelled"}).status_code == 200

    with time_machine.travel(starts_at + dt.timedelta(minutes=5)):
        later = hub.headers(BALIKPAPAN, ALL_REFERRAL_SCOPES)  # tokens live an hour
        attended = _patch(s, referral, appointment["id"], {"status": "attended"}, later)
    assert attended.status_code == 200, attended.get_data(as_text=True)
    assert attended.get_json()["status"] == "attended"


def test_a_session_recorded_at_the_time_it_really_took_place(app, client, hub):
    # The session happened earlier than planned: moved to that time and recorded at once.
    s = Scenario(app, client, hub)
    referral = s.in_status("accepted")
    appointment = _schedule(s, referral, dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    happened = dt.datetime.now(dt.UTC)
    response = _patch(
        s, referral, appointment.get_json()["id"], {"status": "no_show", "starts_at": _at(happened)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "no_show"


def test_a_time_that_has_no_utc_instant_is_refused_not_a_500(app, client, hub):
    # The offset is legal RFC 3339, but the instant falls outside the years 1 to 9999 once
    # written in UTC: it is refused as a bad time, on scheduling and on moving alike.
    s = Scenario(app, client, hub)
    referral = s.in_status("accepted")
    scheduled = _schedule(s, referral, dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    assert scheduled.status_code == 201, scheduled.get_data(as_text=True)
    url = f"/api/v1/referrals/{referral['id']}/appointments"
    for moment in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"):
        created = client.post(
            url, json={"starts_at": moment, "mode": "phone"}, headers=s.balikpapan
        )
        assert created.status_code == 422, created.get_data(as_text=True)
        assert list(problem(created)["errors"]) == ["starts_at"]
        moved = _patch(s, referral, scheduled.get_json()["id"], {"starts_at": moment})
        assert moved.status_code == 422, moved.get_data(as_text=True)
        assert list(problem(moved)["errors"]) == ["starts_at"]
