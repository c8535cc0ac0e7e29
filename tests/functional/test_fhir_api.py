"""FHIR R4 (HL7 SDOH Clinical Care shape) over HTTP: the same referrals, tokens and rules.

A partner that speaks FHIR reads a referral as a Task (the work asked of it), a
ServiceRequest (what is asked), a Patient (the client as the caller may see it), a Consent
and Organizations; polls Tasks by owner, requester and _lastUpdated; and answers by changing
the Task's status, which goes through the very operations the JSON API's actions use.
Every resource served must parse in fhir.resources (R4B models, the closest it ships to R4).
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from tests.clients_support import CANARY, create_consent
from tests.referrals_support import BALIKPAPAN, PPU, Scenario

FHIR_JSON = "application/fhir+json"
MODELS = {
    "Task": Task,
    "ServiceRequest": ServiceRequest,
    "Patient": Patient,
    "Consent": Consent,
    "Organization": Organization,
    "Bundle": Bundle,
    "CapabilityStatement": CapabilityStatement,
    "OperationOutcome": OperationOutcome,
}
#: R4's value sets (fhir.resources does not check codes): Task.status, ServiceRequest.status.
TASK_STATUSES = {
    "draft",
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
}
REQUEST_STATUSES = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error"}
SDOHCC_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
PATCH = "application/json-patch+json"


def fhir(response, status: int = 200) -> dict:
    """A FHIR answer: its status, media type, and a body that parses in fhir.resources."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, (response.status_code, text[:500])
    assert response.headers["Content-Type"].startswith(FHIR_JSON), response.headers["Content-Type"]
    body = json.loads(text)
    MODELS[body["resourceType"]].model_validate(body)
    for entry in body.get("entry", []):
        MODELS[entry["resource"]["resourceType"]].model_validate(entry["resource"])
    return body


def outcome(response, status: int) -> dict:
    """An OperationOutcome naming the hub's problem slug."""
    body = fhir(response, status)
    assert body["resourceType"] == "OperationOutcome"
    return body


def slugs(body: dict) -> set[str]:
    return {c["code"] for i in body["issue"] for c in i.get("details", {}).get("coding", [])}


def _patch(client, referral_id, headers, *ops):
    return client.patch(
        f"/fhir/Task/{referral_id}",
        data=json.dumps(list(ops)),
        headers={**headers, "Content-Type": PATCH},
    )


def _reads(client, s, by: str) -> list[dict]:
    items = client.get(f"/api/v1/clients/{s.client['id']}/disclosures", headers=s.ppu).get_json()[
        "items"
    ]
    return [d for d in items if d["kind"] == "read" and d["organization"]["code"] == by]


def test_metadata_is_a_public_capability_statement(client):
    body = fhir(client.get("/fhir/metadata"))
    assert body["resourceType"] == "CapabilityStatement"
    assert body["fhirVersion"].startswith("4.0")
    assert body["format"] == ["json"] or "json" in body["format"]
    rest = body["rest"][0]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert {"Task", "ServiceRequest", "Patient", "Consent", "Organization"} <= set(by_type)
    assert {p["name"] for p in by_type["Task"]["searchParam"]} >= {
        "owner",
        "requester",
        "_lastUpdated",
    }
    assert {i["code"] for i in by_type["Task"]["interaction"]} >= {"read", "search-type", "patch"}


