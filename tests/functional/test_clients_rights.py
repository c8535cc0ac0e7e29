"""A client's UU PDP rights: the full export, rectification kept encrypted, and erasure by
destroying the client's own key, after which nothing yields the client's name while numbers,
statuses and the audit chain stay whole."""

from __future__ import annotations

import json
import pathlib

import pytest
from sqlalchemy import select

from referral_hub.clients.crypto import ClientKey
from referral_hub.extensions import db
from tests.clients_support import CANARY
from tests.referrals_support import PPU, Scenario, user_headers

RW = "clients:read clients:write"


@pytest.fixture
def scenario(app, client, hub) -> Scenario:
    return Scenario(app, client, hub)


def _supervisor(app, hub, org: str = PPU, role: str = "supervisor"):
    user = hub.user(org, role, email=f"{role}.rights.{org}@test.example")
    return user_headers(app, hub, org, user["id"], RW + " clients:erase")


def _erase(client, headers, client_id, reason="data_subject_request"):
    return client.post(
        f"/api/v1/clients/{client_id}/erase", json={"reason": reason}, headers=headers
    )


def _patch(client, headers, client_id, changes):
    """A rectification against the record as read (its ETag in If-Match)."""
    etag = client.get(f"/api/v1/clients/{client_id}", headers=headers).headers["ETag"]
    return client.patch(
        f"/api/v1/clients/{client_id}", json=changes, headers={**headers, "If-Match": etag}
    )


def _canaries_in(text: str) -> list[str]:
    return [v for k, v in CANARY.items() if k != "reason" and v in text]


def test_an_open_referral_refuses_the_erasure(app, client, hub, scenario):
    scenario.send()
    response = _erase(client, _supervisor(app, hub), scenario.client["id"])
    assert response.status_code == 409
    body = response.get_json()
    assert body["type"].endswith("/client-has-open-work")
    assert body["open_work"] == [{"reason": "open-referrals", "count": 1}]
    got = client.get(f"/api/v1/clients/{scenario.client['id']}", headers=scenario.ppu)
    assert got.get_json()["full_name"] == CANARY["full_name"]


def test_a_caseworker_may_not_erase_and_another_unit_finds_no_client(app, client, hub, scenario):
    caseworker = hub.user(PPU, "caseworker", email="cw.rights@test.example")
    headers = user_headers(app, hub, PPU, caseworker["id"], RW + " clients:erase")
    assert _erase(client, headers, scenario.client["id"]).status_code == 403
    from tests.orgs import KUKAR

    other = _supervisor(app, hub, KUKAR)
    assert _erase(client, other, scenario.client["id"]).status_code == 404
    machine = hub.headers(PPU, RW + " clients:erase")  # a unit's system, not a person: never erases
    assert _erase(client, machine, scenario.client["id"]).status_code == 403


