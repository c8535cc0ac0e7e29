"""Clients over HTTP: who may register and read them, what is validated, how a NIK is found."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from referral_hub.clients.models import local_today
from tests.clients_support import (
    BALIKPAPAN,
    BONTANG,
    POLRES,
    PPU,
    RW,
    adult_body,
    child_body,
    create_client,
    parent_consent_body,
    years_ago,
)
from tests.conftest import problem


def test_register_answers_code_and_derived_age_without_echoing_personal_data(client, hub):
    headers = hub.headers(PPU, RW)
    response = client.post(
        "/api/v1/clients",
        json=adult_body(full_name="Siti Aminah", nik="6409011234560001", phone="0812 345 678"),
        headers=headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    year = local_today().year
    assert re.fullmatch(rf"KL-PPU-{year}-\d{{6}}", body["code"])
    assert body["age_band"] == "25-44"
    assert body["is_child"] is False
    assert response.headers["Location"].endswith(f"/api/v1/clients/{body['id']}")
    text = response.get_data(as_text=True)
    assert "Siti" not in text
    assert "6409011234560001" not in text
    # the phone, as typed or as digits (a bare "345" may be part of a random id)
    assert "345 678" not in text
    assert "812345678" not in text


def test_the_owner_reads_every_field_back(client, hub):
    headers = hub.headers(PPU, RW)
    sent = child_body(
        nik="6409 0112 3456 0002",
        phone="+62 812-3456-7890",
        address="Jl. Contoh No. 5, RT 03, Kel. Nipah-Nipah",
        disability=["intellectual"],
        simfoni_id="SIMFONI/2026/000123",
    )
    created = create_client(client, headers, sent)
    got = client.get(f"/api/v1/clients/{created['id']}", headers=headers)
    assert got.status_code == 200
    body = got.get_json()
    assert body["full_name"] == sent["full_name"]
    assert body["nik"] == "6409011234560002"
    assert body["birth_date"] == sent["birth_date"]
    assert body["phone"] == sent["phone"]
    assert body["address"] == sent["address"]
    assert body["guardian"] == {**sent["guardian"], "is_alleged_perpetrator": False}
    assert body["disability"] == ["intellectual"]
    assert body["simfoni_id"] == "SIMFONI/2026/000123"
    assert body["organization"]["code"] == PPU
    assert (body["age_band"], body["is_child"]) == ("6-12", True)


@pytest.mark.parametrize(
    ("years", "days", "band", "is_child"),
    [
        (18, 0, "18-24", False),
        (18, -1, "13-17", True),
        (5, 0, "0-5", True),
        (0, 3, "0-5", True),
        (60, 0, "60+", False),
    ],
    ids=["18 today", "18 tomorrow", "5", "newborn", "60"],
)
def test_age_band_and_childhood_are_derived_from_the_birth_date(
    client, hub, years, days, band, is_child
):
    born = years_ago(years, days)
    body = (child_body if is_child else adult_body)(birth_date=born.isoformat())
    created = create_client(client, hub.headers(PPU, RW), body)
    assert (created["age_band"], created["is_child"]) == (band, is_child)


def test_codes_count_up_per_unit(client, hub):
    ppu = hub.headers(PPU, RW)
    first = create_client(client, ppu, adult_body())["code"]
    second = create_client(client, ppu, adult_body())["code"]
    other = create_client(client, hub.headers(BALIKPAPAN, RW), adult_body())["code"]
    assert int(second[-6:]) == int(first[-6:]) + 1
    assert other.startswith("KL-BALIKPAPAN-")


def test_only_a_uptd_registers_clients(client, hub):
    headers = hub.headers(POLRES, RW)
    response = client.post("/api/v1/clients", json=adult_body(), headers=headers)
    assert response.status_code == 403
    assert problem(response)["type"].endswith("/problems/not-a-uptd")
    listing = client.get("/api/v1/clients", headers=headers)
    assert listing.status_code == 403


def test_another_unit_gets_404_for_everything_about_a_client(client, hub):
    created = create_client(client, hub.headers(PPU, RW), child_body())
    for org in (BONTANG, POLRES):
        headers = hub.headers(org, RW)
        for path in ("", "/disclosures", "/consents"):
            response = client.get(f"/api/v1/clients/{created['id']}{path}", headers=headers)
            assert response.status_code == 404, (org, path)
            assert "Anak" not in response.get_data(as_text=True)
        consent = client.post(
            f"/api/v1/clients/{created['id']}/consents",
            json=parent_consent_body(),
            headers=headers,
        )
        assert consent.status_code == 404, org
    assert client.get("/api/v1/clients/nope", headers=hub.headers(PPU, RW)).status_code == 404


def test_scopes_are_enforced(client, hub):
    read_only = hub.headers(PPU, "clients:read")
    response = client.post("/api/v1/clients", json=adult_body(), headers=read_only)
    assert response.status_code == 403
    assert problem(response)["type"].endswith("/problems/insufficient-scope")
    created = create_client(client, hub.headers(PPU, RW), adult_body())
    directory_only = hub.headers(PPU, "directory:read")
    assert client.get(f"/api/v1/clients/{created['id']}", headers=directory_only).status_code == 403
    assert client.get(f"/api/v1/clients/{created['id']}").status_code == 401


def _search(client, headers, **criteria):
    return client.post("/api/v1/clients/search", json=criteria, headers=headers)


def test_nik_finds_the_client_through_its_blind_index_in_the_own_unit_only(client, hub):
    ppu = hub.headers(PPU, RW)
    created = create_client(client, ppu, adult_body(nik="6409011234560003"))
    create_client(client, ppu, adult_body(nik="6409011234560004"))
    found = _search(client, ppu, nik="6409.0112.3456.0003").get_json()
    assert [c["id"] for c in found["items"]] == [created["id"]]
    assert "full_name" not in found["items"][0]
    assert _search(client, ppu, nik="6409011234569999").get_json()["total"] == 0
    bontang = _search(client, hub.headers(BONTANG, RW), nik="6409011234560003")
    assert bontang.get_json()["total"] == 0
    assert _search(client, ppu, nik="12").status_code == 422


def test_a_nik_in_a_url_is_refused_and_never_searched(client, hub):
    # Access logs and proxies keep URLs: the NIK travels in a POST body only.
    ppu = hub.headers(PPU, RW)
    create_client(client, ppu, adult_body(nik="6409011234560005"))
    response = client.get("/api/v1/clients?nik=6409011234560005", headers=ppu)
    assert response.status_code == 422
    body = problem(response)
    assert "POST /api/v1/clients/search" in body["errors"]["nik"][0]
    assert "6409011234560005" not in response.get_data(as_text=True)
    assert client.get("/api/v1/clients", headers=ppu).get_json()["total"] == 1


def test_search_by_nik_in_the_body_keeps_it_out_of_urls(client, hub):
    ppu = hub.headers(PPU, RW)
    created = create_client(client, ppu, adult_body(nik="6409011234560006"))
    found = client.post(
        "/api/v1/clients/search", json={"nik": "6409 0112 3456 0006"}, headers=ppu
    ).get_json()
    assert [c["id"] for c in found["items"]] == [created["id"]]
    by_code = client.post("/api/v1/clients/search", json={"code": created["code"]}, headers=ppu)
    assert by_code.get_json()["total"] == 1
    other = hub.headers(BONTANG, RW)
    missing = client.post("/api/v1/clients/search", json={"nik": "6409011234560006"}, headers=other)
    assert missing.get_json()["total"] == 0
    assert client.post("/api/v1/clients/search", json={}, headers=ppu).status_code == 422


def test_search_is_an_action_not_a_client_id(client, hub):
    # OPTIONS and 405 name only what /clients/search answers (POST), not the client reads
    # whose path it would otherwise match as an id.
    allowed = client.options("/api/v1/clients/search").headers["Allow"]
    assert set(allowed.replace(" ", "").split(",")) == {"POST", "OPTIONS"}
    refused = client.get("/api/v1/clients/search", headers=hub.headers(PPU, RW))
    assert refused.status_code == 405
    assert refused.headers["Content-Type"].startswith("application/problem+json")


def test_the_same_nik_twice_in_a_unit_is_a_conflict_naming_the_first(client, hub):
    ppu = hub.headers(PPU, RW)
    first = create_client(client, ppu, adult_body(nik="6409011234560005"))
    again = client.post("/api/v1/clients", json=adult_body(nik="6409011234560005"), headers=ppu)
    assert again.status_code == 409
    body = problem(again)
    assert body["type"].endswith("/problems/client-already-registered")
    assert body["client"] == {"id": first["id"], "code": first["code"]}
    # Another unit may register the same person.
    create_client(client, hub.headers(BALIKPAPAN, RW), adult_body(nik="6409011234560005"))


def test_listing_is_paginated_and_pseudonymous(client, hub):
    ppu = hub.headers(PPU, RW)
    for _ in range(3):
        create_client(client, ppu, adult_body(full_name="Nama Rahasia"))
    page = client.get("/api/v1/clients?page_size=2", headers=ppu)
    body = page.get_json()
    assert body["total"] == 3
    assert len(body["items"]) == 2
    assert body["next"]
    assert 'rel="next"' in page.headers["Link"]
    assert "Rahasia" not in page.get_data(as_text=True)


FUTURE = (local_today() + dt.timedelta(days=1)).isoformat()
BAD_FIELDS = [
    ("nik", {"nik": "12345"}),
    ("nik", {"nik": "64090112345600AB"}),
    ("nik", {"nik": "64090112345600012"}),
    ("birth_date", {"birth_date": FUTURE}),
    ("birth_date", {"birth_date": "1850-01-01"}),
    ("birth_date", {"birth_date": "yesterday"}),
    ("sex", {"sex": "unknown"}),
    ("domicile_region", {"domicile_region": "64"}),
    ("domicile_region", {"domicile_region": "64.09.01.2001"}),
    ("domicile_region", {"domicile_region": "Penajam"}),
    ("phone", {"phone": "call me"}),
    ("phone", {"phone": "0" * 40}),
    ("full_name", {"full_name": "   "}),
    ("full_name", {"full_name": "x" * 201}),
    ("address", {"address": "x" * 501}),
    ("disability", {"disability": ["blind"]}),
    ("disability", {"disability": ["sensory", "sensory"]}),
    ("guardian", {"guardian": {"relationship": "ibu"}}),
    ("guardian", {"guardian": {"name": "A", "relationship": "ibu", "extra": 1}}),
    ("religion", {"religion": "islam"}),
    ("simfoni_id", {"simfoni_id": "<script>"}),
]


@pytest.mark.parametrize(
    ("field", "change"), BAD_FIELDS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_FIELDS)]
)
def test_bad_fields_are_422_naming_the_field(client, hub, field, change):
    response = client.post(
        "/api/v1/clients", json=adult_body(**change), headers=hub.headers(PPU, RW)
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in problem(response)["errors"]


@pytest.mark.parametrize("missing", ["full_name", "birth_date", "sex", "domicile_region"])
def test_required_fields(client, hub, missing):
    body = adult_body()
    del body[missing]
    response = client.post("/api/v1/clients", json=body, headers=hub.headers(PPU, RW))
    assert response.status_code == 422
    assert missing in problem(response)["errors"]


def test_bodies_must_be_json_of_bounded_size(client, hub, app):
    headers = hub.headers(PPU, RW)
    as_form = client.post("/api/v1/clients", data={"full_name": "x"}, headers=headers)
    assert as_form.status_code == 415
    broken = client.post(
        "/api/v1/clients",
        data='{"full_name": ',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert problem(broken)["type"].endswith("/problems/malformed-json")
    limit = app.config["HUB_JSON_BODY_LIMIT"]
    huge = client.post(
        "/api/v1/clients", json=adult_body(address="x" * (limit + 10)), headers=headers
    )
    assert huge.status_code == 413
    problem(huge)


@pytest.mark.parametrize("value", [0, 1, "yes", "on", "true", None])
def test_the_perpetrator_flag_is_a_json_boolean_not_a_guess(client, hub, value):
    body = child_body(
        guardian={"name": "Ayah", "relationship": "ayah", "is_alleged_perpetrator": value}
    )
    response = client.post("/api/v1/clients", json=body, headers=hub.headers(PPU, RW))
    assert response.status_code == 422
    assert "guardian" in problem(response)["errors"]