def test_every_resource_of_a_referral_parses_and_is_linked(app, client, hub):
    s = Scenario(app, client, hub)
    referral = s.send()
    rid = referral["id"]
    task = fhir(client.get(f"/fhir/Task/{rid}", headers=s.balikpapan))
    assert task["resourceType"] == "Task"
    assert task["id"] == rid
    assert task["intent"] == "order"
    assert task["status"] == "requested"
    assert task["code"]["coding"][0]["code"] == "fulfill"
    assert task["focus"]["reference"] == f"ServiceRequest/{rid}"
    assert task["for"]["reference"] == f"Patient/{rid}"
    ppu, bpp = hub.org(PPU), hub.org(BALIKPAPAN)
    assert task["requester"]["reference"] == f"Organization/{ppu['id']}"
    assert task["owner"]["reference"] == f"Organization/{bpp['id']}"
    assert task["identifier"][0]["value"] == referral["number"]
    assert "statusReason" not in task

    request = fhir(client.get(f"/fhir/ServiceRequest/{rid}", headers=s.balikpapan))
    assert request["status"] in REQUEST_STATUSES
    assert request["status"] == "active"
    assert request["intent"] == "order"
    assert request["code"]["coding"][0]["code"] == "psychological_counseling"
    assert request["code"]["coding"][0]["system"].endswith("/fhir/CodeSystem/service")
    assert request["subject"]["reference"] == f"Patient/{rid}"
    assert request["performer"][0]["reference"] == f"Organization/{bpp['id']}"
    assert {"reference": f"Consent/{rid}"} in request["supportingInfo"]
    # Contact was not shared: the request says the recipient must not contact the client.
    flags = [c for d in request.get("orderDetail", []) for c in d["coding"]]
    assert flags[0]["system"] == SDOHCC_CODES
    assert flags[0]["code"] == "contacting-subject-prohibited"

    consent = fhir(client.get(f"/fhir/Consent/{rid}", headers=s.balikpapan))
    assert consent["status"] == "active"
    assert consent["patient"]["reference"] == f"Patient/{rid}"
    assert CANARY["giver_name"] not in json.dumps(consent)

    for org in (ppu, bpp):
        body = fhir(client.get(f"/fhir/Organization/{org['id']}", headers=s.balikpapan))
        assert body["identifier"][0]["value"] == org["code"]

    patient = fhir(client.get(f"/fhir/Patient/{rid}", headers=s.balikpapan))
    assert patient["name"][0]["text"] == CANARY["full_name"]
    assert "telecom" not in patient  # contact was not shared
    assert CANARY["phone"] not in json.dumps(patient)
    assert CANARY["address"] not in json.dumps(patient)


def test_a_shared_contact_reaches_the_patient_and_lifts_the_flag(app, client, hub):
    s = Scenario(app, client, hub)
    consent = create_consent(
        client,
        s.ppu,
        s.client["id"],
        {
            **{k: s.consent[k] for k in ("given_by", "giver_name", "giver_relationship")},
            "child_assent": True,
            "recipients": [BALIKPAPAN],
            "services": ["psychological_counseling"],
            "data_categories": ["identity", "contact", "case_summary"],
            "method": "written",
            "evidence_sha256": "b" * 64,
            "valid_until": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
        },
    )
    shared = ["identity", "contact", "case_summary"]
    rid = s.send(consent=consent["id"], data_categories=shared)["id"]
    request = fhir(client.get(f"/fhir/ServiceRequest/{rid}", headers=s.balikpapan))
    assert "orderDetail" not in request
    patient = fhir(client.get(f"/fhir/Patient/{rid}", headers=s.balikpapan))
    assert patient["telecom"][0]["value"] == CANARY["phone"]
    assert patient["address"][0]["text"] == CANARY["address"]


def test_the_patient_holds_only_what_the_caller_may_see_and_each_read_is_logged(app, client, hub):
    s = Scenario(app, client, hub)
    rid = s.send(data_categories=["case_summary"])["id"]
    patient = fhir(client.get(f"/fhir/Patient/{rid}", headers=s.balikpapan))
    text = json.dumps(patient)
    assert "name" not in patient
    assert "birthDate" not in patient
    for canary in CANARY.values():
        assert canary not in text, canary
    assert patient["identifier"][0]["value"] == s.client["code"]
    assert patient["gender"] == "male"  # canary_body's client
    # Nothing personal was answered: nothing was read.
    assert _reads(client, s, BALIKPAPAN) == []

    named = s.send()["id"]  # identity shared
    patient = fhir(client.get(f"/fhir/Patient/{named}", headers=s.balikpapan))
    assert patient["name"][0]["text"] == CANARY["full_name"]
    reads = _reads(client, s, BALIKPAPAN)
    assert len(reads) == 1
    assert reads[0]["categories"] == ["identity"]
    assert "Patient" in reads[0]["context"]

    # Reading referrals is the recipient's right to their data; the sender's is reading clients.
    reader = hub.headers(BALIKPAPAN, "referrals:read")
    assert fhir(client.get(f"/fhir/Patient/{named}", headers=reader))["name"]
    sender_without_clients = hub.headers(PPU, "referrals:read")
    patient = fhir(client.get(f"/fhir/Patient/{named}", headers=sender_without_clients))
    assert "name" not in patient
    # The sender with the right to read its clients sees them whole, logged as the owner's.
    patient = fhir(client.get(f"/fhir/Patient/{named}", headers=s.ppu))
    assert patient["name"][0]["text"] == CANARY["full_name"]
    assert _reads(client, s, PPU)[0]["basis"] == "owner"


