"""The intake form on a phone: a volunteer of PATBM PPU reports, keeps what was typed on an
error, a retried submit makes one intake; the unit's supervisor sees the overdue ones."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import func, select

from referral_hub.cases.models import Case
from referral_hub.clients.models import Client, Disclosure
from referral_hub.extensions import db
from referral_hub.intake.models import Intake
from tests.conftest import _csrf_from
from tests.intake_support import (
    BALIKPAPAN,
    BONTANG,
    CANARY_NAME,
    PATBM,
    PPU,
    SCOPES,
    agreement,
    intake_body,
)


def _form(browser):
    page = browser.get("/intakes/new")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    return html, {"csrf_token": _csrf_from(html), "form_token": token}


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Intake))


def test_a_volunteer_reports_on_a_phone_and_gets_a_receipt(app, client, hub):
    with app.app_context():
        agreement(PATBM, PPU)
        db.session.remove()
    volunteer = hub.user(PATBM, "caseworker", "relawan@patbm.example")
    hub.login(client, volunteer["email"])
    html, hidden = _form(client)
    assert 'name="viewport"' in html or "viewport" in html
    weight = len(html.encode())
    assert weight < 40_000, weight
    # A mistake (no region): the page comes back with everything typed.
    typed = {
        **hidden,
        "to": PPU,
        "victim_name": "Nama Anak Tetangga",
        "victim_age": "9",
        "summary": "Sering dipukul dengan kayu",
        "violence_types": "physical",
        "immediate_danger": "1",
    }
    again = client.post("/intakes/new", data=typed)
    assert again.status_code == 422
    page = again.get_data(as_text=True)
    assert "Nama Anak Tetangga" in page
    assert "Sering dipukul dengan kayu" in page
    assert hidden["form_token"] in page
    assert _count(app) == 0
    typed["region"] = "64.09"
    done = client.post("/intakes/new", data=typed)
    assert done.status_code == 302, done.get_data(as_text=True)
    receipt = client.get(done.headers["Location"]).get_data(as_text=True)
    number = re.search(r"ADU-PPU-\d{4}-\d{6}", receipt).group(0)
    assert number in receipt
    # The volunteer sees the status, never the victim's details back.
    assert "Nama Anak Tetangga" not in receipt
    # The same submit again (a retry after a dropped connection): the same intake.
    retried = client.post("/intakes/new", data=typed)
    assert retried.status_code == 302
    assert retried.headers["Location"] == done.headers["Location"]
    assert _count(app) == 1


def test_the_supervisor_sees_overdue_intakes_on_the_home_page(app, client, hub):
    caseworker = hub.user(PPU, "caseworker", "cw.intake@ppu.example")
    hub.login(client, caseworker["email"])
    _html, hidden = _form(client)
    made = client.post(
        "/intakes/new",
        data={
            **hidden,
            "to": PPU,
            "channel": "hotline",
            "region": "64.09",
            "immediate_danger": "1",
        },
    )
    assert made.status_code == 302, made.get_data(as_text=True)
    with app.app_context():
        number = db.session.scalar(select(Intake.number))
    inbox = client.get("/intakes").get_data(as_text=True)
    assert number in inbox
    supervisor = hub.user(PPU, "supervisor", "sup.intake@ppu.example")
    other = app.test_client()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        hub.login(other, supervisor["email"])
        home = other.get("/").get_data(as_text=True)
    assert "Aduan terlambat" in home
    assert number in home


# --- before accepting: who may be the same person, link or register -----------------------


class Desk:
    """PATBM PPU reports over the API; a caseworker of UPTD PPA PPU answers in the portal."""

    def __init__(self, app, client, hub) -> None:
        from tests.clients_support import child_body, create_client, years_ago

        self.app, self.http = app, client
        with app.app_context():
            agreement(PATBM, PPU)
            db.session.remove()
        self.patbm = hub.headers(PATBM, SCOPES)
        ppu = hub.headers(PPU, SCOPES)
        self.same = create_client(
            client,
            ppu,
            child_body(full_name="Siti Aminnah", birth_date=years_ago(12).isoformat()),
        )
        self.nik = "6409015203120001"
        self.by_nik = create_client(client, ppu, child_body(full_name="Dewi Lestari", nik=self.nik))
        self.browser = app.test_client()
        caseworker = hub.user(PPU, "caseworker", "cw.accept@ppu.example")
        hub.login(self.browser, caseworker["email"])

    def intake(self, **victim) -> str:
        body = intake_body(
            victim={"name": "Siti Aminah", "age_years": 12, "sex": "female", "region_code": "64.09"}
            | victim
        )
        made = self.http.post("/api/v1/intakes", json=body, headers=self.patbm)
        assert made.status_code == 201, made.get_data(as_text=True)
        return made.get_json()["id"]

    def page(self, intake_id: str) -> str:
        page = self.browser.get(f"/intakes/{intake_id}")
        assert page.status_code == 200
        return page.get_data(as_text=True)

    def accept(self, intake_id: str, html: str, **fields):
        return self.browser.post(
            f"/intakes/{intake_id}/accept", data={"csrf_token": _csrf_from(html), **fields}
        )

    def reads(self, client_id: str) -> list[str]:
        with self.app.app_context():
            return list(
                db.session.scalars(
                    select(Disclosure.context).where(Disclosure.client_id == client_id)
                )
            )


@pytest.fixture
def desk(app, client, hub):
    return Desk(app, client, hub)


def test_the_intake_page_shows_who_may_be_the_victim_with_why_and_logs_the_read(desk):
    intake_id = desk.intake()
    html = desk.page(intake_id)
    # The near spelling, by its number and what the unit may see, and why in words.
    assert desk.same["code"] in html
    assert "Siti Aminnah" in html
    assert "nama mirip, umur cocok, wilayah sama" in html
    assert f'name="client" value="{desk.same["id"]}"' in html
    assert 'name="client" value="new"' in html
    # A client of other name is not shown (nor read).
    assert "Dewi Lestari" not in html
    assert desk.reads(desk.same["id"]) == ["portal intake matches"]
    assert desk.reads(desk.by_nik["id"]) == []


def test_nothing_is_chosen_for_the_unit_and_a_typed_nik_finds_its_client(app, desk):
    intake_id = desk.intake(name="Rina Wati")
    html = desk.page(intake_id)
    assert "Tidak ada klien unit Anda yang mirip" in html
    nothing = desk.accept(intake_id, html)
    assert nothing.status_code == 422
    assert "Pilih klien yang sama, atau daftarkan sebagai klien baru." in nothing.get_data(
        as_text=True
    )
    # "New", but the NIK typed is a client's already: shown with why, everything kept.
    typed = {
        "client": "new",
        "nik": desk.nik,
        "birth_date": "2013-02-12",
        "guardian_name": "Ibu Rina",
        "guardian_relationship": "ibu kandung",
    }
    again = desk.accept(intake_id, html, **typed)
    assert again.status_code == 422
    page = again.get_data(as_text=True)
    assert desk.by_nik["code"] in page
    assert "NIK sama" in page
    assert "Ibu Rina" in page
    assert "2013-02-12" in page
    assert 'value="new" checked' in page
    # The read is logged although the page answers 422; nothing else stands.
    assert desk.reads(desk.by_nik["id"]) == ["portal intake matches"]
    with app.app_context():
        assert db.session.get(Intake, intake_id).status == "received"
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_accepting_links_the_chosen_client_or_registers_a_new_one(app, desk):
    linked = desk.intake()
    html = desk.page(linked)
    done = desk.accept(linked, html, client=desk.same["id"])
    assert done.status_code == 302, done.get_data(as_text=True)
    assert "/cases/" in done.headers["Location"]
    with app.app_context():
        assert db.session.get(Intake, linked).client_id == desk.same["id"]
    new = desk.intake(name="Putri Ayu")
    html = desk.page(new)
    # A child registered without a guardian: refused beside the field, values kept.
    missing = desk.accept(new, html, client="new", birth_date=years_ago_iso(9))
    assert missing.status_code == 422
    page = missing.get_data(as_text=True)
    assert 'id="f-guardian-error"' in page
    assert years_ago_iso(9) in page
    registered = desk.accept(
        new,
        html,
        client="new",
        birth_date=years_ago_iso(9),
        guardian_name="Ibu Putri",
        guardian_relationship="ibu kandung",
    )
    assert registered.status_code == 302, registered.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(Intake, new)
        assert row.status == "accepted"
        assert row.client_id not in (desk.same["id"], desk.by_nik["id"])
        assert db.session.get(Client, row.client_id).full_name == "Putri Ayu"


def test_the_unit_forwards_to_a_unit_named_by_the_agreements(app, desk):
    intake_id = desk.intake()
    html = desk.page(intake_id)
    assert "Belum ada perjanjian berlaku dengan UPTD PPA lain" in html
    with app.app_context():
        agreement(PPU, BALIKPAPAN, "case_management")
        db.session.remove()
    html = desk.page(intake_id)
    assert f'name="to" value="{BALIKPAPAN}"' in html
    assert f'value="{BONTANG}"' not in html
    sent = desk.browser.post(
        f"/intakes/{intake_id}/forward", data={"csrf_token": _csrf_from(html), "to": BALIKPAPAN}
    )
    assert sent.status_code == 302
    with app.app_context():
        assert db.session.get(Intake, intake_id).organization.code == BALIKPAPAN


def years_ago_iso(years: int) -> str:
    from tests.clients_support import years_ago

    return years_ago(years).isoformat()


# --- triage, decline and forward answer like the accept form: values kept, why beside ------


def _act(desk, intake_id: str, html: str, action: str, **fields):
    return desk.browser.post(
        f"/intakes/{intake_id}/{action}", data={"csrf_token": _csrf_from(html), **fields}
    )


def test_a_refused_triage_keeps_the_note_and_says_why_beside_the_risk(app, desk):
    intake_id = desk.intake()
    html = desk.page(intake_id)
    note = "Catatan yang diketik dengan susah payah di ponsel"
    refused = _act(desk, intake_id, html, "triage", note=note)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert note in page
    assert 'id="error-summary"' in page
    assert 'id="f-risk_level-error"' in page
    assert 'href="#f-risk_level"' in page
    with app.app_context():
        assert db.session.get(Intake, intake_id).status == "received"
    done = _act(desk, intake_id, html, "triage", note=note, risk_level="high")
    assert done.status_code == 302


def test_a_decline_without_a_reason_says_so_beside_the_reason(app, desk):
    intake_id = desk.intake()
    html = desk.page(intake_id)
    refused = _act(desk, intake_id, html, "decline", reason="   ")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="f-reason-error"' in page
    assert "Tulis alasan aduan ditolak." in page
    assert 'id="error-summary"' in page
    with app.app_context():
        assert db.session.get(Intake, intake_id).status == "received"


def test_a_forward_without_a_unit_chosen_says_so_beside_the_units(app, desk):
    with app.app_context():
        agreement(PPU, BALIKPAPAN, "case_management")
        db.session.remove()
    intake_id = desk.intake()
    html = desk.page(intake_id)
    refused = _act(desk, intake_id, html, "forward")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="f-to-error"' in page
    assert 'href="#f-to"' in page
    # a unit with no agreement: refused with why, the choice kept
    other = _act(desk, intake_id, html, "forward", to=BONTANG)
    assert other.status_code == 422
    assert 'id="error-summary"' in other.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Intake, intake_id).organization.code == PPU


def _row(html: str, number: str) -> str:
    return next(row for row in html.split("<tr") if number in row)


def test_the_inbox_shows_no_running_clock_for_a_closed_intake(app, desk):
    from referral_hub.portal.moments import moment

    declined, still_open = desk.intake(), desk.intake()
    html = desk.page(declined)
    assert _act(desk, declined, html, "decline", reason="Bukan wilayah kami").status_code == 302
    with app.app_context(), app.test_request_context():
        rows = {i: db.session.get(Intake, i) for i in (declined, still_open)}
        numbers = {i: row.number for i, row in rows.items()}
        due = {i: moment(row.respond_by) for i, row in rows.items()}
    inbox = desk.browser.get("/intakes").get_data(as_text=True)
    # the open one first; the closed one says when it was closed, not a deadline
    assert inbox.index(numbers[still_open]) < inbox.index(numbers[declined])
    assert due[still_open] in _row(inbox, numbers[still_open])
    closed_row = _row(inbox, numbers[declined])
    assert due[declined] not in closed_row
    assert "Ditutup" in closed_row
    page = desk.page(declined)
    assert "Tanggapi sebelum" not in page
    assert "Ditutup" in page


def test_a_community_organisation_sees_only_what_it_sent(app, client, hub):
    with app.app_context():
        agreement(PATBM, PPU)
        db.session.remove()
    hub.login(client, hub.user(PATBM, "caseworker", "tabs@patbm.example")["email"])
    page = client.get("/intakes").get_data(as_text=True)
    assert "Masuk ke unit" not in page
    assert "box=received" not in page
    # asked for the unit's box anyway: its own sent box, not an empty inbox
    asked = client.get("/intakes?box=received").get_data(as_text=True)
    assert "Masuk ke unit" not in asked
    assert 'name="box" value="sent"' in asked
    # a UPTD PPA both receives and reports (its own walk-ins, to other units): both tabs
    unit = app.test_client()
    hub.login(unit, hub.user(PPU, "caseworker", "tabs@ppu.example")["email"])
    both = unit.get("/intakes").get_data(as_text=True)
    assert "Masuk ke unit" in both
    assert "Yang kami kirim" in both


def test_a_volunteers_start_page_lists_the_reports_it_sent_with_their_status(app, client, hub):
    with app.app_context():
        agreement(PATBM, PPU)
        db.session.remove()
    volunteer = hub.user(PATBM, "caseworker", "relawan.beranda@patbm.example")
    hub.login(client, volunteer["email"])
    before = client.get("/").get_data(as_text=True)
    assert "Aduan yang kami kirim" in before
    assert "Belum ada aduan yang Anda kirim." in before
    made = client.post(
        "/api/v1/intakes", json=intake_body(), headers=hub.headers(PATBM, SCOPES)
    ).get_json()
    home = client.get("/").get_data(as_text=True)
    assert made["number"] in home
    assert "Diterima unit" in home  # its status, in words
    assert CANARY_NAME not in home  # never the victim
    # A UPTD's staff have their inbox instead.
    caseworker = hub.user(PPU, "caseworker", "pendamping.beranda@ppu.example")
    other = app.test_client()
    hub.login(other, caseworker["email"])
    assert "Aduan yang kami kirim" not in other.get("/").get_data(as_text=True)