@pytest.mark.commits  # reads the database file
def test_after_erasure_nothing_yields_the_client_and_the_chain_still_verifies(
    app, client, hub, scenario, database_url, monkeypatch
):
    cid = scenario.client["id"]
    referral = scenario.in_status("completed")
    # rectified before: the before/after is the client's data too
    patched = _patch(client, scenario.ppu, cid, {"address": "CANARY-ADDRESS-7731 baru"})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    export = client.get(f"/api/v1/clients/{cid}/export", headers=scenario.ppu)
    assert export.status_code == 200
    before = export.get_json()
    assert before["client"]["full_name"] == CANARY["full_name"]
    assert [r["number"] for r in before["referrals"]] == [referral["number"]]
    assert before["rectifications"][0]["before"] == {"address": CANARY["address"]}
    assert before["disclosures"], "the processing history is part of the export"
    with app.app_context():
        wrapped = db.session.get(ClientKey, cid).wrapped_key

    # rotate-keys before the erasure
    runner = app.test_cli_runner()
    assert runner.invoke(args=["hub", "rotate-keys"]).exit_code == 0

    supervisor = _supervisor(app, hub)
    response = _erase(client, supervisor, cid)
    assert response.status_code == 200, response.get_data(as_text=True)
    erased = response.get_json()
    assert erased["erased_at"]
    assert erased["full_name"] == "[erased]"
    assert erased["code"] == scenario.client["code"]
    assert erased["age_band"] == scenario.client["age_band"]
    again = _erase(client, supervisor, cid)
    assert again.status_code == 409

    seen = [
        client.get(f"/api/v1/clients/{cid}", headers=scenario.ppu),
        client.get(f"/api/v1/clients/{cid}/export", headers=scenario.ppu),
        client.get(f"/api/v1/clients/{cid}/consents", headers=scenario.ppu),
        client.get(f"/api/v1/referrals/{referral['id']}", headers=scenario.ppu),
        client.get(f"/api/v1/referrals/{referral['id']}", headers=scenario.balikpapan),
        client.get("/api/v1/referrals?box=sent", headers=scenario.ppu),
        client.post("/api/v1/clients/search", json={"nik": CANARY["nik"]}, headers=scenario.ppu),
    ]
    for response in seen:
        assert response.status_code == 200, response.get_data(as_text=True)
        assert _canaries_in(response.get_data(as_text=True)) == []
    assert seen[6].get_json()["total"] == 0  # no longer found by NIK
    referral_after = seen[3].get_json()
    assert referral_after["number"] == referral["number"]
    assert referral_after["status"] == "completed"

    # rotate-keys after the erasure: the destroyed key has nothing to re-wrap
    result = runner.invoke(args=["hub", "rotate-keys"])
    assert result.exit_code == 0, result.output
    audit = runner.invoke(args=["hub", "audit-verify"])
    assert audit.exit_code == 0, audit.output

    with app.app_context():
        row = db.session.get(ClientKey, cid)
        assert row.wrapped_key is None
        assert row.destroyed_at is not None
        entries = db.session.execute(select(db.metadata.tables["audit_entries"])).mappings().all()
        text = json.dumps([dict(e) for e in entries], default=str)
        assert _canaries_in(text) == []
        db.session.remove()
        db.engine.dispose()  # closes the connections: the WAL is checkpointed into the file
    if database_url.startswith("sqlite"):
        path = pathlib.Path(database_url.removeprefix("sqlite:///"))
        raw = b"".join(
            p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
        )
        for value in CANARY.values():
            assert value.encode() not in raw
        assert wrapped.encode() not in raw
        assert wrapped.split(".")[2].encode()[:24] not in raw


def test_rectification_keeps_before_and_after_encrypted_and_audits_fields_only(
    app, client, hub, scenario
):
    cid = scenario.client["id"]
    response = _patch(client, scenario.ppu, cid, {"full_name": "Nama Yang Benar"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "full_name" not in response.get_json()  # no personal data echoed
    got = client.get(f"/api/v1/clients/{cid}", headers=scenario.ppu).get_json()
    assert got["full_name"] == "Nama Yang Benar"
    with app.app_context():
        from referral_hub.clients.models import Rectification

        row = db.session.scalar(select(Rectification).where(Rectification.client_id == cid))
        assert row.fields == ["full_name"]
        assert row.before_enc.startswith("c1.")
        assert CANARY["full_name"] not in row.before_enc
        assert row.before == {"full_name": CANARY["full_name"]}
        entries = db.session.execute(select(db.metadata.tables["audit_entries"])).mappings().all()
        text = json.dumps([dict(e) for e in entries], default=str)
        assert "Nama Yang Benar" not in text
        assert CANARY["full_name"] not in text


def test_a_rectification_needs_the_etag_read_and_a_stale_one_is_refused(client, scenario):
    cid = scenario.client["id"]
    url = f"/api/v1/clients/{cid}"
    etag = client.get(url, headers=scenario.ppu).headers["ETag"]
    missing = client.patch(url, json={"phone": "081234567890"}, headers=scenario.ppu)
    assert missing.status_code == 428
    assert missing.get_json()["type"].endswith("/precondition-required")
    first = client.patch(
        url, json={"phone": "081234567890"}, headers={**scenario.ppu, "If-Match": etag}
    )
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.headers["ETag"] != etag
    stale = client.patch(
        url, json={"phone": "081299999999"}, headers={**scenario.ppu, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.headers["ETag"] == first.headers["ETag"]
    assert client.get(url, headers=scenario.ppu).get_json()["phone"] == "081234567890"


def test_an_organisation_admin_may_erase_a_client_without_open_work(app, client, hub, scenario):
    admin = hub.user(PPU, "org_admin", email="admin.rights@test.example")
    headers = user_headers(app, hub, PPU, admin["id"], "clients:erase")
    response = _erase(client, headers, scenario.client["id"], "duplicate_record")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["full_name"] == "[erased]"
