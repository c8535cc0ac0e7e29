"""The intake form on a phone: a volunteer of PATBM PPU reports, keeps what was typed on an
error, a retried submit makes one intake; the unit's supervisor sees the overdue ones."""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from sqlalchemy import func, select

from referral_hub.extensions import db
from referral_hub.intake.models import Intake
from tests.conftest import _csrf_from
from tests.intake_support import PATBM, PPU, agreement


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
