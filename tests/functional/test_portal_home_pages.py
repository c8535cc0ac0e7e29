"""Each role's start page shows its day's work, from the operations that decide it.

Caseworker: her open cases, her follow-ups due, the referrals waiting for an answer.
Partner staff: the agenda of sessions (today and the coming days) and the referrals waiting
for their answer. Administrator: agreements ending soon, partners not on the hub. Auditor:
the chain's status from the newest checkpoint (a cheap check, not the full verification)
and the recent sensitive actions in words, by number, linking to the log filtered.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.audit.checkpoints import sign_checkpoint
from referral_hub.cases.models import Case
from referral_hub.clients import operations as clients
from referral_hub.clock import local_date
from referral_hub.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from referral_hub.extensions import db
from referral_hub.referrals import operations as referrals
from referral_hub.referrals.models import Appointment, Referral
from tests.clients_support import CANARY
from tests.orgs import BALIKPAPAN, OPERATOR, POLRES, PPU
from tests.referrals_support import CASE_CANARY, Scenario


def _demo(app) -> None:
    with app.app_context():
        load_demo()
        db.session.commit()
        db.session.remove()


def _home(app, hub, email: str, totp: str | None = DEMO_TOTP_SECRET) -> str:
    browser = app.test_client()
    response = hub.login(browser, email, DEMO_PASSWORD, totp)
    assert response.status_code == 302, email
    page = browser.get("/")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _section(html: str, panel: str) -> str:
    """The start page's panel of that name (its <section>), or '' when it is not shown."""
    match = re.search(
        rf'<section class="panel" aria-labelledby="panel-{panel}">(.*?)</section>', html, re.S
    )
    return match.group(1) if match else ""


def _actor(email: str) -> Actor:
    return Actor.for_user(db.session.scalar(select(User).where(User.email == email)))


# --- caseworker ------------------------------------------------------------------------------


def test_the_caseworker_sees_her_open_cases_follow_ups_and_referrals_waiting(app, hub):
    _demo(app)
    with app.app_context():
        mine = db.session.scalars(
            select(Case)
            .join(User, User.id == Case.caseworker_id)
            .where(User.email == "caseworker@ppu.demo", Case.status == "open")
        ).all()
        assert mine, "the demo gives the PPU caseworker an open case"
        others = db.session.scalars(
            select(Case.number).where(Case.id.not_in([c.id for c in mine]))
        ).all()
        waiting = db.session.scalars(
            select(Referral.number).join(Referral.sender).where(Referral.status == "requested")
        ).all()
        numbers = [(c.number, c.client.code) for c in mine]
        db.session.remove()
    page = _home(app, hub, "caseworker@ppu.demo", None)
    cases = _section(page, "case_follow_ups")
    assert f"Kasus terbuka ({len(numbers)})" in cases
    for number, code in numbers:
        assert number in cases
        assert code in cases
    for number in others:  # another unit's case, or a closed one: not hers to work on
        assert number not in cases
    assert "Tindak lanjut jatuh tempo" in cases
    sent = _section(page, "sent-referrals")
    assert "Menunggu jawaban" in sent
    assert any(number in sent for number in waiting)


def test_the_caseworker_s_e_mail_may_wrap_before_its_at_sign_never_inside_a_word(app, hub):
    _demo(app)
    page = _home(app, hub, "caseworker@ppu.demo", None)
    assert '<span class="email"><span>caseworker</span><span>@ppu.demo</span></span>' in page


# --- partner staff ---------------------------------------------------------------------------


def _schedule(app, email: str, number: str, starts_at: dt.datetime, place: str) -> None:
    with app.app_context():
        referral = db.session.scalar(select(Referral).where(Referral.number == number))
        referrals.schedule_appointment(
            _actor(email),
            referral.id,
            {"starts_at": starts_at, "mode": "in_person", "location": place},
        )
        db.session.commit()
        db.session.remove()


def _accepted_by(app, org_code: str) -> list[str]:
    with app.app_context():
        numbers = db.session.scalars(
            select(Referral.number)
            .join(Referral.recipient)
            .where(Referral.recipient.has(code=org_code), Referral.status == "accepted")
            .order_by(Referral.number)
        ).all()
        db.session.remove()
    return list(numbers)


