"""Rujukan masuk: the recipient's inbox, minimised detail, answers, sessions, and no leaks.

The referral is sent through the API (tests/referrals_support.py): PPU refers a child to
Balikpapan's clinical psychologist sharing identity and case_summary only, while every other
personal field of the client holds a canary that no page of the recipient may contain.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from referral_hub.clients.models import Disclosure
from referral_hub.extensions import db
from referral_hub.referrals.models import Appointment, Referral
from tests.clients_support import CANARY
from tests.conftest import _csrf_from
from tests.referrals_support import BALIKPAPAN, BONTANG, CASE_CANARY, OPERATOR, PPU, Scenario

#: The recipient may see these (identity, case_summary, and the reason they come with).
RECIPIENT_MAY_SEE = {
    CANARY["full_name"],
    CANARY["nik"],
    CASE_CANARY["chronology"],
    CANARY["reason"],
}
NEVER_FOR_RECIPIENT = {*CANARY.values(), *CASE_CANARY.values()} - RECIPIENT_MAY_SEE
SENDER_ONLY = {"PPU-INTERNAL-42"}  # the sender's own reference


def _browser(app, hub, org: str, role: str = "caseworker"):
    user = hub.user(org, role)
    browser = app.test_client()
    response = hub.login(browser, user["email"])
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser


@pytest.fixture
def world(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.send()
    return s, referral, _browser(app, hub, BALIKPAPAN)


def _page(browser, path: str, status: int = 200) -> str:
    response = browser.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def _post(browser, path: str, data: dict, token_from: str):
    token = _csrf_from(browser.get(token_from).get_data(as_text=True))
    return browser.post(path, data={**data, "csrf_token": token})


def _status(app, referral_id: str) -> str:
    with app.app_context():
        status = db.session.get(Referral, referral_id).status
        db.session.remove()
        return status


def _detail(referral) -> str:
    return f"/referrals/received/{referral['id']}"


def test_the_inbox_lists_the_referral_without_personal_data(world):
    _s, referral, browser = world
    html = _page(browser, "/referrals/received")
    assert referral["number"] in html
    assert _detail(referral) in html
    assert "Konseling psikologis" in html
    assert "Menunggu jawaban" in html
    for canary in {*CANARY.values(), *CASE_CANARY.values()}:
        assert canary not in html, canary


def test_an_overdue_referral_comes_first_and_is_marked(app, world):
    s, referral, browser = world
    later = s.send()
    with app.app_context():
        db.session.execute(
            update(Referral)
            .where(Referral.id == referral["id"])
            .values(respond_by=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
        )
        db.session.commit()
    html = _page(browser, "/referrals/received")
    assert html.index(referral["number"]) < html.index(later["number"])
    row = re.search(r'<tr class="late">.*?</tr>', html, re.S)
    assert row
    assert referral["number"] in row.group(0)
    assert "Terlambat" in row.group(0)
    only_late = _page(browser, "/referrals/received?overdue=1")
    assert referral["number"] in only_late
    assert later["number"] not in only_late
    home = _page(browser, "/")
    assert "Rujukan masuk" in home
    assert referral["number"] in home
    assert "terlambat" in home


def test_the_status_filter(world):
    _s, referral, browser = world
    assert referral["number"] in _page(browser, "/referrals/received?status=requested")
    assert referral["number"] not in _page(browser, "/referrals/received?status=accepted")
    _page(browser, "/referrals/received?status=bogus", 422)


def test_the_detail_shows_only_the_allowed_categories_and_logs_the_read(app, world):
    _s, referral, browser = world
    html = _page(browser, _detail(referral))
    for canary in RECIPIENT_MAY_SEE:
        assert canary in html, canary
    for canary in NEVER_FOR_RECIPIENT | SENDER_ONLY:
        assert canary not in html, canary
    with app.app_context():
        reads = db.session.scalars(
            select(Disclosure).where(Disclosure.kind == "read", Disclosure.actor_kind == "user")
        ).all()
        assert [sorted(d.categories) for d in reads] == [["case_summary", "identity"]]
        db.session.remove()


def test_accept_then_the_page_shows_it_accepted(app, world):
    _s, referral, browser = world
    response = _post(browser, f"{_detail(referral)}/accept", {}, _detail(referral))
    assert response.status_code == 302
    assert response.headers["Location"] == "http://localhost" + _detail(referral)
    html = _page(browser, _detail(referral))
    assert re.search(r'<span class="badge badge-accepted">Diterima</span>', html)
    assert f"Rujukan {referral['number']} diterima." in html
    assert _status(app, referral["id"]) == "accepted"
    assert 'action="/referrals/received/' + referral["id"] + '/accept"' not in html


def test_reject_without_a_reason_shows_the_error_beside_the_field(app, world):
    _s, referral, browser = world
    response = _post(
        browser, f"{_detail(referral)}/reject", {"reject_reason": "  "}, _detail(referral)
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(r'<p class="field-error" id="f-reject_reason-error">(.*?)</p>', html, re.S)
    assert error
    assert "Alasan wajib diisi" in error.group(1)
    assert 'aria-invalid="true"' in html
    assert _status(app, referral["id"]) == "requested"


def test_reject_with_a_reason_then_the_client_is_hidden(app, world):
    _s, referral, browser = world
    response = _post(
        browser,
        f"{_detail(referral)}/reject",
        {"reject_reason": "Psikolog sedang cuti sampai bulan depan."},
        _detail(referral),
    )
    assert response.status_code == 302
    html = _page(browser, _detail(referral))
    assert "Ditolak" in html
    assert "Psikolog sedang cuti" in html
    assert CANARY["full_name"] not in html  # a rejected referral keeps demographics only
    assert _status(app, referral["id"]) == "rejected"


def test_an_answer_already_given_elsewhere_is_a_conflict_with_a_message(app, world):
    s, referral, browser = world
    token = _csrf_from(browser.get(_detail(referral)).get_data(as_text=True))
    s.act(referral["id"], "accept", s.balikpapan)  # a colleague, through the partner system
    response = browser.post(
        f"{_detail(referral)}/reject", data={"reject_reason": "no", "csrf_token": token}
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "tidak dapat" in html
    assert "badge-accepted" in html


def test_schedule_a_session_in_local_time_and_record_attendance(app, world):
    s, referral, browser = world
    s.act(referral["id"], "accept", s.balikpapan)
    response = _post(
        browser,
        f"{_detail(referral)}/appointments",
        {
            "starts_at": "2030-01-02T09:30",
            "mode": "in_person",
            "location": "Ruang konseling 2",
            "practitioner": "Psikolog klinis",
            "duration_minutes": "60",
        },
        _detail(referral),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    with app.app_context():
        appointment = db.session.scalars(select(Appointment)).one()
        # 09:30 WITA (the hub's time zone) is 01:30 UTC.
        assert appointment.starts_at == dt.datetime(2030, 1, 2, 1, 30, tzinfo=dt.UTC)
        appointment_id = appointment.id
        db.session.remove()
    html = _page(browser, _detail(referral))
    assert "Ruang konseling 2" in html
    assert "Terjadwal" in html
    # Not yet: a session in 2030 cannot have been attended. Said in the page, note kept.
    response = _post(
        browser,
        f"{_detail(referral)}/appointments/{appointment_id}",
        {"status": "attended", "note": "Sesi pertama berjalan baik."},
        _detail(referral),
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Kehadiran baru dapat dicatat setelah sesi dimulai." in html
    assert 'value="Sesi pertama berjalan baik."' in html
    # A session that took place two hours ago (the referral was sent the day before).
    with app.app_context():
        db.session.execute(
            update(Referral)
            .where(Referral.id == referral["id"])
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        )
        db.session.commit()
    two_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    local = two_hours_ago.astimezone(dt.timezone(dt.timedelta(hours=8)))
    _post(
        browser,
        f"{_detail(referral)}/appointments",
        {"starts_at": local.strftime("%Y-%m-%dT%H:%M"), "mode": "phone"},
        _detail(referral),
    )
    with app.app_context():
        past = db.session.scalars(select(Appointment).where(Appointment.mode == "phone")).one()
        past_id = past.id
        db.session.remove()
    response = _post(
        browser,
        f"{_detail(referral)}/appointments/{past_id}",
        {"status": "attended", "note": "Sesi pertama berjalan baik."},
        _detail(referral),
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Appointment, past_id).status == "attended"
        assert db.session.get(Appointment, appointment_id).status == "scheduled"
        db.session.remove()


def test_a_session_before_the_referral_was_sent_is_refused_beside_its_time(app, world):
    s, referral, browser = world
    s.act(referral["id"], "accept", s.balikpapan)
    response = _post(
        browser,
        f"{_detail(referral)}/appointments",
        {"starts_at": "2020-01-02T09:30", "mode": "in_person", "location": "Ruang konseling 2"},
        _detail(referral),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(r'id="f-starts_at-error">(.*?)</p>', html, re.S)
    assert error is not None
    assert "sebelum rujukan dikirim" in error.group(1)
    assert 'value="2020-01-02T09:30"' in html
    assert 'value="Ruang konseling 2"' in html  # what was typed stays
    with app.app_context():
        assert db.session.scalars(select(Appointment)).all() == []
        db.session.remove()


def test_a_session_time_beyond_what_utc_can_write_is_refused_beside_it(app, world):
    # Midnight of year 1 in WITA was in year 0 in UTC; an explicit offset on the last day of
    # 9999 reaches year 10000: both refused beside the field, not a 500.
    s, referral, browser = world
    s.act(referral["id"], "accept", s.balikpapan)
    for moment in ("0001-01-01T00:00", "9999-12-31T23:59:00-23:59"):
        response = _post(
            browser,
            f"{_detail(referral)}/appointments",
            {"starts_at": moment, "mode": "phone"},
            _detail(referral),
        )
        assert response.status_code == 422, moment
        html = response.get_data(as_text=True)
        assert re.search(r'id="f-starts_at-error">(.*?)</p>', html, re.S) is not None
    with app.app_context():
        assert db.session.scalars(select(Appointment)).all() == []
        db.session.remove()


def test_a_session_needs_a_time_and_a_known_mode(world):
    s, referral, browser = world
    s.act(referral["id"], "accept", s.balikpapan)
    response = _post(
        browser,
        f"{_detail(referral)}/appointments",
        {"starts_at": "besok pagi", "mode": "telepathy", "location": "Ruang 7"},
        _detail(referral),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="f-starts_at-error"' in html
    assert 'id="f-mode-error"' in html
    assert 'value="Ruang 7"' in html  # what was typed stays


def test_start_hold_resume_and_complete_with_an_outcome(app, world):
    s, referral, browser = world
    s.act(referral["id"], "accept", s.balikpapan)
    detail = _detail(referral)
    assert _post(browser, f"{detail}/start", {}, detail).status_code == 302
    response = _post(browser, f"{detail}/hold", {"hold_reason": ""}, detail)
    assert response.status_code == 422
    assert 'id="f-hold_reason-error"' in response.get_data(as_text=True)
    assert (
        _post(browser, f"{detail}/hold", {"hold_reason": "Klien sakit"}, detail).status_code == 302
    )
    assert _post(browser, f"{detail}/resume", {}, detail).status_code == 302
    response = _post(browser, f"{detail}/complete", {"outcome": "made_up"}, detail)
    assert response.status_code == 422
    assert 'id="f-outcome-error"' in response.get_data(as_text=True)
    response = _post(
        browser,
        f"{detail}/complete",
        {"outcome": "service_delivered", "summary": "Enam sesi selesai."},
        detail,
    )
    assert response.status_code == 302
    html = _page(browser, detail)
    assert "Layanan diberikan" in html
    assert "Enam sesi selesai." in html
    assert _status(app, referral["id"]) == "completed"


def test_another_organisation_gets_404_for_page_and_actions(app, hub, world):
    _s, referral, _recipient = world
    bontang = _browser(app, hub, BONTANG)
    _page(bontang, _detail(referral), 404)
    response = _post(bontang, f"{_detail(referral)}/accept", {}, "/referrals/received")
    assert response.status_code == 404
    assert _status(app, referral["id"]) == "requested"
    # The sender reads its referral on its own pages, not as a recipient.
    ppu = _browser(app, hub, PPU)
    _page(ppu, _detail(referral), 404)


@pytest.mark.parametrize(("org", "role"), [(BALIKPAPAN, "org_admin"), (BALIKPAPAN, "auditor")])
def test_only_caseworkers_and_supervisors_open_the_inbox(app, hub, org, role):
    browser = _browser(app, hub, org, role)
    _page(browser, "/referrals/received", 403)


def test_the_hub_operator_receives_no_referrals(app, hub):
    browser = _browser(app, hub, OPERATOR, "caseworker")
    _page(browser, "/referrals/received", 403)


def test_an_action_without_the_csrf_token_is_refused(app, world):
    _s, referral, browser = world
    response = browser.post(f"{_detail(referral)}/accept", data={})
    assert response.status_code == 400
    assert "Formulir tidak dikirim" in response.get_data(as_text=True)
    assert _status(app, referral["id"]) == "requested"


def _portal_get_paths(app, ids: dict[str, str]):
    """Every portal page of the URL map (not the API), with the scenario's ids filled in."""
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/api/", "/static")):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:[^:>]+:)?{name}>", ids.get(name, "x"), path)
        yield path


def test_no_page_a_recipient_can_reach_holds_what_it_may_not_see(app, world):
    s, referral, browser = world
    s.act(referral["id"], "accept", s.balikpapan)
    ids = {
        "referral_id": referral["id"],
        "client_id": s.client["id"],
        "consent_id": s.consent["id"],
        "agreement_id": s.agreement_id,
    }
    searched = 0
    for path in _portal_get_paths(app, ids):
        response = browser.get(path)
        assert response.status_code < 500, (path, response.status_code)
        body = response.get_data(as_text=True)
        searched += 1
        for canary in NEVER_FOR_RECIPIENT | SENDER_ONLY:
            assert canary not in body, (path, canary)
    assert searched > 10
