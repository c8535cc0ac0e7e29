"""Consent over HTTP: who may give it, what it covers, and withdrawal taking effect at once."""

from __future__ import annotations

import datetime as dt

import pytest

from referral_hub.clients import operations as ops
from referral_hub.clients.models import Consent, local_today
from referral_hub.clients.signals import consent_withdrawn
from referral_hub.extensions import db
from tests.clients_support import (
    BALIKPAPAN,
    BONTANG,
    POLRES,
    PPU,
    RW,
    adult_body,
    child_body,
    consent_body,
    create_client,
    create_consent,
    parent_consent_body,
)
from tests.conftest import problem

PERPETRATOR_FATHER = {
    "name": "Budi Santoso",
    "relationship": "ayah kandung",
    "phone": "0812000111",
    "is_alleged_perpetrator": True,
}
YESTERDAY = (local_today() - dt.timedelta(days=1)).isoformat()
TODAY = local_today().isoformat()

#: (case, client body, consent body, status, problem slug or field in `errors`)
RULES = [
    ("adult by client", adult_body(), consent_body(), 201, None),
    (
        "child by client alone",
        child_body(),
        consent_body(child_assent=True),
        422,
        "consent-giver-not-allowed",
    ),
    ("child by parent with assent", child_body(), parent_consent_body(), 201, None),
    (
        "child by guardian, child disagrees",
        child_body(),
        parent_consent_body(
            given_by="guardian",
            child_assent=False,
            child_assent_refusal_reason="Anak ingin memikirkannya dulu.",
        ),
        201,
        None,
    ),
    (
        "child by parent, assent not recorded",
        child_body(),
        {k: v for k, v in parent_consent_body().items() if k != "child_assent"},
        422,
        "child_assent",
    ),
    (
        "adult with assent field",
        adult_body(),
        consent_body(child_assent=True),
        422,
        "child_assent",
    ),
    (
        "giver flagged as alleged perpetrator",
        child_body(),
        parent_consent_body(giver_is_alleged_perpetrator=True),
        422,
        "consent-giver-not-allowed",
    ),
    (
        "perpetrator guardian named as giver",
        child_body(guardian=PERPETRATOR_FATHER),
        parent_consent_body(giver_name="budi  SANTOSO", giver_relationship="ayah"),
        422,
        "consent-giver-not-allowed",
    ),
    (
        "perpetrator guardian's first name as giver",
        child_body(guardian=PERPETRATOR_FATHER),
        parent_consent_body(giver_name="Budi", giver_relationship="ayah"),
        422,
        "consent-giver-needs-clearance",
    ),
    (
        "other parent when guardian is perpetrator",
        child_body(guardian=PERPETRATOR_FATHER),
        parent_consent_body(giver_name="Siti Aminah"),
        201,
        None,
    ),
    (
        "adult by parent",
        adult_body(),
        consent_body(given_by="parent", giver_name="Ibu", giver_relationship="ibu"),
        422,
        "consent-giver-not-allowed",
    ),
    (
        "adult with disability by guardian",
        adult_body(disability=["intellectual"]),
        consent_body(given_by="guardian", giver_name="Kakak", giver_relationship="kakak (wali)"),
        201,
        None,
    ),
    (
        "parent without name",
        child_body(),
        {k: v for k, v in parent_consent_body().items() if k != "giver_name"},
        422,
        "giver_name",
    ),
    (
        "valid until yesterday",
        adult_body(),
        consent_body(valid_until=YESTERDAY),
        422,
        "valid_until",
    ),
    ("valid until today", adult_body(), consent_body(valid_until=TODAY), 201, None),
    (
        "valid for 50 years",
        adult_body(),
        consent_body(valid_until=(local_today() + dt.timedelta(days=365 * 50)).isoformat()),
        422,
        "valid_until",
    ),
    (
        "unknown recipient",
        adult_body(),
        consent_body(recipients=["uptd-ppa-atlantis"]),
        422,
        "recipients",
    ),
    ("own unit as recipient", adult_body(), consent_body(recipients=[PPU]), 422, "recipients"),
    ("unknown service", adult_body(), consent_body(services=["astrology"]), 422, "services"),
    (
        "unknown category",
        adult_body(),
        consent_body(data_categories=["identity", "religion"]),
        422,
        "data_categories",
    ),
    ("no recipients", adult_body(), consent_body(recipients=[]), 422, "recipients"),
    (
        "bad evidence hash",
        adult_body(),
        consent_body(evidence_sha256="abc"),
        422,
        "evidence_sha256",
    ),
    ("unknown method", adult_body(), consent_body(method="oral"), 422, "method"),
    ("unknown giver", adult_body(), consent_body(given_by="neighbour"), 422, "given_by"),
    ("unknown field", adult_body(), consent_body(witness="x"), 422, "witness"),
]


