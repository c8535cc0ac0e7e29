"""Coverage: where an organisation can refer a service today, and the gaps in a matrix."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from referral_hub.clock import hub_zone
from tests.agreements_support import (
    BALIKPAPAN,
    BONTANG,
    OPERATOR,
    PPU,
    Tokens,
    as_json,
    content,
)
from tests.conftest import problem


@pytest.fixture
def tokens(hub) -> Tokens:
    return Tokens(hub)


def _active_agreement(client, tokens, **overrides) -> dict:
    created = client.post(
        "/api/v1/agreements", json=as_json(content(**overrides)), headers=tokens(PPU)
    ).get_json()
    for party in created["parties"]:
        response = client.post(
            f"/api/v1/agreements/{created['id']}/sign", headers=tokens(party["code"])
        )
        assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _coverage(client, tokens, query, org=PPU):
    return client.get(f"/api/v1/coverage?{query}", headers=tokens(org, "agreements:read"))


def test_coverage_lists_the_provider_with_agreement_categories_and_response_time(client, tokens):
    assert _coverage(client, tokens, "service=psychological_counseling").get_json()["items"] == []
    agreement = _active_agreement(client, tokens)
    body = _coverage(client, tokens, "service=psychological_counseling").get_json()
    assert body["organization"]["code"] == PPU
    assert body["service"] == "psychological_counseling"
    (item,) = body["items"]
    assert item["organization"]["code"] == BALIKPAPAN
    assert item["agreement"] == {
        "id": agreement["id"],
        "number": agreement["number"],
        "kind": "pks",
        "title": agreement["title"],
        "expires_on": agreement["expires_on"],
    }
    assert item["data_categories"] == ["demographics", "case_summary", "health"]
    assert item["response_hours"] == 72
    # Balikpapan provides the service; it cannot "refer" counselling to PPU under it.
    reverse = _coverage(client, tokens, "service=psychological_counseling", org=BALIKPAPAN)
    assert reverse.get_json()["items"] == []
    # Without a service: everything PPU can refer.
    assert [i["service"] for i in _coverage(client, tokens, "").get_json()["items"]] == [
        "psychological_counseling"
    ]


def test_a_terminated_or_suspended_agreement_no_longer_covers(client, tokens):
    agreement = _active_agreement(client, tokens)
    url = f"/api/v1/agreements/{agreement['id']}"
    client.post(f"{url}/suspend", json={"reason": "review"}, headers=tokens(BALIKPAPAN))
    assert _coverage(client, tokens, "service=psychological_counseling").get_json()["items"] == []
    client.post(f"{url}/resume", json={}, headers=tokens(BALIKPAPAN))
    assert len(_coverage(client, tokens, "service=psychological_counseling").get_json()["items"])
    client.post(f"{url}/terminate", json={"reason": "psychologist left"}, headers=tokens(PPU))
    assert _coverage(client, tokens, "service=psychological_counseling").get_json()["items"] == []


def test_coverage_of_another_organisation_only_for_itself_and_the_hub_operator(client, tokens):
    _active_agreement(client, tokens)
    query = f"service=psychological_counseling&for={PPU}"
    assert len(_coverage(client, tokens, query, org=OPERATOR).get_json()["items"]) == 1
    assert len(_coverage(client, tokens, query, org=PPU).get_json()["items"]) == 1
    response = _coverage(client, tokens, query, org=BONTANG)
    assert response.status_code == 404
    assert BALIKPAPAN not in response.get_data(as_text=True)
    for bad in ("service=astrology", "for=nobody", "page=2"):
        response = _coverage(client, tokens, bad)
        assert response.status_code == 422, bad
        problem(response)


def _cells(row) -> dict[str, dict]:
    return {cell["service"]: cell for cell in row["cells"]}


def test_matrix_shows_the_psychologist_gap_for_ppu_until_the_balikpapan_agreement(client, tokens):
    response = client.get(f"/api/v1/coverage/matrix?for={PPU}", headers=tokens(PPU))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert len(body["services"]) == 22
    (row,) = body["rows"]
    cells = _cells(row)
    assert cells["psychological_counseling"]["state"] == "gap"
    assert cells["complaint_intake"]["state"] == "own"
    assert body["gaps"] == sum(c["state"] == "gap" for c in row["cells"])

    agreement = _active_agreement(client, tokens)
    body = client.get("/api/v1/coverage/matrix", headers=tokens(PPU)).get_json()
    cell = _cells(body["rows"][0])["psychological_counseling"]
    assert cell["state"] == "covered"
    assert cell["covered_by"][0]["provider"]["code"] == BALIKPAPAN
    assert cell["covered_by"][0]["agreement"]["id"] == agreement["id"]


def test_region_matrix_is_for_the_hub_operator(client, tokens):
    _active_agreement(client, tokens)
    response = client.get("/api/v1/coverage/matrix?region=64", headers=tokens(OPERATOR))
    assert response.status_code == 200
    rows = {r["organization"]["code"]: _cells(r) for r in response.get_json()["rows"]}
    assert set(rows) == {PPU, BALIKPAPAN, BONTANG, "uptd-ppa-kukar"}
    assert rows[PPU]["psychological_counseling"]["state"] == "covered"
    assert rows[BONTANG]["psychological_counseling"]["state"] == "gap"
    assert rows[BALIKPAPAN]["psychological_counseling"]["state"] == "own"
    police = client.get(
        "/api/v1/coverage/matrix?region=64.09&type=police", headers=tokens(OPERATOR)
    ).get_json()
    assert [r["organization"]["code"] for r in police["rows"]] == ["polres-ppu"]

    response = client.get("/api/v1/coverage/matrix?region=64", headers=tokens(PPU))
    assert response.status_code == 403
    problem(response)
    response = client.get(f"/api/v1/coverage/matrix?for={BALIKPAPAN}", headers=tokens(BONTANG))
    assert response.status_code == 404
    response = client.get(f"/api/v1/coverage/matrix?for={PPU}&region=64", headers=tokens(OPERATOR))
    assert response.status_code == 422


def test_after_its_last_day_the_api_reports_expired_and_nothing_covers(client, hub, tokens):
    agreement = _active_agreement(client, tokens)
    day_after = dt.date.fromisoformat(agreement["expires_on"]) + dt.timedelta(days=1)
    with time_machine.travel(
        dt.datetime.combine(day_after, dt.time(0, 5), tzinfo=hub_zone()), tick=False
    ):
        later = Tokens(hub)  # tokens live an hour: fetch them in the future
        url = f"/api/v1/agreements/{agreement['id']}"
        assert client.get(url, headers=later(PPU)).get_json()["status"] == "expired"
        assert (
            _coverage(client, later, "service=psychological_counseling").get_json()["items"] == []
        )
        response = client.post(f"{url}/suspend", json={}, headers=later(PPU))
        assert response.status_code == 409
        assert problem(response)["status_now"] == "expired"
        listed = client.get("/api/v1/agreements?status=expired", headers=later(PPU)).get_json()
        assert [a["id"] for a in listed["items"]] == [agreement["id"]]