def test_a_partner_s_agenda_lists_its_sessions_today_and_the_coming_days_only(app, hub):
    _demo(app)
    police = _accepted_by(app, POLRES)
    assert police, "the demo gives the police accepted referrals"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    soon = now + dt.timedelta(minutes=2)
    _schedule(app, "penyidik@polres-ppu.demo", police[0], soon, "Ruang PPA Polres")
    _schedule(
        app, "penyidik@polres-ppu.demo", police[0], now + dt.timedelta(days=9), "Terlalu jauh"
    )
    page = _home(app, hub, "penyidik@polres-ppu.demo", None)
    agenda = _section(page, "session-agenda")
    assert police[0] in agenda
    assert "Ruang PPA Polres" in agenda
    assert "Tatap muka" in agenda
    assert "Terlalu jauh" not in agenda  # beyond today and the six days after it
    with app.app_context():
        from referral_hub.portal.moments import moment

        with app.test_request_context():
            assert moment(soon) in agenda  # the hub's one format, its zone named
        if local_date(soon) == local_date(now):
            assert "Hari ini" in agenda
        # Another partner's sessions (the demo's, at Balikpapan) are never in this agenda.
        theirs = db.session.scalars(
            select(Referral.number)
            .join(Appointment, Appointment.referral_id == Referral.id)
            .where(Referral.recipient.has(code=BALIKPAPAN))
        ).all()
        db.session.remove()
    assert theirs
    for number in theirs:
        assert number not in agenda
    assert "Ruang konseling UPTD PPA Kota Balikpapan" not in agenda


def test_the_agenda_comes_from_the_operation_and_leaves_out_cancelled_sessions(app, hub):
    _demo(app)
    with app.app_context():
        psychologist = _actor("psikolog@balikpapan.demo")
        sessions = referrals.upcoming_sessions(psychologist)
        assert sessions
        assert all(s["status"] == "scheduled" for s in sessions)
        first = sessions[0]
        referrals.update_appointment(
            psychologist, first["referral_id"], first["id"], {"status": "cancelled"}
        )
        db.session.commit()
        left = [s["id"] for s in referrals.upcoming_sessions(psychologist)]
        assert first["id"] not in left
        # The sender's caseworker has no agenda of PPU's sessions at Balikpapan.
        assert referrals.upcoming_sessions(_actor("caseworker@ppu.demo")) == []
        db.session.remove()


def test_a_partner_sees_its_referrals_waiting_for_an_answer_with_their_due_time(app, hub):
    _demo(app)
    with app.app_context():
        waiting = db.session.scalars(
            select(Referral.number).where(
                Referral.recipient.has(code=BALIKPAPAN), Referral.status == "requested"
            )
        ).all()
        db.session.remove()
    assert waiting
    received = _section(_home(app, hub, "psikolog@balikpapan.demo", None), "received-referrals")
    assert waiting[0] in received
    assert "Jawab sebelum" in received
    assert "WITA" in received


# --- administrator ---------------------------------------------------------------------------


def test_the_admin_sees_agreements_ending_soon_and_partners_not_on_the_hub(app, hub):
    _demo(app)
    with app.app_context():
        from referral_hub.agreements.models import Agreement

        agreement = db.session.scalar(
            select(Agreement).where(Agreement.number == "DEMO/PKS/003/UPTDPPA-PPU")
        )
        agreement.expires_on = local_date() + dt.timedelta(days=20)
        far = db.session.scalar(
            select(Agreement.number).where(Agreement.number == "DEMO/PKS/002/UPTDPPA-PPU")
        )
        db.session.commit()
        db.session.remove()
    page = _home(app, hub, "admin@ppu.demo")
    expiring = _section(page, "agreements-expiring")
    assert "DEMO/PKS/003/UPTDPPA-PPU" in expiring
    assert "berakhir dalam 20 hari" in expiring
    assert far not in expiring
    assert "expiring_within_days=90" in expiring
    off_hub = _section(page, "partners-off-hub")
    assert "Kejaksaan Negeri Penajam Paser Utara" in off_hub
    # The caseworker has neither panel.
    caseworker = _home(app, hub, "caseworker@ppu.demo", None)
    assert not _section(caseworker, "agreements-expiring")
    assert not _section(caseworker, "audit-watch")


# --- auditor ---------------------------------------------------------------------------------


