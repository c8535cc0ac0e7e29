"""`flask hub load-partners`: idempotent, audited, all-or-nothing; a bad file stops the start."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from referral_hub import ConfigError, create_app
from referral_hub.audit.models import AuditEntry
from referral_hub.directory.models import Organization, OrganizationService, Service
from referral_hub.extensions import db

NEW_ORG = {
    "code": "rs-uji-ppu",
    "name": "Rumah Sakit Uji Penajam",
    "type": "health",
    "region_code": "64.09",
    "parent": "dp3ap2kb-ppu",
    "services": ["health_care", {"code": "forensic_exam", "capacity_status": "limited"}],
}


@pytest.fixture
def shipped(app) -> dict[str, Any]:
    return yaml.safe_load(Path(app.config["HUB_PARTNERS_FILE"]).read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: Any, name: str = "partners.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _load(app, path: Path | None = None):
    args = ["hub", "load-partners"] + ([str(path)] if path else [])
    return app.test_cli_runner().invoke(args=args)


def _snapshot(app) -> dict[str, Any]:
    """Every directory row and the audit log's length."""
    with app.app_context():
        snapshot = {
            "organizations": [
                tuple(row)
                for row in db.session.execute(
                    select(
                        Organization.id,
                        Organization.code,
                        Organization.name,
                        Organization.type,
                        Organization.region_code,
                        Organization.parent_id,
                        Organization.notes,
                    ).order_by(Organization.code)
                )
            ],
            "services": [
                tuple(row)
                for row in db.session.execute(
                    select(
                        Service.code,
                        Service.name_id,
                        Service.name_en,
                        Service.simfoni_group,
                        Service.position,
                    ).order_by(Service.code)
                )
            ],
            "offers": [
                tuple(row)
                for row in db.session.execute(
                    select(
                        OrganizationService.organization_id,
                        OrganizationService.service_code,
                        OrganizationService.capacity_status,
                    ).order_by(
                        OrganizationService.organization_id, OrganizationService.service_code
                    )
                )
            ],
            "audit": db.session.scalar(select(func.count()).select_from(AuditEntry)),
        }
        db.session.remove()
        return snapshot


def _org(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(o for o in data["organizations"] if o["code"] == code)


def _with_valid_changes(shipped: dict[str, Any]) -> dict[str, Any]:
    """The shipped file plus changes that would load: a new organisation, an edited one."""
    data = copy.deepcopy(shipped)
    data["organizations"].append(copy.deepcopy(NEW_ORG))
    _org(data, "polres-ppu")["name"] = "Kepolisian Resor Penajam Paser Utara (diubah)"
    _org(data, "uptd-ppa-ppu")["services"].append("psychological_counseling")
    return data


def test_reloading_the_shipped_file_changes_nothing_and_audits_nothing(app):
    before = _snapshot(app)
    result = _load(app)
    assert result.exit_code == 0, result.output
    assert "0 change(s)" in result.output
    assert _snapshot(app) == before


def test_changes_are_loaded_reported_and_audited_once(app, tmp_path, shipped, restore_directory):
    path = _write(tmp_path, _with_valid_changes(shipped))
    result = _load(app, path)
    assert result.exit_code == 0, result.output
    assert "3 change(s)" in result.output
    assert "+rs-uji-ppu" in result.output
    assert "~polres-ppu" in result.output
    assert "~uptd-ppa-ppu" in result.output
    with app.app_context():
        new = db.session.scalar(select(Organization).where(Organization.code == "rs-uji-ppu"))
        assert new.parent.code == "dp3ap2kb-ppu"
        assert {(s.service_code, s.capacity_status) for s in new.services} == {
            ("health_care", "available"),
            ("forensic_exam", "limited"),
        }
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "partners.loaded")
        ).all()
        assert len(entries) == 1
        assert entries[0].detail["organizations"] == ["+rs-uji-ppu", "~uptd-ppa-ppu", "~polres-ppu"]
        db.session.remove()

    before = _snapshot(app)
    again = _load(app, path)
    assert again.exit_code == 0
    assert "0 change(s)" in again.output
    assert _snapshot(app) == before


