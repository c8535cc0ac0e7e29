"""partners.yaml and its checks: what ships is valid, and every defect names its entry and field."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from referral_hub.directory.partners_file import (
    PartnersFileError,
    default_partners_path,
    read_partners_file,
    schema_path,
)

REQUIRED_CODES = {
    "uptd-ppa-ppu": "uptd_ppa",
    "uptd-ppa-balikpapan": "uptd_ppa",
    "uptd-ppa-bontang": "uptd_ppa",
    "uptd-ppa-kukar": "uptd_ppa",
    "polres-ppu": "police",
    "kejari-ppu": "prosecutor",
    "pn-penajam": "district_court",
    "pa-penajam": "religious_court",
    "dinsos-ppu": "social_service",
    "pa-balikpapan": "religious_court",
    "kemenag-balikpapan": "religious_affairs",
    "lpsk": "lpsk",
    "dp3a-kaltim": "hub_operator",
}


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    return yaml.safe_load(default_partners_path().read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "partners.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _org(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(o for o in data["organizations"] if o["code"] == code)


def _index(data: dict[str, Any], code: str) -> int:
    return next(i for i, o in enumerate(data["organizations"]) if o["code"] == code)


# --- what ships --------------------------------------------------------------------------


def test_schema_is_a_valid_json_schema():
    Draft202012Validator.check_schema(json.loads(schema_path().read_text(encoding="utf-8")))


def test_shipped_file_loads_with_the_codes_the_api_uses():
    data = read_partners_file()
    orgs = {o["code"]: o for o in data["organizations"]}
    for code, kind in REQUIRED_CODES.items():
        assert orgs[code]["type"] == kind, code
    assert any(o["type"] == "community" for o in orgs.values())
    offered = {o["code"]: {s["code"] for s in o["services"]} for o in orgs.values()}
    assert "psychological_counseling" in offered["uptd-ppa-balikpapan"]
    assert "psychological_counseling" not in offered["uptd-ppa-ppu"]
    assert offered["dp3a-kaltim"] == set()
    assert orgs["lpsk"]["region_code"] is None
    assert orgs["uptd-ppa-ppu"]["region_code"] == "64.09"
    service_codes = {s["code"] for s in data["services"]}
    assert all(offer <= service_codes for offer in offered.values())


def test_shipped_file_holds_no_personal_contact_data():
    text = default_partners_path().read_text(encoding="utf-8")
    assert "@" not in text
    assert not re.search(r"(\+62|\b0)\d{2,4}[- ]?\d{3,4}[- ]?\d{3,5}\b", text), "phone number"


def test_offers_are_normalised_with_their_capacity(tmp_path, shipped):
    data = copy.deepcopy(shipped)
    _org(data, "uptd-ppa-ppu")["services"] = [
        "case_management",
        {"code": "temporary_shelter", "capacity_status": "limited"},
        {"code": "outreach"},
    ]
    loaded = read_partners_file(_write(tmp_path, data))
    assert _org(loaded, "uptd-ppa-ppu")["services"] == [
        {"code": "case_management", "capacity_status": "available"},
        {"code": "temporary_shelter", "capacity_status": "limited"},
        {"code": "outreach", "capacity_status": "available"},
    ]


# --- every defect names the entry and the field -----------------------------------------


def _set(code: str, field: str, value: Any) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        _org(data, code)[field] = value

    return change


def _drop(code: str, field: str) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        del _org(data, code)[field]

    return change


def _duplicate_org(data: dict) -> None:
    data["organizations"].append(copy.deepcopy(_org(data, "polres-ppu")))


def _offer_twice(data: dict) -> None:
    _org(data, "uptd-ppa-ppu")["services"] += ["outreach", "outreach"]


def _cycle(data: dict) -> None:
    _org(data, "uptd-ppa-ppu")["parent"] = "dp3ap2kb-ppu"
    _org(data, "dp3ap2kb-ppu")["parent"] = "uptd-ppa-ppu"


def _bad_service_code(data: dict) -> None:
    data["services"][1]["code"] = "Outreach Services"


VARIANTS = {
    "unknown type": (_set("polres-ppu", "type", "spaceship"), "polres-ppu", "type"),
    "missing name": (_drop("kejari-ppu", "name"), "kejari-ppu", "name"),
    "empty name": (_set("kejari-ppu", "name", ""), "kejari-ppu", "name"),
    "long name": (_set("kejari-ppu", "name", "K" * 201), "kejari-ppu", "name"),
    "bad region": (_set("pn-penajam", "region_code", "64.9"), "pn-penajam", "region_code"),
    "region as number": (_set("pn-penajam", "region_code", 64.09), "pn-penajam", "region_code"),
    "unknown parent": (_set("uptd-ppa-ppu", "parent", "nowhere"), "uptd-ppa-ppu", "parent"),
    "own parent": (_set("uptd-ppa-ppu", "parent", "uptd-ppa-ppu"), "uptd-ppa-ppu", "parent"),
    "parent cycle": (_cycle, "cycle", "parent"),
    "unknown service": (
        _set("dinsos-ppu", "services", ["time_travel"]),
        "dinsos-ppu",
        "services[0]",
    ),
    "bad capacity": (
        _set("dinsos-ppu", "services", [{"code": "outreach", "capacity_status": "full"}]),
        "dinsos-ppu",
        "capacity_status",
    ),
    "service offered twice": (_offer_twice, "uptd-ppa-ppu", "services["),
    "duplicate code": (_duplicate_org, "polres-ppu", "code"),
    "unknown field": (_set("lpsk", "phone", "021-000"), "lpsk", "phone"),
    "operator offering a service": (
        _set("dp3a-kaltim", "services", ["outreach"]),
        "dp3a-kaltim",
        "services",
    ),
    "bad code": (_set("lpsk", "code", "LPSK Pusat"), "organizations[", "code"),
    "bad service code": (_bad_service_code, "services[1]", "code"),
    "notes with a line break": (_set("lpsk", "notes", "one\ntwo"), "lpsk", "notes"),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_defect_is_refused_naming_entry_and_field(tmp_path, shipped, name):
    change, entry, field = VARIANTS[name]
    data = copy.deepcopy(shipped)
    change(data)
    with pytest.raises(PartnersFileError) as raised:
        read_partners_file(_write(tmp_path, data))
    message = str(raised.value)
    assert entry in message, message
    assert field in message, message


def test_every_defect_is_reported_at_once(tmp_path, shipped):
    data = copy.deepcopy(shipped)
    _org(data, "polres-ppu")["type"] = "spaceship"
    del _org(data, "kejari-ppu")["name"]
    with pytest.raises(PartnersFileError) as raised:
        read_partners_file(_write(tmp_path, data))
    problems = raised.value.problems
    assert len(problems) == 2
    assert f"organizations[{_index(data, 'polres-ppu')}] (code 'polres-ppu')" in problems[0]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("version: 1\nservices: [\n", "line"),
        ("version: 1\nversion: 1\n", "duplicate key"),
        ("- a list\n", "top level"),
        ("version: 2\nservices: []\norganizations: []\n", "version"),
        ("version: 1\norganizations: []\n", "services"),
        ("version: 1\nservices: [{code: a, name_id: A, name_en: A}]\n", "organizations"),
    ],
    ids=["empty", "syntax", "duplicate-key", "list", "version", "no-services", "no-orgs"],
)
def test_broken_documents_are_refused_with_a_message(tmp_path, text, fragment):
    path = tmp_path / "partners.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PartnersFileError) as raised:
        read_partners_file(path)
    assert fragment in str(raised.value)


def test_unreadable_files_are_refused(tmp_path):
    with pytest.raises(PartnersFileError, match="cannot read"):
        read_partners_file(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(PartnersFileError, match="UTF-8"):
        read_partners_file(binary)


def test_yaml_tags_that_build_objects_are_refused(tmp_path):
    path = tmp_path / "partners.yaml"
    path.write_text("version: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(PartnersFileError):
        read_partners_file(path)
