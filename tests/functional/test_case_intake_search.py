"""Finding cases and intakes (issue 17, item 1): by number, status, caseworker, violence type,
days; cases by the client's name through the name index, the name never in a URL; intakes by
channel, risk and reporter. Only ever the unit's own."""

from __future__ import annotations

import datetime as dt

import pytest

from referral_hub.cases.models import Case
from referral_hub.clients.models import local_today
from referral_hub.extensions import db
from tests.conftest import problem
from tests.functional.test_intake_api import World
from tests.functional.test_portal_cases import _open
from tests.portal_sender_support import BONTANG, PPU, build_world, post, signed_in

CASES = "cases:read cases:write clients:read"


@pytest.fixture
def world(app):
    return build_world(app)


@pytest.fixture
def opened(app, hub, world):
    browser = signed_in(app, hub, PPU)
    case_id = _open(browser, world, violence_types=["physical"])
    with app.app_context():
        number = db.session.get(Case, case_id).number
    return browser, case_id, number


def _numbers(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["number"] for item in response.get_json()["items"]]


def test_the_api_finds_cases_by_number_violence_type_and_days(client, hub, opened):
    _browser, _case_id, number = opened
    headers = hub.headers(PPU, CASES)
    today = local_today().isoformat()
    assert _numbers(client.get(f"/api/v1/cases?number={number[-6:].lower()}", headers=headers)) == [
        number
    ]
    assert _numbers(client.get("/api/v1/cases?violence_type=physical", headers=headers)) == [number]
    assert _numbers(client.get("/api/v1/cases?violence_type=sexual", headers=headers)) == []
    assert _numbers(
        client.get(f"/api/v1/cases?opened_from={today}&opened_until={today}", headers=headers)
    ) == [number]
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    assert _numbers(client.get(f"/api/v1/cases?opened_from={tomorrow}", headers=headers)) == []
    bad = client.get("/api/v1/cases?violence_type=nope&opened_from=kemarin", headers=headers)
    assert bad.status_code == 422
    assert bad.headers["Content-Type"].startswith("application/problem+json")
    assert "violence_type" in str(problem(bad))


def test_a_name_never_goes_in_the_url_and_the_search_finds_only_the_units_cases(
    client, hub, opened
):
    _browser, _case_id, number = opened
    headers = hub.headers(PPU, CASES)
    refused = client.get("/api/v1/cases?client_name=canary", headers=headers)
    assert refused.status_code == 422
    assert "POST /api/v1/cases/search" in refused.get_data(as_text=True)
    found = client.post("/api/v1/cases/search", json={"client_name": "canary"}, headers=headers)
    assert _numbers(found) == [number]
    assert (
        _numbers(
            client.post(
                "/api/v1/cases/search",
                json={"client_name": "canary", "status": "closed"},
                headers=headers,
            )
        )
        == []
    )
    assert (
        _numbers(
            client.post("/api/v1/cases/search", json={"client_name": "zulaikha"}, headers=headers)
        )
        == []
    )
    short = client.post("/api/v1/cases/search", json={"client_name": "ca"}, headers=headers)
    assert short.status_code == 422
    other = hub.headers(BONTANG, CASES)
    assert (
        _numbers(client.post("/api/v1/cases/search", json={"client_name": "canary"}, headers=other))
        == []
    )
    assert "CANARY-NAME" not in found.get_data(as_text=True)


def test_the_portal_case_list_keeps_its_filters_and_says_when_nothing_fits(opened):
    browser, _case_id, number = opened
    html = browser.get(f"/cases?number={number[-6:]}&violence_type=physical").get_data(as_text=True)
    assert number in html
    assert f'value="{number[-6:]}"' in html
    assert 'value="physical" selected' in html
    empty = browser.get("/cases?violence_type=sexual").get_data(as_text=True)
    assert "Tidak ada kasus yang cocok." in empty
    bad = browser.get("/cases?opened_from=kemarin")
    assert bad.status_code == 422
    assert "Tulis tanggal seperti 2026-12-31." in bad.get_data(as_text=True)


def test_the_portal_finds_cases_by_a_name_posted_never_in_a_url(app, hub, opened):
    browser, _case_id, number = opened
    response = post(browser, "/cases/search", {"client_name": "canary", "status": "open"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert number in html
    assert "canary" not in response.request.url.lower()
    none = post(browser, "/cases/search", {"client_name": "canary", "status": "closed"})
    assert "Tidak ada kasus yang cocok." in none.get_data(as_text=True)
    short = post(browser, "/cases/search", {"client_name": "ca"})
    assert short.status_code == 422
    long = post(browser, "/cases/search", {"client_name": "a" * 500})
    assert long.status_code == 422
    assert "terlalu panjang" in long.get_data(as_text=True)
    assert "Ketik minimal 3 huruf" not in long.get_data(as_text=True)
    other = signed_in(app, hub, BONTANG)
    theirs = post(other, "/cases/search", {"client_name": "canary"}).get_data(as_text=True)
    assert number not in theirs


def test_the_api_finds_intakes_by_number_channel_risk_reporter_and_days(app, client, hub):
    world = World(app, client, hub)
    first = world.sent()
    second = world.sent(immediate_danger=True)
    ppu = world.ppu
    assert _numbers(
        client.get(f"/api/v1/intakes?number={first['number'][-6:].lower()}", headers=ppu)
    ) == [first["number"]]
    assert set(_numbers(client.get("/api/v1/intakes?channel=patbm", headers=ppu))) >= {
        first["number"],
        second["number"],
    }
    assert _numbers(client.get("/api/v1/intakes?channel=hotline", headers=ppu)) == []
    high = _numbers(client.get("/api/v1/intakes?risk=high", headers=ppu))
    assert second["number"] in high
    assert first["number"] not in high
    today = local_today().isoformat()
    assert first["number"] in _numbers(
        client.get(f"/api/v1/intakes?received_from={today}&received_until={today}", headers=ppu)
    )
    bad = client.get("/api/v1/intakes?channel=fax", headers=ppu)
    assert bad.status_code == 422
    assert bad.headers["Content-Type"].startswith("application/problem+json")
    assert _numbers(client.get("/api/v1/intakes?channel=patbm", headers=world.bontang)) == []


def test_the_portal_intake_list_filters_and_keeps_its_values(app, client, hub):
    world = World(app, client, hub)
    first = world.sent()
    browser = signed_in(app, hub, PPU)
    html = browser.get(f"/intakes?number={first['number'][-6:]}&channel=patbm").get_data(
        as_text=True
    )
    assert first["number"] in html
    assert 'value="patbm" selected' in html
    none = browser.get("/intakes?channel=hotline").get_data(as_text=True)
    assert "Tidak ada aduan yang cocok." in none
    assert browser.get("/intakes?risk=extreme").status_code == 422