def test_a_third_organisation_and_no_token_get_operation_outcomes(app, client, hub):
    s = Scenario(app, client, hub)
    rid = s.send()["id"]
    for kind in ("Task", "ServiceRequest", "Patient", "Consent"):
        body = outcome(client.get(f"/fhir/{kind}/{rid}", headers=s.bontang), 404)
        assert "not-found" in slugs(body)
        missing = client.get(f"/fhir/{kind}/{rid}")
        body = outcome(missing, 401)
        assert "unauthorized" in slugs(body)
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    scopeless = hub.headers(BALIKPAPAN, "directory:read")
    body = outcome(client.get(f"/fhir/Task/{rid}", headers=scopeless), 403)
    assert "insufficient-scope" in slugs(body)
    outcome(client.get("/fhir/Basic/1", headers=s.balikpapan), 404)
    outcome(client.delete(f"/fhir/Task/{rid}", headers=s.balikpapan), 405)


def _ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def test_tasks_are_searched_by_owner_requester_and_last_updated(app, client, hub):
    s = Scenario(app, client, hub)
    ppu, bpp = hub.org(PPU), hub.org(BALIKPAPAN)
    first = s.send()["id"]
    time.sleep(0.01)
    second = s.send()["id"]
    owned = fhir(client.get(f"/fhir/Task?owner=Organization/{bpp['id']}", headers=s.balikpapan))
    assert owned["type"] == "searchset"
    assert owned["total"] == 2
    assert _ids(owned) == [first, second]  # oldest change first, for polling
    assert all(e["search"]["mode"] == "match" for e in owned["entry"])
    assert owned["entry"][0]["fullUrl"].endswith(f"/fhir/Task/{first}")
    by_requester = fhir(client.get(f"/fhir/Task?requester=Organization/{ppu['id']}", headers=s.ppu))
    assert _ids(by_requester) == [first, second]
    # The sender is not the owner of anything here, the outsider sees nothing.
    assert _ids(fhir(client.get(f"/fhir/Task?owner=Organization/{ppu['id']}", headers=s.ppu))) == []
    outsider = fhir(client.get(f"/fhir/Task?owner=Organization/{bpp['id']}", headers=s.bontang))
    assert outsider["total"] == 0
    assert _ids(outsider) == []

    # Polling: what changed after the last Task seen.
    accepted = s.act(first, "accept", s.balikpapan)
    assert accepted.status_code == 200
    changed_at = fhir(client.get(f"/fhir/Task/{second}", headers=s.balikpapan))["meta"][
        "lastUpdated"
    ]
    polled = fhir(
        client.get(
            "/fhir/Task",
            query_string={"owner": f"Organization/{bpp['id']}", "_lastUpdated": f"gt{changed_at}"},
            headers=s.balikpapan,
        )
    )
    assert _ids(polled) == [first]
    assert polled["entry"][0]["resource"]["status"] == "accepted"
    both = fhir(
        client.get(
            "/fhir/Task",
            query_string=[
                ("owner", f"Organization/{bpp['id']}"),
                ("_lastUpdated", f"ge{changed_at}"),
                ("_lastUpdated", "lt2999-01-01T00:00:00Z"),
            ],
            headers=s.balikpapan,
        )
    )
    assert set(_ids(both)) == {first, second}


def test_search_pages_link_to_each_other_and_refuse_what_they_do_not_know(app, client, hub):
    s = Scenario(app, client, hub)
    bpp = hub.org(BALIKPAPAN)
    made = [s.send()["id"] for _ in range(3)]
    page = fhir(
        client.get(f"/fhir/Task?owner=Organization/{bpp['id']}&_count=2", headers=s.balikpapan)
    )
    links = {link["relation"]: link["url"] for link in page["link"]}
    assert page["total"] == 3
    assert len(page["entry"]) == 2
    assert {"self", "first", "next", "last"} <= set(links)
    assert "previous" not in links
    nxt = links["next"].split("/fhir/", 1)[1]
    second = fhir(client.get(f"/fhir/{nxt}", headers=s.balikpapan))
    assert _ids(page) + _ids(second) == made
    assert "next" not in {link["relation"] for link in second["link"]}
    for bad in ("colour=blue", "_lastUpdated=2026-01-01", "_lastUpdated=gtyesterday", "_count=0"):
        body = outcome(client.get(f"/fhir/Task?{bad}", headers=s.balikpapan), 400)
        assert body["issue"][0]["severity"] == "error"


