"""Disclosures (UU PDP Pasal 32): every read and share of a client's data, listed for the owner."""

from __future__ import annotations

import pytest

from referral_hub.audit.models import AuditEntry
from referral_hub.clients import operations as ops
from referral_hub.clients.models import Client, Disclosure
from referral_hub.extensions import db
from tests.clients_support import (
    BALIKPAPAN,
    BONTANG,
    PPU,
    RW,
    actor,
    child_body,
    create_client,
    create_consent,
    parent_consent_body,
)
from tests.conftest import problem


def _disclosures(client, headers, client_id, **query):
    response = client.get(
        f"/api/v1/clients/{client_id}/disclosures", query_string=query, headers=headers
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_the_owners_read_is_logged_with_what_it_showed(client, hub):
    headers = hub.headers(PPU, RW)
    created = create_client(client, headers, child_body())
    assert _disclosures(client, headers, created["id"]).get_json()["total"] == 0
    client.get(f"/api/v1/clients/{created['id']}", headers=headers)
    (entry,) = _disclosures(client, headers, created["id"]).get_json()["items"]
    assert entry["kind"] == "read"
    assert entry["basis"] == "owner"
    assert entry["categories"] == ["demographics", "identity", "guardian"]
    assert entry["organization"]["code"] == PPU
    assert entry["organization"]["id"] == hub.org(PPU)["id"]
    assert entry["actor"]["kind"] == "client"
    assert entry["actor"]["client_id"]
    assert entry["context"] == f"GET /api/v1/clients/{created['id']}"
    assert entry["at"].endswith(("Z", "+00:00"))


def test_searching_by_nik_reveals_nothing_and_logs_nothing(client, hub):
    headers = hub.headers(PPU, RW)
    created = create_client(client, headers, child_body(nik="6409011234560021"))
    found = client.post("/api/v1/clients/search", json={"nik": "6409011234560021"}, headers=headers)
    assert found.get_json()["total"] == 1
    assert _disclosures(client, headers, created["id"]).get_json()["total"] == 0


def test_a_recipients_read_and_a_share_are_listed_for_the_owner_only(client, hub, app):
    headers = hub.headers(PPU, RW)
    created = create_client(client, headers, child_body())
    consent = create_consent(client, headers, created["id"], parent_consent_body())
    with app.app_context():
        stored = db.session.get(Client, created["id"])
        # What the referral code does when sending, then when Balikpapan reads the referral.
        ops.record_disclosure(
            actor(PPU),
            stored,
            ["demographics", "identity"],
            f"consent:{consent['id']}",
            "referral:r1 sent",
            kind="share",
            to_organization_id=hub.org(BALIKPAPAN)["id"],
        )
        ops.record_disclosure(
            actor(BALIKPAPAN),
            stored,
            ["demographics", "identity"],
            f"consent:{consent['id']}",
            "referral:r1 read",
        )
        db.session.commit()
        actions = set(db.session.scalars(db.select(AuditEntry.action)))
        assert {"client.share", "client.read"} <= actions
    items = _disclosures(client, headers, created["id"]).get_json()["items"]
    assert [(i["kind"], i["organization"]["code"], i["context"]) for i in items] == [
        ("read", BALIKPAPAN, "referral:r1 read"),
        ("share", BALIKPAPAN, "referral:r1 sent"),
    ]
    assert all(i["basis"] == f"consent:{consent['id']}" for i in items)
    for other in (BALIKPAPAN, BONTANG):
        response = client.get(
            f"/api/v1/clients/{created['id']}/disclosures", headers=hub.headers(other, RW)
        )
        assert response.status_code == 404
        problem(response)


def test_disclosures_are_paginated_newest_first(client, hub):
    headers = hub.headers(PPU, RW)
    created = create_client(client, headers, child_body())
    for _ in range(3):
        client.get(f"/api/v1/clients/{created['id']}", headers=headers)
    first = _disclosures(client, headers, created["id"], page_size=2)
    body = first.get_json()
    assert body["total"] == 3
    assert len(body["items"]) == 2
    assert 'rel="next"' in first.headers["Link"]
    rest = _disclosures(client, headers, created["id"], page_size=2, page=2).get_json()
    times = [i["at"] for i in body["items"] + rest["items"]]
    assert times == sorted(times, reverse=True)


def test_record_disclosure_refuses_unknown_categories_and_kinds(app_ctx, hub, client):
    created = create_client(client, hub.headers(PPU, RW), child_body())
    stored = db.session.get(Client, created["id"])
    with pytest.raises(ValueError, match="categories"):
        ops.record_disclosure(actor(PPU), stored, ["identiy"], "owner", "x")
    with pytest.raises(ValueError, match="categories"):
        ops.record_disclosure(actor(PPU), stored, [], "owner", "x")
    with pytest.raises(ValueError, match="kind"):
        ops.record_disclosure(actor(PPU), stored, ["identity"], "owner", "x", kind="peek")
    assert db.session.scalar(db.select(db.func.count()).select_from(Disclosure)) == 0


def test_reading_consents_logs_the_givers_identity(client, hub):
    headers = hub.headers(PPU, RW)
    created = create_client(client, headers, child_body())
    consent = create_consent(client, headers, created["id"], parent_consent_body())
    client.get(f"/api/v1/consents/{consent['id']}", headers=headers)
    (entry,) = _disclosures(client, headers, created["id"]).get_json()["items"]
    assert entry["categories"] == ["guardian"]
    assert consent["id"] in entry["context"]