def test_the_auditor_sees_the_chain_status_and_sensitive_actions_in_words(app, client, hub):
    s = Scenario(app, client, hub)
    override = s.in_status("draft")  # sent without consent, waiting for a supervisor
    with app.app_context():
        ppu = hub.org(PPU)
        worker = Actor(ppu["id"], user_id=None, role="caseworker", organization_type="uptd_ppa")
        clients.export_client(worker, s.client["id"], "data_subject_request")
        db.session.commit()
        db.session.remove()
    auditor = hub.user(OPERATOR, "auditor")
    browser = app.test_client()
    hub.login(browser, auditor["email"], auditor["password"])
    before = _section(browser.get("/").get_data(as_text=True), "audit-watch")
    assert "belum menandatangani titik periksa" in before
    with app.app_context():
        checkpoint = sign_checkpoint(Actor.system("tests"))
        signed = checkpoint.entries
        db.session.commit()
        db.session.remove()
    page = browser.get("/").get_data(as_text=True)
    panel = _section(page, "audit-watch")
    assert "Utuh" in panel
    assert f"menandatangani {signed} entri" in panel
    assert "Pemeriksaan cepat" in panel
    assert "/audit/verify" in panel
    # The override and the export, in words, by their numbers, linking to the log filtered.
    assert "Rujukan dibuat" in panel
    assert "tanpa persetujuan klien: Kewajiban hukum" in panel
    assert override["number"] in panel
    assert f"/audit?referral={override['number']}" in panel
    assert "/audit?action=referral.sent" in panel
    assert "Data klien diekspor" in panel
    assert s.client["code"] in panel
    # No personal data, no machine codes as text, no hex ids.
    for value in (*CANARY.values(), *CASE_CANARY.values(), s.client["id"], override["id"]):
        assert str(value) not in panel
    assert ">referral.sent<" not in panel
    assert not re.search(r">[^<]*\b[0-9a-f]{32}\b", panel)


def test_an_auditor_of_a_unit_sees_only_the_sensitive_actions_its_log_shows(app, client, hub):
    s = Scenario(app, client, hub)
    with app.app_context():
        ppu = hub.org(PPU)
        worker = Actor(ppu["id"], user_id=None, role="caseworker", organization_type="uptd_ppa")
        clients.export_client(worker, s.client["id"], "data_subject_request")
        db.session.commit()
        db.session.remove()
    s.in_status("draft")  # a draft concerns the sender alone
    own = hub.user(PPU, "auditor")
    other = hub.user(BALIKPAPAN, "auditor")
    for user, sees in ((own, True), (other, False)):
        browser = app.test_client()
        hub.login(browser, user["email"], user["password"])
        panel = _section(browser.get("/").get_data(as_text=True), "audit-watch")
        assert panel, user["email"]
        assert ("Data klien diekspor" in panel) is sees
        assert (s.client["code"] in panel) is sees


def test_partner_staff_have_no_audit_panel(app, hub):
    _demo(app)
    page = _home(app, hub, "penyidik@polres-ppu.demo", None)
    assert not _section(page, "audit-watch")
    assert _section(page, "session-agenda")


def test_the_quick_check_says_when_the_newest_checkpoint_no_longer_matches(app, hub):
    from sqlalchemy import text, update

    from referral_hub.audit import operations as audit
    from referral_hub.audit.checkpoints import newest_checkpoint_status
    from referral_hub.audit.models import AuditCheckpoint

    with app.app_context():
        for i in range(3):
            audit.record(Actor.system("tests"), "test.appended", "thing", str(i), {"i": i})
        db.session.commit()  # the entries join the chain as they are committed
        sign_checkpoint(Actor.system("tests"))
        db.session.commit()
        assert newest_checkpoint_status()["ok"]
        db.session.remove()
    # An attacker rewrites the newest checkpoint's head (PostgreSQL: with its trigger off).
    with app.app_context(), db.engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        trigger = "ALTER TABLE audit_checkpoints {} TRIGGER audit_checkpoints_append_only"
        if postgres:
            conn.execute(text(trigger.format("DISABLE")))
        conn.execute(update(AuditCheckpoint.__table__).values(head="0" * 64))
        if postgres:
            conn.execute(text(trigger.format("ENABLE")))
    with app.app_context():
        status = newest_checkpoint_status()
        db.session.remove()
    assert not status["ok"]
    auditor = hub.user(OPERATOR, "auditor")
    browser = app.test_client()
    hub.login(browser, auditor["email"], auditor["password"])
    panel = _section(browser.get("/").get_data(as_text=True), "audit-watch")
    assert "Perlu diperiksa" in panel
    assert "Utuh" not in panel
