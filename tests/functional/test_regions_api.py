"""GET /api/v1/regions, names beside codes in the directory, known codes on input."""

from __future__ import annotations

import pytest

from tests.clients_support import PPU, RW, adult_body
from tests.conftest import problem

READ = "directory:read"


def test_regions_by_name(client, hub):
    response = client.get("/api/v1/regions?q=balikpapan", headers=hub.headers(PPU, READ))
    assert response.status_code == 200, response.get_data(as_text=True)
    first = response.get_json()["items"][0]
    assert first == {"code": "64.71", "name": "Kota Balikpapan", "level": 2, "parent": "64"}


def test_regions_by_code_prefix_level_and_parent_are_paged(client, hub):
    headers = hub.headers(PPU, READ)
    body = client.get("/api/v1/regions?q=64.7&level=2", headers=headers).get_json()
    assert [r["code"] for r in body["items"]] == ["64.71", "64.72", "64.74"]

    page = client.get("/api/v1/regions?parent=34.71&page_size=5", headers=headers)
    body = page.get_json()
    assert body["total"] == 14
    assert len(body["items"]) == 5
    assert body["next"]
    assert 'rel="next"' in page.headers["Link"]
    assert body["items"][0] == {
        "code": "34.71.01",
        "name": "Tegalrejo",
        "level": 3,
        "parent": "34.71",
    }
    provinces = client.get("/api/v1/regions?level=1&page_size=100", headers=headers).get_json()
    assert provinces["total"] == 38


def test_villages_are_listed_as_the_children_of_a_district(client, hub):
    body = client.get("/api/v1/regions?parent=35.74.03", headers=hub.headers(PPU, READ)).get_json()
    assert body["total"] > 0
    assert {r["level"] for r in body["items"]} == {4}


@pytest.mark.parametrize(
    ("query", "field"),
    [("parent=64.99", "parent"), ("parent=Balikpapan", "parent"), ("level=5", "level")],
)
def test_bad_region_queries_are_422_naming_the_field(client, hub, query, field):
    response = client.get(f"/api/v1/regions?{query}", headers=hub.headers(PPU, READ))
    assert response.status_code == 422
    assert field in problem(response)["errors"]


def test_regions_need_directory_read(client, hub):
    assert client.get("/api/v1/regions?q=bogor").status_code == 401


def test_organisations_carry_the_region_name_and_filter_by_known_regions(client, hub):
    headers = hub.headers(PPU, READ)
    org = client.get("/api/v1/organizations/uptd-ppa-ppu", headers=headers).get_json()
    assert org["region_code"] == "64.09"
    assert org["region_name"] == "Kabupaten Penajam Paser Utara"
    lpsk = client.get("/api/v1/organizations/lpsk", headers=headers).get_json()
    assert lpsk["region_code"] is None
    assert lpsk["region_name"] is None

    response = client.get("/api/v1/organizations?region=64.99", headers=headers)
    assert response.status_code == 422
    assert "region" in problem(response)["errors"]


def test_a_client_domicile_must_be_a_known_regency_or_district(client, hub):
    headers = hub.headers(PPU, RW)
    response = client.post(
        "/api/v1/clients", json=adult_body(domicile_region="64.99"), headers=headers
    )
    assert response.status_code == 422
    errors = problem(response)["errors"]
    assert errors["domicile_region"] == ["No Kemendagri region has the code '64.99'."]

    response = client.post(
        "/api/v1/clients", json=adult_body(domicile_region="34.71.01"), headers=headers
    )
    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/v1/agreements", "/api/v1/coverage/matrix"])
def test_agreement_filters_refuse_an_unknown_region(client, hub, path):
    headers = hub.headers("dp3a-kaltim", "agreements:read")
    response = client.get(f"{path}?region=64.99", headers=headers)
    assert response.status_code == 422
    assert "region" in problem(response)["errors"]
