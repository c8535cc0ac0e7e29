"""Intake in a real browser at phone width, issue 15's check: a community organisation
without an agreement is refused over HTTP; a PATBM volunteer reports on a phone and keeps the
receipt; the report reaches UPTD PPA PPU and no one else; triage sets the clock by risk; an
overdue intake waits on the supervisor's home page; a duplicate is found by NIK and by a near
spelling of the name, with why; accepting links the chosen client, another registers a new
one; the volunteer sees the status and nothing the unit added."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.intake.models import Intake
from referral_hub.intake.operations.clock import start_clock
from tests.clients_support import child_body, years_ago
from tests.e2e.conftest import PHONE, _context, no_horizontal_scroll, screenshot, sign_in
from tests.intake_support import (
    BALIKPAPAN,
    PATBM,
    POLRES,
    PPU,
    PUSPAGA,
    SCOPES,
    agreement,
    intake_body,
)

pytestmark = pytest.mark.e2e

NIK = "6409015203120001"
TRIAGE_NOTE = "Catatan unit: perlu kunjungan rumah (uji peramban)."


def _person(browser, live_server, email: str):
    """Another person, on a phone of their own (a fresh browser context), signed in."""
    context = _context(browser, live_server, PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, email)
    return page


def _respond_by(page) -> str:
    return (
        page.locator("dt", has_text="Tanggapi sebelum")
        .locator("xpath=following-sibling::dd[1]")
        .inner_text()
    )


def _api_client(page, headers: dict[str, str], body: dict) -> dict:
    answer = page.request.post("/api/v1/clients", data=body, headers=headers)
    assert answer.status == 201, answer.text()
    return answer.json()


def test_an_intake_from_a_phone_to_a_case(app, hub, browser, live_server, phone):
    with app.app_context():
        agreement(PATBM, PPU)
        db.session.remove()
    # Over HTTP: an organisation without an agreement is refused.
    puspaga = hub.headers(PUSPAGA, SCOPES)
    refused = phone.request.post(
        "/api/v1/intakes", data=intake_body(channel="puspaga"), headers=puspaga
    )
    assert refused.status == 422
    assert refused.json()["type"].endswith("no-active-agreement")
    # The unit's clients: a near spelling of the victim's name, and someone with a NIK.
    ppu = hub.headers(PPU, SCOPES)
    same = _api_client(
        phone,
        ppu,
        child_body(full_name="Siti Aminnah", birth_date=years_ago(12).isoformat()),
    )
    by_nik = _api_client(phone, ppu, child_body(full_name="Dewi Lestari", nik=NIK))

    # The PATBM volunteer reports on a phone.
    volunteer = hub.user(PATBM, "caseworker", "relawan@patbm.example")
    sign_in(phone, volunteer["email"])
    phone.goto("/intakes/new")
    assert no_horizontal_scroll(phone)
    phone.get_by_label("Nama korban").fill("Siti Aminah")
    phone.get_by_label("Umur").fill("12")
    phone.get_by_label("Perempuan").check()
    phone.get_by_label(re.compile(r"^Tinggal di mana")).fill("64.09")
    phone.get_by_label("Apa yang terjadi").fill("Sering dipukul dengan kayu (uji peramban).")
    phone.get_by_label("Fisik").check()
    phone.get_by_role("button", name="Kirim laporan").click()
    receipt = phone.get_by_role("status").filter(has_text="Simpan nomor ini")
    expect(receipt).to_contain_text(re.compile(r"ADU-PPU-\d{4}-\d{6}"))
    number = re.search(r"ADU-PPU-\d{4}-\d{6}", receipt.inner_text()).group(0)
    assert no_horizontal_scroll(phone)
    screenshot(phone, "intake-receipt-390")
    with app.app_context():
        intake_id = db.session.query(Intake.id).filter(Intake.number == number).scalar()

    # It reached UPTD PPA PPU and no one else.
    for email, org in (("cw@balikpapan.example", BALIKPAPAN), ("cw@polres.example", POLRES)):
        other = _person(browser, live_server, hub.user(org, "caseworker", email)["email"])
        assert other.goto(f"/intakes/{intake_id}").status == 404
        other.goto("/intakes")
        assert number not in other.content()
        other.context.close()
    caseworker = _person(
        browser, live_server, hub.user(PPU, "caseworker", "cw.intake@ppu.example")["email"]
    )
    caseworker.goto("/intakes")
    caseworker.get_by_role("link", name=number).click()
    expect(caseworker.get_by_role("heading", level=1)).to_have_text(f"Aduan {number}")

    # Triage sets the clock by risk: medium (6 h) before, high (1 h) after.
    before = _respond_by(caseworker)
    caseworker.get_by_label("Tinggi").check()
    caseworker.get_by_label("Catatan", exact=True).fill(TRIAGE_NOTE)
    caseworker.get_by_role("button", name="Simpan penilaian").click()
    expect(caseworker.get_by_role("status")).to_contain_text("Tingkat risiko dicatat")
    after = _respond_by(caseworker)
    assert after != before
    with app.app_context():
        row = db.session.get(Intake, intake_id)
        assert row.respond_by - row.arrived_at == dt.timedelta(hours=1)

    # A duplicate by a near spelling, with why, by number and what the unit may see.
    matches = caseworker.locator("#f-client")
    expect(matches).to_contain_text(f"Tautkan ke klien {same['code']}")
    expect(matches).to_contain_text("Siti Aminnah")
    expect(matches).to_contain_text("nama mirip, umur cocok, wilayah sama")
    assert "Dewi Lestari" not in matches.inner_text()
    assert no_horizontal_scroll(caseworker)
    screenshot(caseworker, "intake-matches-390")
    # A NIK typed for a new client: its client is shown, nothing typed is lost.
    caseworker.get_by_label("Daftarkan sebagai klien baru").check()
    caseworker.get_by_label("NIK").fill(NIK)
    caseworker.get_by_label("Nama orang tua / wali").fill("Ibu Siti")
    caseworker.get_by_role("button", name="Terima aduan").click()
    expect(caseworker.locator("#f-client")).to_contain_text(f"Tautkan ke klien {by_nik['code']}")
    expect(caseworker.locator("#f-client")).to_contain_text("NIK sama")
    expect(caseworker.get_by_label("Nama orang tua / wali")).to_have_value("Ibu Siti")
    assert no_horizontal_scroll(caseworker)
    screenshot(caseworker, "intake-matches-nik-390")
    # Linking the near spelling: the case opens for that client.
    caseworker.get_by_label(f"Tautkan ke klien {same['code']}").check()
    caseworker.get_by_role("button", name="Terima aduan").click()
    expect(caseworker.get_by_role("heading", level=1)).to_contain_text(
        re.compile(r"Kasus KS-PPU-\d{4}-\d{6}")
    )
    with app.app_context():
        assert db.session.get(Intake, intake_id).client_id == same["id"]

    # An overdue intake shows up for the supervisor; accepting it registers a new client.
    late = phone.request.post(
        "/api/v1/intakes",
        data=intake_body(
            victim={"name": "Putri Ayu", "age_years": 9, "sex": "female", "region_code": "64.09"},
            immediate_danger=True,
        ),
        headers=hub.headers(PATBM, SCOPES),
    )
    assert late.status == 201, late.text()
    late_number, late_id = late.json()["number"], late.json()["id"]
    with app.app_context():
        row = db.session.get(Intake, late_id)
        row.received_at = row.arrived_at = utcnow() - dt.timedelta(hours=3)
        start_clock(row)
        db.session.commit()
    supervisor = _person(
        browser, live_server, hub.user(PPU, "supervisor", "sup.intake@ppu.example")["email"]
    )
    supervisor.goto("/")
    panel = supervisor.locator(
        "section", has=supervisor.get_by_role("heading", name="Aduan terlambat")
    )
    expect(panel).to_contain_text(late_number)
    assert no_horizontal_scroll(supervisor)
    supervisor.context.close()
    caseworker.goto(f"/intakes/{late_id}")
    expect(caseworker.locator("#f-client")).to_contain_text("Tidak ada klien unit Anda yang mirip")
    caseworker.get_by_label("Daftarkan sebagai klien baru").check()
    caseworker.get_by_label("Tanggal lahir korban").fill(years_ago(9).isoformat())
    caseworker.get_by_label("Nama orang tua / wali").fill("Ibu Putri")
    caseworker.get_by_label("Hubungan dengan korban").fill("ibu kandung")
    caseworker.get_by_role("button", name="Terima aduan").click()
    expect(caseworker.get_by_role("heading", level=1)).to_contain_text(
        re.compile(r"Kasus KS-PPU-\d{4}-\d{6}")
    )
    with app.app_context():
        client_id = db.session.get(Intake, late_id).client_id
        assert client_id not in (same["id"], by_nik["id"], None)
    caseworker.context.close()

    # The volunteer sees the status, and nothing the unit added.
    phone.goto("/intakes")
    row = phone.locator("tr", has_text=number)
    expect(row).to_contain_text("Ditangani")
    phone.goto(f"/intakes/{intake_id}")
    text = phone.locator("main").inner_text()
    assert "Ditangani" in text
    # (the history says it was triaged, a status; never the level, nor the note)
    for added in ("Tinggi", TRIAGE_NOTE, "Tanggapi sebelum", "Buka kasus", "KS-PPU"):
        assert added not in text, added
    assert "Siti Aminnah" not in phone.content()
    assert no_horizontal_scroll(phone)
    screenshot(phone, "intake-reporter-status-390")
