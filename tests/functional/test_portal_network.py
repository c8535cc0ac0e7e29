"""Mitra in the portal: a UPTD admin adds a partner and invites its first admin, who joins
through the e-mailed link, sets up the authenticator, signs in again and keeps the entry."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import time_machine

from tests.conftest import _csrf_from
from tests.functional.test_directory_network_api import invitation_link
from tests.invitation_support import CHOSEN_PASSWORD, accept
from tests.orgs import BONTANG, PPU


def signed_in(app, hub, org: str, role: str = "org_admin"):
    user = hub.user(org, role)
    browser = app.test_client()
    assert hub.login(browser, user["email"]).status_code == 302
    return browser


def post(browser, path: str, page: str, data: dict):
    token = _csrf_from(browser.get(page).get_data(as_text=True))
    return browser.post(path, data={**data, "csrf_token": token})


def add_partner(browser) -> None:
    made = post(
        browser,
        "/organizations/new",
        "/organizations/new",
        {
            "name": "LBH APIK Penajam",
            "code": "lbh-apik-ppu",
            "type": "legal_aid",
            "region_code": "64.09",
            "services": ["legal_aid"],
            "contact_name_0": "Rina",
            "contact_phone_0": "+62 812 1111 2222",
        },
    )
    assert made.status_code == 302, made.get_data(as_text=True)[:2000]


def invite(browser, code: str, email: str, role: str):
    return post(
        browser,
        f"/organizations/{code}/invitations",
        f"/organizations/{code}",
        {"email": email, "role": role},
    )


def test_an_invited_partner_admin_joins_and_keeps_the_entry(app, hub):
    ppu = signed_in(app, hub, PPU)
    home = ppu.get("/").get_data(as_text=True)
    assert 'href="/organizations"' in home  # the Mitra menu entry
    add_partner(ppu)
    page = ppu.get("/organizations/lbh-apik-ppu").get_data(as_text=True)
    assert "Belum menjawab rujukan di hub" in page
    assert invite(ppu, "lbh-apik-ppu", "ketua@lbh-apik.example", "org_admin").status_code == 302
    link = invitation_link(app, "ketua@lbh-apik.example")

    invitee = app.test_client()
    form = invitee.get(link)
    assert form.status_code == 200
    assert "LBH APIK Penajam" in form.get_data(as_text=True)
    mismatch = invitee.post(
        link,
        data={
            "name": "Ketua",
            "password": CHOSEN_PASSWORD,
            "password_again": "something else entirely",
            "csrf_token": _csrf_from(form.get_data(as_text=True)),
        },
    )
    assert mismatch.status_code == 422
    done = accept(invitee, link, name="Ketua LBH")
    assert done.headers["Location"].startswith("http://localhost/login/enrol")
    enrol = invitee.get("/login/enrol").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([^<]+)<', enrol).group(1).replace(" ", "")
    codes = invitee.post(
        "/login/enrol",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": _csrf_from(enrol)},
    )
    assert codes.status_code == 200
    assert "<code>" in codes.get_data(as_text=True)

    # The link is spent; a fresh sign-in with the chosen password and a code works.
    again = app.test_client().get(link)
    assert again.status_code == 410
    assert "sudah dipakai" in again.get_data(as_text=True)
    partner = app.test_client()
    signed = hub.login(partner, "ketua@lbh-apik.example", CHOSEN_PASSWORD, totp_secret=secret)
    assert signed.status_code == 302
    saved = post(
        partner,
        "/organizations/lbh-apik-ppu/edit",
        "/organizations/lbh-apik-ppu",
        {
            "name": "LBH APIK Penajam",
            "services": ["legal_aid", "accompaniment"],
            "capacity_legal_aid": "limited",
            "contact_name_0": "Rina",
            "contact_email_0": "rina@lbh-apik.example",
        },
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    page = partner.get("/organizations/lbh-apik-ppu").get_data(as_text=True)
    assert "Belum menjawab rujukan di hub" in page  # its admin keeps it; staff answer
    # The UPTD that added it no longer keeps it, and invites nobody more into it.
    assert (
        ppu.post(
            "/organizations/lbh-apik-ppu/edit",
            data={"name": "X", "csrf_token": _csrf_from(ppu.get("/").get_data(as_text=True))},
        ).status_code
        == 403
    )
    late = invite(ppu, "lbh-apik-ppu", "staff@lbh-apik.example", "caseworker")
    assert late.status_code == 302
    assert "admin sendiri" in ppu.get(late.headers["Location"]).get_data(as_text=True)
    # Its own admin invites its staff.
    assert invite(partner, "lbh-apik-ppu", "staf@lbh-apik.example", "caseworker").status_code == 302


def test_a_caseworker_invitation_signs_in_at_once(app, hub):
    ppu = signed_in(app, hub, PPU)
    assert invite(ppu, PPU, "baru@ppu.example", "caseworker").status_code == 302
    link = invitation_link(app, "baru@ppu.example")
    browser = app.test_client()
    done = accept(browser, link, name="Pendamping Baru")
    assert done.status_code == 302
    assert done.headers["Location"] == "http://localhost/"
    assert browser.get("/").status_code == 200


def test_hostile_links_and_invitations_are_refused(app, hub):
    bontang = signed_in(app, hub, BONTANG)
    refused = post(
        bontang,
        f"/organizations/{PPU}/invitations",
        "/",
        {"email": "m@x.example", "role": "org_admin"},
    )
    assert refused.status_code == 403
    assert bontang.get(f"/organizations/{PPU}").status_code == 403

    ppu = signed_in(app, hub, PPU)
    assert invite(ppu, PPU, "late@ppu.example", "caseworker").status_code == 302
    link = invitation_link(app, "late@ppu.example")
    stranger = app.test_client()
    guessed = stranger.get(link[:-4] + "abcd")
    assert guessed.status_code == 404
    assert "tidak dikenal" in guessed.get_data(as_text=True)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=8)):
        expired = stranger.get(link)
        assert expired.status_code == 410
        assert "kedaluwarsa" in expired.get_data(as_text=True)

    assert invite(ppu, PPU, "gone@ppu.example", "supervisor").status_code == 302
    link = invitation_link(app, "gone@ppu.example")
    page = ppu.get(f"/organizations/{PPU}").get_data(as_text=True)
    revoke = re.search(r'action="(/organizations/[^"]+/revoke)"', page).group(1)
    assert post(ppu, revoke, f"/organizations/{PPU}", {}).status_code == 302
    gone = stranger.get(link)
    assert gone.status_code == 410
    assert "dicabut" in gone.get_data(as_text=True)