@pytest.mark.parametrize(
    ("client_body", "body", "status", "expected"),
    [case[1:] for case in RULES],
    ids=[case[0] for case in RULES],
)
def test_consent_rules(client, hub, client_body, body, status, expected):
    headers = hub.headers(PPU, RW)
    created = create_client(client, headers, client_body)
    response = client.post(f"/api/v1/clients/{created['id']}/consents", json=body, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 201:
        return
    details = problem(response)
    if expected.startswith("consent-"):
        assert details["type"].endswith(f"/problems/{expected}")
    else:
        assert details["type"].endswith("/problems/validation-error")
        assert expected in details["errors"], details


def test_a_childs_consent_records_giver_and_assent(client, hub):
    headers = hub.headers(PPU, RW)
    created = create_client(client, headers, child_body())
    body = create_consent(
        client,
        headers,
        created["id"],
        parent_consent_body(
            child_assent=False,
            child_assent_refusal_reason="Anak belum siap ceritanya dibagikan.",
            recipients=[get_organization_id(hub, BALIKPAPAN), POLRES],
            data_categories=["identity", "case_summary"],
            evidence_sha256="AB" * 32,
        ),
    )
    assert body["status"] == "active"
    assert body["client_was_child"] is True
    assert body["child_assent"] is False
    assert body["child_assent_refusal_reason"] == "Anak belum siap ceritanya dibagikan."
    assert body["giver_name"] == "Ibu Contoh"
    assert [r["code"] for r in body["recipients"]] == [POLRES, BALIKPAPAN]
    assert body["data_categories"] == ["demographics", "identity", "case_summary"]
    assert body["evidence_sha256"] == "ab" * 32
    listed = client.get(f"/api/v1/clients/{created['id']}/consents", headers=headers).get_json()
    assert [c["id"] for c in listed["items"]] == [body["id"]]
    assert client.get(f"/api/v1/consents/{body['id']}", headers=headers).status_code == 200
    other = hub.headers(BONTANG, RW)
    assert client.get(f"/api/v1/consents/{body['id']}", headers=other).status_code == 404


def get_organization_id(hub, code: str) -> str:
    return hub.org(code)["id"]


def test_withdrawal_takes_effect_at_once_and_calls_every_listener(client, hub, app):
    headers = hub.headers(PPU, RW)
    created = create_client(client, headers, adult_body())
    consent = create_consent(client, headers, created["id"], consent_body())
    calls = []

    def listener(withdrawn: Consent, *, actor) -> None:
        calls.append((withdrawn.id, withdrawn.withdrawn_at is not None, actor.organization_id))

    with consent_withdrawn.connected_to(listener):
        response = client.post(
            f"/api/v1/consents/{consent['id']}/withdraw",
            json={"reason": "Klien pindah ke luar daerah"},
            headers=headers,
        )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "withdrawn"
    assert body["withdrawn_at"]
    assert body["withdrawal_reason"] == "Klien pindah ke luar daerah"
    assert calls == [(consent["id"], True, hub.org(PPU)["id"])]

    with app.app_context():
        stored = db.session.get(Consent, consent["id"])
        problems = ops.consent_problems(
            stored,
            recipient_org_id=hub.org(BALIKPAPAN)["id"],
            service_code="psychological_counseling",
            categories=["identity"],
        )
        assert [p.slug for p in problems] == ["consent-withdrawn"]

    again = client.post(
        f"/api/v1/consents/{consent['id']}/withdraw", json={"reason": "lagi"}, headers=headers
    )
    assert again.status_code == 409
    assert problem(again)["type"].endswith("/problems/consent-already-withdrawn")
    verify = client.get("/api/v1/audit/verify", headers=hub.headers(PPU, "audit:read"))
    assert verify.get_json()["ok"] is True


def test_a_failing_listener_leaves_the_consent_untouched(client, hub, app):
    headers = hub.headers(PPU, RW)
    created = create_client(client, headers, adult_body())
    consent = create_consent(client, headers, created["id"], consent_body())

    def broken(withdrawn, *, actor):
        raise RuntimeError("referrals could not be cancelled")

    with consent_withdrawn.connected_to(broken):
        response = client.post(
            f"/api/v1/consents/{consent['id']}/withdraw", json={"reason": "r"}, headers=headers
        )
    assert response.status_code == 500
    with app.app_context():
        assert db.session.get(Consent, consent["id"]).withdrawn_at is None


def test_withdrawal_needs_a_reason_the_owner_and_the_scope(client, hub):
    headers = hub.headers(PPU, RW)
    created = create_client(client, headers, adult_body())
    consent = create_consent(client, headers, created["id"], consent_body())
    path = f"/api/v1/consents/{consent['id']}/withdraw"
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 422, body
        assert "reason" in problem(response)["errors"]
    assert (
        client.post(path, json={"reason": "r"}, headers=hub.headers(BONTANG, RW)).status_code == 404
    )
    read_only = hub.headers(PPU, "clients:read")
    assert client.post(path, json={"reason": "r"}, headers=read_only).status_code == 403
    assert (
        client.get(f"/api/v1/consents/{consent['id']}", headers=headers).get_json()["status"]
        == "active"
    )
