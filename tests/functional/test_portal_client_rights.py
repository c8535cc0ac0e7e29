"""The client's UU PDP rights in the portal: the printable export, a rectification against
the record as read, and erasure by a supervisor or administrator, after which every page of
the client, its referrals and its cases answers without a name and without a 500."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from referral_hub.clients.models import local_today
from tests.clients_support import CANARY
from tests.portal_sender_support import (
    BALIKPAPAN,
    PPU,
    build_world,
    post,
    referral_form,
    signed_in,
)

ERASED = "Data pribadi telah dihapus"
CASE_SUMMARY = "CANARY-PORTAL-RIGHTS-3310 dipukul di rumah"
CANARIES = [v for k, v in CANARY.items() if k not in ("reason",)] + [CASE_SUMMARY]


@pytest.fixture
def world(app):
    return build_world(app)


def _etag(html: str) -> str:
    return re.search(r'name="etag" value="([0-9a-f]+)"', html).group(1)


def _open_case(browser, world) -> str:
    form = {
        "client": world.client_code,
        "risk_level": "high",
        "violence_types": ["physical"],
        "occurred_on": (local_today() - dt.timedelta(days=2)).isoformat(),
        "place_type": "household",
        "region_code": "64.09",
        "perpetrator_relationship": "parent",
        "summary": CASE_SUMMARY,
    }
    response = post(browser, "/cases/new", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_the_export_prints_everything_held_in_indonesian(app, hub, world):
    browser = signed_in(app, hub, PPU)
    page = browser.get(f"/clients/{world.client_id}").get_data(as_text=True)
    assert "Unduh data klien (UU PDP)" in page
    assert f"/clients/{world.client_id}/erase" not in page  # a caseworker does not erase
    export = browser.get(f"/clients/{world.client_id}/export")
    assert export.status_code == 200
    html = export.get_data(as_text=True)
    assert "DATA PRIBADI KLIEN" in html
    assert CANARY["full_name"] in html
    assert "Riwayat akses dan pembagian data" in html
    assert browser.get(f"/clients/{world.client_id}/erase").status_code == 403


def test_a_correction_is_made_against_the_record_as_read(app, hub, world):
    browser = signed_in(app, hub, PPU)
    url = f"/clients/{world.client_id}/edit"
    form = browser.get(url)
    assert form.status_code == 200
    etag = _etag(form.get_data(as_text=True))
    values = {
        "full_name": CANARY["full_name"],
        "nik": CANARY["nik"],
        "birth_date": re.search(
            r'name="birth_date"[^>]*value="([^"]+)"', form.get_data(as_text=True)
        ).group(1),
        "phone": "081234560000",
        "address": CANARY["address"],
        "etag": etag,
    }
    guardian = re.findall(r'name="(guardian_\w+)"[^>]*value="([^"]*)"', form.get_data(as_text=True))
    values.update({k: v for k, v in guardian if k != "guardian_is_alleged_perpetrator"})
    saved = post(browser, url, values)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    assert "081234560000" in browser.get(f"/clients/{world.client_id}").get_data(as_text=True)
    stale = post(browser, url, {**values, "phone": "081299990000"})
    assert stale.status_code == 422
    assert "081299990000" in stale.get_data(as_text=True)  # what was typed is kept
    page = browser.get(f"/clients/{world.client_id}").get_data(as_text=True)
    assert "081299990000" not in page


def test_erasure_is_confirmed_with_a_reason_refused_while_open_and_leaves_no_name(app, hub, world):
    caseworker = signed_in(app, hub, PPU)
    sent = post(caseworker, "/referrals/new", referral_form(world))
    assert sent.status_code == 302, sent.get_data(as_text=True)[:500]
    referral_id = sent.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    case_id = _open_case(caseworker, world)
    supervisor = signed_in(app, hub, PPU, "supervisor")
    url = f"/clients/{world.client_id}/erase"
    assert f"/clients/{world.client_id}/erase" in supervisor.get(
        f"/clients/{world.client_id}"
    ).get_data(as_text=True)
    confirm = supervisor.get(url).get_data(as_text=True)
    assert "Masa simpan data telah berakhir" in confirm
    assert post(supervisor, url, {}).status_code == 422  # no reason
    refused = post(supervisor, url, {"reason": "data_subject_request"})
    assert refused.status_code == 422
    assert "masih memiliki rujukan atau kasus yang terbuka" in refused.get_data(as_text=True)

    cancelled = post(caseworker, f"/referrals/{referral_id}/cancel", {"reason": "tidak jadi"})
    assert cancelled.status_code == 302
    closed = post(caseworker, f"/cases/{case_id}/close", {"reason": "client_withdrew"})
    assert closed.status_code == 302, closed.get_data(as_text=True)[:2000]
    erased = post(supervisor, url, {"reason": "data_subject_request"})
    assert erased.status_code == 302, erased.get_data(as_text=True)[:2000]

    pages = [
        f"/clients/{world.client_id}",
        f"/clients/{world.client_id}/export",
        f"/clients/{world.client_id}/disclosures",
        f"/clients/{world.client_id}/erase",
        "/clients",
        f"/cases/{case_id}",
        f"/cases/{case_id}/edit",
        "/cases",
        f"/referrals/{referral_id}",
        f"/referrals/{referral_id}/letter",
        "/referrals/sent",
        "/",
    ]
    for path in pages:
        for browser in (caseworker, supervisor):
            response = browser.get(path)
            allowed = {200, 302} | ({403} if browser is caseworker and "erase" in path else set())
            assert response.status_code in allowed, (path, response.status_code)
            html = response.get_data(as_text=True)
            assert [c for c in CANARIES if c in html] == [], path
    by_code = post(caseworker, "/clients/search", {"code": world.client_code})
    assert by_code.status_code == 302
    by_nik = post(caseworker, "/clients/search", {"nik": CANARY["nik"]})
    assert by_nik.status_code == 200  # no longer found by NIK: no redirect to the client
    client_page = caseworker.get(f"/clients/{world.client_id}").get_data(as_text=True)
    assert ERASED in client_page
    assert ERASED in caseworker.get(f"/cases/{case_id}").get_data(as_text=True)
    assert caseworker.get(f"/clients/{world.client_id}/edit").status_code == 302
    # Nothing more is written for the client: the forms refuse, never fail.
    note = post(caseworker, f"/cases/{case_id}/notes", {"text": "lagi"})
    assert note.status_code in (302, 409, 422), note.status_code
    consent = caseworker.get(f"/clients/{world.client_id}/consents/new")
    assert consent.status_code in (200, 302, 409)
    partner = signed_in(app, hub, BALIKPAPAN)
    seen = partner.get(f"/referrals/{referral_id}", follow_redirects=True)
    assert seen.status_code in (200, 404)
    assert [c for c in CANARIES if c in seen.get_data(as_text=True)] == []


def test_an_organisation_admin_erases_from_the_confirmation_page(app, hub, world):
    admin = signed_in(app, hub, PPU, "org_admin")
    url = f"/clients/{world.client_id}/erase"
    page = admin.get(url)
    assert page.status_code == 200
    assert CANARY["full_name"] not in page.get_data(as_text=True)
    erased = post(admin, url, {"reason": "duplicate_record"})
    assert erased.status_code == 302, erased.get_data(as_text=True)[:2000]
    assert admin.get(f"/clients/{world.client_id}").status_code == 403