def test_the_partner_accepts_by_patch_and_the_same_rules_hold(app, client, hub):
    s = Scenario(app, client, hub)
    rid = s.send()["id"]
    # The sender cannot accept: the same refusal as the action's.
    refused = outcome(
        _patch(client, rid, s.ppu, {"op": "replace", "path": "/status", "value": "accepted"}), 409
    )
    assert "invalid-transition" in slugs(refused)
    api_refusal = s.act(rid, "accept", s.ppu)
    assert api_refusal.status_code == 409
    assert api_refusal.get_json()["detail"] in refused["issue"][0]["diagnostics"]

    accepted = fhir(
        _patch(client, rid, s.balikpapan, {"op": "replace", "path": "/status", "value": "accepted"})
    )
    assert accepted["status"] == "accepted"
    detail = client.get(f"/api/v1/referrals/{rid}", headers=s.ppu).get_json()
    assert detail["status"] == "accepted"
    timeline = client.get(f"/api/v1/referrals/{rid}/events", headers=s.ppu).get_json()
    assert [e["action"] for e in timeline][-1] == "accept"

    # An invalid transition: accepted -> rejected.
    body = outcome(
        _patch(
            client,
            rid,
            s.balikpapan,
            {"op": "replace", "path": "/status", "value": "rejected"},
            {"op": "replace", "path": "/statusReason", "value": {"text": "full"}},
        ),
        409,
    )
    assert "invalid-transition" in slugs(body)
    assert body["issue"][0]["code"] in ("business-rule", "conflict")

    # On hold needs a reason, as the action does; with it the Task says why.
    body = outcome(
        _patch(client, rid, s.balikpapan, {"op": "replace", "path": "/status", "value": "on-hold"}),
        422,
    )
    assert "validation-error" in slugs(body)
    held = fhir(
        _patch(
            client,
            rid,
            s.balikpapan,
            {"op": "test", "path": "/status", "value": "accepted"},
            {"op": "replace", "path": "/status", "value": "on-hold"},
            {"op": "replace", "path": "/statusReason", "value": {"text": "client in hospital"}},
        )
    )
    assert held["status"] == "on-hold"
    assert held["statusReason"]["text"] == "client in hospital"
    resumed = fhir(
        _patch(
            client, rid, s.balikpapan, {"op": "replace", "path": "/status", "value": "in-progress"}
        )
    )
    assert resumed["status"] == "in-progress"
    assert "statusReason" not in resumed
    # Completing needs an outcome: the businessStatus carries it.
    done = fhir(
        _patch(
            client,
            rid,
            s.balikpapan,
            {"op": "replace", "path": "/status", "value": "completed"},
            {
                "op": "replace",
                "path": "/businessStatus",
                "value": {"coding": [{"code": "service_delivered"}]},
            },
        )
    )
    assert done["status"] == "completed"
    assert done["businessStatus"]["coding"][0]["code"] == "service_delivered"
    assert client.get(f"/api/v1/referrals/{rid}", headers=s.ppu).get_json()["outcome"] == (
        "service_delivered"
    )


def test_patch_bodies_that_are_not_status_changes_are_refused(app, client, hub):
    s = Scenario(app, client, hub)
    rid = s.send()["id"]
    for ops in (
        [{"op": "replace", "path": "/owner", "value": {"reference": "Organization/x"}}],
        [{"op": "remove", "path": "/status"}],
        [{"op": "replace", "path": "/status", "value": "bogus"}],
        {"status": "accepted"},
    ):
        response = client.patch(
            f"/fhir/Task/{rid}",
            data=json.dumps(ops),
            headers={**s.balikpapan, "Content-Type": PATCH},
        )
        assert response.status_code in (400, 422), response.get_data(as_text=True)
        outcome(response, response.status_code)
    failed_test = _patch(
        client,
        rid,
        s.balikpapan,
        {"op": "test", "path": "/status", "value": "accepted"},
        {"op": "replace", "path": "/status", "value": "in-progress"},
    )
    outcome(failed_test, 412)
    wrong_type = client.patch(
        f"/fhir/Task/{rid}", data="x", headers={**s.balikpapan, "Content-Type": "text/plain"}
    )
    outcome(wrong_type, 415)
    assert client.get(f"/api/v1/referrals/{rid}", headers=s.ppu).get_json()["status"] == "requested"
    # A third organisation cannot learn the Task exists.
    outcome(
        _patch(client, rid, s.bontang, {"op": "replace", "path": "/status", "value": "accepted"}),
        404,
    )


