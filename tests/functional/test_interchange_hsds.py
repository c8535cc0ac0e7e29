"""The directory as Open Referral HSDS 3.0: every page and object valid against the official
schemas (with format checking), canonical UUIDs, paging, and no shelter's whereabouts."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from jsonschema import FormatChecker
from jsonschema.validators import validator_for

from tests.conftest import problem
from tests.orgs import BONTANG, PPU

#: The official compiled schemas, copied unchanged with their licence (see its README).
STANDARD = Path(__file__).resolve().parents[1] / "standards" / "hsds-3.0"
READ = "directory:read"
LOCATION_KEYS = {
    "locations",
    "location",
    "location_id",
    "service_at_locations",
    "service_areas",
    "addresses",
    "latitude",
    "longitude",
}
CHECKER = FormatChecker()


def _schema(name: str) -> dict[str, Any]:
    return json.loads((STANDARD / name).read_text())


def _validator(name: str):
    schema = _schema(name)
    return validator_for(schema)(schema, format_checker=CHECKER)


def _page_validator():
    page = _schema("openapi.json")["components"]["schemas"]["Page"]
    page = {**page, "required": [*list(page["properties"]), "contents"]}
    page["properties"] = {**page["properties"], "contents": {"type": "array"}}
    return validator_for(page)(page, format_checker=CHECKER)


def _valid(validator, value: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def _canonical(value: str) -> bool:
    return str(uuid.UUID(value)) == value


def _all(client, headers, path: str, per_page: int = 100) -> list[dict[str, Any]]:
    contents, page = [], 1
    while True:
        got = client.get(f"{path}?page={page}&per_page={per_page}", headers=headers)
        assert got.status_code == 200, got.get_data(as_text=True)
        body = got.get_json()
        contents += body["contents"]
        if body["last_page"]:
            return contents
        page += 1


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_the_format_checker_really_checks_the_formats_the_schemas_use():
    # Without its optional packages jsonschema passes every "uri" and "date-time" silently.
    assert not CHECKER.conforms("not a uuid", "uuid")
    assert not CHECKER.conforms("no scheme", "uri")
    assert not CHECKER.conforms("2024-13-45", "date-time")
    assert not CHECKER.conforms("nobody", "email")


def test_the_api_says_its_hsds_version(client, hub):
    got = client.get("/hsds/", headers=hub.headers(PPU, READ))
    assert got.status_code == 200
    body = got.get_json()
    assert body["version"] == "3.0"
    assert body["openapi_url"].endswith("/openapi.json")


def test_a_token_with_directory_read_is_required(client, hub):
    for path in ("/hsds/", "/hsds/services", "/hsds/organizations"):
        anonymous = client.get(path)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].lower().startswith("bearer")
        assert anonymous.mimetype == "application/problem+json"
        wrong = client.get(path, headers=hub.headers(PPU, "referrals:read"))
        assert wrong.status_code == 403


def test_every_organization_page_and_object_is_valid_hsds(client, hub):
    headers = hub.headers(PPU, READ)
    page_validator, item_validator = _page_validator(), _validator("organization_list.json")
    full_validator = _validator("organization.json")
    first = client.get("/hsds/organizations?per_page=7", headers=headers)
    assert first.status_code == 200
    _valid(page_validator, first.get_json())
    listed = _all(client, headers, "/hsds/organizations", per_page=7)
    assert len(listed) == first.get_json()["total_items"] > 7
    assert len({o["id"] for o in listed}) == len(listed)
    for item in listed:
        _valid(item_validator, item)
        assert _canonical(item["id"])
        got = client.get(f"/hsds/organizations/{item['id']}", headers=headers)
        assert got.status_code == 200, got.get_data(as_text=True)
        full = got.get_json()
        _valid(full_validator, full)
        assert full["id"] == item["id"]
        assert all(_canonical(s["id"]) for s in full["services"])
    by_code = {o["alternate_name"]: o for o in listed}
    ppu = client.get(f"/hsds/organizations/{by_code[PPU]['id']}", headers=headers).get_json()
    identifiers = {i["identifier"] for i in ppu["organization_identifiers"]}
    assert {PPU, hub.org(PPU)["id"]} <= identifiers
    parent = by_code[PPU]["parent_organization_id"]
    assert by_code["dp3ap2kb-ppu"]["id"] == parent


def test_every_service_page_and_object_is_valid_hsds(client, hub):
    headers = hub.headers(PPU, READ)
    page_validator, item_validator = _page_validator(), _validator("service_list.json")
    full_validator = _validator("service.json")
    _valid(page_validator, client.get("/hsds/services", headers=headers).get_json())
    listed = _all(client, headers, "/hsds/services", per_page=10)
    assert len({s["id"] for s in listed}) == len(listed) > 10
    for item in listed:
        _valid(item_validator, item)
        assert _canonical(item["id"])
        assert _canonical(item["organization_id"])
        got = client.get(f"/hsds/services/{item['id']}", headers=headers)
        assert got.status_code == 200, got.get_data(as_text=True)
        full = got.get_json()
        _valid(full_validator, full)
        assert full["organization"]["id"] == item["organization_id"]
        assert full["status"] in ("active", "temporarily closed")


def test_ids_are_stable_uuids_that_are_accepted_back_and_case_insensitively(client, hub):
    from referral_hub.interchange.hsds import hsds_id

    headers = hub.headers(PPU, READ)
    one = client.get("/hsds/organizations?search=Penajam&per_page=100", headers=headers)
    again = client.get("/hsds/organizations?search=Penajam&per_page=100", headers=headers)
    assert one.get_json() == again.get_json()
    expected = hsds_id("organization", hub.org(PPU)["id"])
    assert expected in {o["id"] for o in one.get_json()["contents"]}
    upper = client.get(f"/hsds/organizations/{expected.upper()}", headers=headers)
    assert upper.status_code == 200
    assert upper.get_json()["id"] == expected


def test_paging_says_where_it_is(client, hub):
    headers = hub.headers(PPU, READ)
    total = client.get("/hsds/services?per_page=1", headers=headers).get_json()["total_items"]
    first = client.get("/hsds/services?per_page=4&page=1", headers=headers).get_json()
    assert (first["first_page"], first["last_page"], first["empty"]) == (True, False, False)
    assert first["size"] == 4
    assert first["page_number"] == 1
    assert first["total_pages"] == -(-total // 4)
    last = client.get(
        f"/hsds/services?per_page=4&page={first['total_pages']}", headers=headers
    ).get_json()
    assert last["last_page"]
    assert not last["first_page"]
    assert last["size"] == total - 4 * (first["total_pages"] - 1)
    beyond = client.get(
        f"/hsds/services?per_page=4&page={first['total_pages'] + 1}", headers=headers
    ).get_json()
    assert beyond["empty"]
    assert beyond["contents"] == []
    assert beyond["size"] == 0
    _valid(_page_validator(), beyond)
    too_big = client.get("/hsds/services?per_page=101", headers=headers)
    assert too_big.status_code == 422
    assert too_big.mimetype == "application/problem+json"


def test_services_of_one_organization(client, hub):
    from referral_hub.interchange.hsds import hsds_id

    headers = hub.headers(PPU, READ)
    org_id = hsds_id("organization", hub.org(PPU)["id"])
    body = client.get(f"/hsds/services?organization_id={org_id}", headers=headers).get_json()
    assert body["total_items"] == 6
    assert {s["organization_id"] for s in body["contents"]} == {org_id}
    unknown = client.get(f"/hsds/services?organization_id={uuid.uuid4()}", headers=headers)
    assert unknown.status_code == 200
    assert unknown.get_json()["empty"]


def test_an_unknown_id_is_a_404_problem(client, hub):
    headers = hub.headers(PPU, READ)
    for kind in ("services", "organizations"):
        for value in (str(uuid.uuid4()), "not-a-uuid", hub.org(PPU)["id"]):
            got = client.get(f"/hsds/{kind}/{value}", headers=headers)
            assert got.status_code == 404, (kind, value)
            assert got.mimetype == "application/problem+json"
            assert problem(got)["type"].endswith("/not-found")


def test_a_shelter_s_whereabouts_are_never_published(client, hub):
    headers = hub.headers(PPU, READ)
    services = [
        client.get(f"/hsds/services/{s['id']}", headers=headers).get_json()
        for s in _all(client, headers, "/hsds/services")
    ]
    shelters = [s for s in services if s["attributes"][0]["value"] == "temporary_shelter"]
    others = [s for s in services if s not in shelters]
    assert len(shelters) >= 5
    for shelter in shelters:
        assert not _keys(shelter) & LOCATION_KEYS, shelter["name"]
    runs_shelter = {s["organization_id"] for s in shelters}
    for service in others:
        if service["organization_id"] in runs_shelter:
            # Another service of the shelter's organisation would say where it is, too.
            assert not _keys(service) & LOCATION_KEYS
        else:
            # Everyone else's region is published (LPSK is national: it has none), so the
            # rule above is not vacuous.
            national = service["organization"]["alternate_name"] == "lpsk"
            assert national or service["service_areas"][0]["extent_type"] == "text"
    for org_id in runs_shelter:
        org = client.get(f"/hsds/organizations/{org_id}", headers=headers).get_json()
        assert not _keys(org) & LOCATION_KEYS, org["name"]


def test_focal_points_only_for_those_the_directory_shows_them_to(client, hub):
    partner = {
        "code": "lbh-hsds-ppu",
        "name": "LBH HSDS Penajam",
        "type": "legal_aid",
        "region_code": "64.09",
        "services": ["legal_aid"],
        "contacts": [{"name": "Rina", "title": "Koordinator", "phone": "+62 812 1111 2222"}],
    }
    made = client.post(
        "/api/v1/organizations",
        json=partner,
        headers=hub.headers(PPU, "directory:read directory:write"),
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    from referral_hub.interchange.hsds import hsds_id

    path = f"/hsds/organizations/{hsds_id('organization', made.get_json()['id'])}"
    own = client.get(path, headers=hub.headers(PPU, READ)).get_json()
    _valid(_validator("organization.json"), own)
    assert own["contacts"][0]["name"] == "Rina"
    assert own["contacts"][0]["phones"][0]["number"] == "+62 812 1111 2222"
    outsider = client.get(path, headers=hub.headers(BONTANG, READ)).get_json()
    assert "contacts" not in outsider