def test_removed_offer_and_changed_capacity_are_applied(app, tmp_path, shipped, restore_directory):
    data = copy.deepcopy(shipped)
    balikpapan = _org(data, "uptd-ppa-balikpapan")
    balikpapan["services"] = [
        {"code": "psychological_counseling", "capacity_status": "unavailable"}
    ]
    assert _load(app, _write(tmp_path, data)).exit_code == 0
    with app.app_context():
        org = db.session.scalar(
            select(Organization).where(Organization.code == "uptd-ppa-balikpapan")
        )
        assert [(s.service_code, s.capacity_status) for s in org.services] == [
            ("psychological_counseling", "unavailable")
        ]
        db.session.remove()


def test_the_directory_api_reflects_a_load(app, client, hub, tmp_path, shipped, restore_directory):
    assert _load(app, _write(tmp_path, _with_valid_changes(shipped))).exit_code == 0
    headers = hub.headers("uptd-ppa-ppu", "directory:read")
    body = client.get("/api/v1/organizations/rs-uji-ppu", headers=headers).get_json()
    assert body["type"] == "health"
    assert body["parent"]["code"] == "dp3ap2kb-ppu"


def _break_type(data):
    _org(data, "rs-uji-ppu")["type"] = "spaceship"


def _break_last_name(data):
    del data["organizations"][-1]["name"]


def _break_parent(data):
    _org(data, "rs-uji-ppu")["parent"] = "nowhere"


def _break_offer(data):
    _org(data, "kejari-ppu")["services"] = ["prosecution", "time_travel"]


def _break_duplicate(data):
    data["organizations"].append(copy.deepcopy(_org(data, "lpsk")))


def _break_service(data):
    data["services"][0]["name_en"] = ""


BROKEN = {
    "unknown type": (_break_type, "rs-uji-ppu", "type"),
    "missing name": (_break_last_name, "rs-uji-ppu", "name"),
    "unknown parent": (_break_parent, "rs-uji-ppu", "parent"),
    "unknown service offered": (_break_offer, "kejari-ppu", "services[1]"),
    "duplicate code": (_break_duplicate, "lpsk", "code"),
    "empty service label": (_break_service, "services[0]", "name_en"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_file_is_refused_and_nothing_is_half_loaded(
    app, tmp_path, shipped, restore_directory, name
):
    breaks, entry, field = BROKEN[name]
    # Valid changes come first in the file, the defect after them: none may land.
    data = _with_valid_changes(shipped)
    breaks(data)
    before = _snapshot(app)
    result = _load(app, _write(tmp_path, data))
    assert result.exit_code != 0
    assert "nothing changed" in result.output
    assert entry in result.output, result.output
    assert field in result.output, result.output
    assert _snapshot(app) == before


@pytest.mark.parametrize(
    "text",
    ["", "version: 1\nservices: [\n", "not: [a, mapping\n", "\t- tab\n"],
    ids=["empty", "unclosed", "flow", "tab"],
)
def test_unparseable_files_are_refused(app, tmp_path, text, restore_directory):
    path = tmp_path / "partners.yaml"
    path.write_text(text, encoding="utf-8")
    before = _snapshot(app)
    result = _load(app, path)
    assert result.exit_code != 0
    assert str(path) in result.output
    assert _snapshot(app) == before


def test_a_missing_file_is_refused(app, tmp_path):
    result = _load(app, tmp_path / "nope.yaml")
    assert result.exit_code != 0
    assert "cannot read" in result.output
    assert "Traceback" not in result.output


# --- the start-up check ---------------------------------------------------------------


def test_create_app_refuses_a_broken_partners_file(app_config, tmp_path, shipped):
    data = copy.deepcopy(shipped)
    _org(data, "polres-ppu")["type"] = "spaceship"
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as raised:
        create_app({**app_config, "HUB_PARTNERS_FILE": str(path)})
    message = str(raised.value)
    assert str(path) in message
    assert "polres-ppu" in message
    assert "type" in message


def test_create_app_in_production_needs_the_partners_file(app_config, tmp_path):
    config = {
        **app_config,
        "HUB_ENV": "production",
        "HUB_BASE_URL": "https://hub.example.org",
        "HUB_WEBHOOK_ALLOW_LOOPBACK": "0",
        "HUB_PARTNERS_FILE": str(tmp_path / "missing.yaml"),
    }
    with pytest.raises(ConfigError, match="partners file not found"):
        create_app(config)