def test_put_changes_the_status_through_the_same_operation(app, client, hub):
    s = Scenario(app, client, hub)
    rid = s.send()["id"]
    task = fhir(client.get(f"/fhir/Task/{rid}", headers=s.balikpapan))
    task["status"] = "rejected"
    task["statusReason"] = {"text": "no capacity this month"}
    put = client.put(
        f"/fhir/Task/{rid}",
        data=json.dumps(task),
        headers={**s.balikpapan, "Content-Type": FHIR_JSON},
    )
    rejected = fhir(put)
    assert rejected["status"] == "rejected"
    assert rejected["statusReason"]["text"] == "no capacity this month"
    detail = client.get(f"/api/v1/referrals/{rid}", headers=s.ppu).get_json()
    assert (detail["status"], detail["status_reason"]) == ("rejected", "no capacity this month")
    # Rewriting who owns it is not a status change.
    task = fhir(client.get(f"/fhir/Task/{rid}", headers=s.balikpapan))
    task["owner"] = {"reference": "Organization/someone-else"}
    put = client.put(
        f"/fhir/Task/{rid}",
        data=json.dumps(task),
        headers={**s.balikpapan, "Content-Type": FHIR_JSON},
    )
    outcome(put, 422)


@pytest.mark.commits
def test_a_fhir_client_library_follows_the_loop(app, hub, live_server):
    from fhirpy import SyncFHIRClient
    from fhirpy.base.exceptions import OperationOutcome as ClientOutcome
    from fhirpy.base.exceptions import ResourceNotFound

    http = app.test_client()
    s = Scenario(app, http, hub)
    rid = s.send()["id"]
    bpp = hub.org(BALIKPAPAN)

    def fhir_client(headers):
        return SyncFHIRClient(
            f"{live_server}/fhir",
            authorization=headers["Authorization"],
            extra_headers={"Accept": FHIR_JSON},
        )

    partner = fhir_client(s.balikpapan)
    tasks = partner.resources("Task").search(owner=f"Organization/{bpp['id']}").fetch_all()
    assert [t.id for t in tasks] == [rid]
    task = tasks[0]
    Task.model_validate(task.serialize())
    request = task["focus"].to_resource()
    assert request["code"]["coding"][0]["code"] == "psychological_counseling"
    patient = partner.reference("Patient", rid).to_resource()
    assert patient["name"][0]["text"] == CANARY["full_name"]
    owner = task["owner"].to_resource()
    assert owner["identifier"][0]["value"] == BALIKPAPAN

    # The sender's app cannot accept; the partner's can, with PUT.
    sender_task = fhir_client(s.ppu).reference("Task", rid).to_resource()
    sender_task["status"] = "accepted"
    with pytest.raises(ClientOutcome) as refused:
        sender_task.save()
    assert "invalid-transition" in str(refused.value)
    task["status"] = "accepted"
    task.save()
    assert partner.reference("Task", rid).to_resource()["status"] == "accepted"
    with pytest.raises(ResourceNotFound):
        fhir_client(s.bontang).reference("Task", rid).to_resource()


def test_an_app_acting_for_a_person_changes_a_task_only_as_the_person_could(app, client, hub):
    from tests.referrals_support import user_headers

    s = Scenario(app, client, hub)
    rid = s.send()["id"]
    accept = {"op": "replace", "path": "/status", "value": "accepted"}
    auditor = hub.user(BALIKPAPAN, "auditor")
    as_auditor = user_headers(app, hub, BALIKPAPAN, auditor["id"])
    body = outcome(_patch(client, rid, as_auditor, accept), 403)
    assert "insufficient-scope" in slugs(body)
    outcome(client.get(f"/fhir/Patient/{rid}", headers=as_auditor), 403)
    caseworker = hub.user(BALIKPAPAN, "caseworker")
    as_caseworker = user_headers(app, hub, BALIKPAPAN, caseworker["id"])
    assert fhir(_patch(client, rid, as_caseworker, accept))["status"] == "accepted"
