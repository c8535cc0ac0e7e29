"""The published OpenAPI makes a good client: it validates, names every operation, types
what a partner reads, declares the headers sent and every webhook, and a client generated
by openapi-python-client from it alone runs the closed loop over real HTTP."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from referral_hub.contracts import EVENT_DATA, openapi_document
from referral_hub.extensions import db
from referral_hub.openapi_spec import check_operation_ids
from referral_hub.ratelimit import LIST_ENDPOINTS
from tests.agreements_support import build
from tests.clients_support import CANARY, canary_body
from tests.referrals_support import AGREEMENT_CATEGORIES, BALIKPAPAN, PPU

SCOPES = "referrals:read referrals:write referrals:respond clients:read clients:write events:read"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture(scope="module")
def document(app):
    return openapi_document(app)


def test_the_document_is_valid_openapi_with_a_unique_operation_id_everywhere(document, client):
    validate(document)
    validate(client.get("/openapi.json").get_json())
    assert check_operation_ids(document) == []


def test_what_a_partner_reads_is_typed(document):
    schemas = document["components"]["schemas"]
    client_part = schemas["ReferralOut"]["properties"]["client"]
    assert client_part["$ref"].endswith("/ReferralClientOut")
    parts = schemas["ReferralClientOut"]["properties"]
    for part in ("demographics", "identity", "contact", "case_summary", "health", "legal"):
        assert "$ref" in json.dumps(parts[part]), part
    summary = schemas["ReferralSummaryOut"]["properties"]
    assert summary["client"]["$ref"].endswith("/ReferralClientOut")
    data = schemas["EventOut"]["properties"]["data"]
    assert data["allOf"] == [{"$ref": "#/components/schemas/EventData"}]
    assert len(schemas["EventData"]["oneOf"]) >= 5

    def untyped(value, path=""):
        """Objects that say nothing of their properties (fields.Dict)."""
        if isinstance(value, dict):
            if value.get("type") == "object" and not {"properties", "$ref", "allOf"} & set(value):
                yield path
            for key, item in value.items():
                yield from untyped(item, f"{path}/{key}")

    left = sorted(p for p in untyped(schemas) if not p.startswith(("/Hsds", "/Problem")))
    # What stays free-form is free-form by nature: an audit entry's detail, the coverage's
    # per-service capacity and problem `errors`.
    assert all(("detail" in p or "capacity" in p or "errors" in p) for p in left), left


def test_the_headers_sent_are_declared(document):
    paths = document["paths"]
    events = paths["/api/v1/events"]["get"]["responses"]["200"]["headers"]
    assert {"Link", "X-RateLimit-Limit", "X-RateLimit-Remaining"} <= set(events)
    referrals = paths["/api/v1/referrals"]["get"]["responses"]["200"]["headers"]
    assert "Link" in referrals
    assert "X-RateLimit-Remaining" in referrals
    assert "Link" in paths["/api/v1/organizations"]["get"]["responses"]["200"]["headers"]
    assert (
        "ETag" in paths["/api/v1/agreements/{agreement_id}"]["get"]["responses"]["200"]["headers"]
    )
    send = paths["/api/v1/referrals"]["post"]
    assert "Idempotent-Replayed" in send["responses"]["201"]["headers"]
    assert "Retry-After" in send["responses"]["429"]["headers"]
    declared = {
        op["operationId"]
        for item in paths.values()
        for op in item.values()
        if isinstance(op, dict)
        and "X-RateLimit-Remaining" in op["responses"].get("200", {}).get("headers", {})
    }
    in_document = {e.rsplit(".", 1)[-1] for e in LIST_ENDPOINTS}
    assert in_document <= declared


def test_every_event_is_a_webhook_with_its_payload_and_the_signature_scheme(document):
    webhooks = document["webhooks"]
    assert set(webhooks) == set(EVENT_DATA)
    for event_type, item in webhooks.items():
        post = item["post"]
        assert "Standard Webhooks" in post["description"]
        headers = {
            document["components"]["parameters"][p["$ref"].rsplit("/", 1)[-1]]["name"]
            for p in post["parameters"]
        }
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        payload = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        assert payload["properties"]["type"]["const"] == event_type
        # The published per-event schema and the webhook's say the same of `data`.
        published = json.loads(
            (Path(__file__).parents[2] / "schemas" / "events" / f"{event_type}.json").read_text()
        )
        data_ref = payload["properties"]["data"]["$ref"].rsplit("/", 1)[-1]
        data = document["components"]["schemas"][data_ref]
        assert data["properties"] == published["properties"]["data"]["properties"]
        assert data["required"] == published["properties"]["data"]["required"]


def _generate(live_server: str, target: Path) -> object:
    """Generate the client from the served document alone, and import it."""
    config = target / "config.json"
    config.write_text(
        json.dumps(
            {
                "post_hooks": [],
                "content_type_overrides": {"application/pdf": "application/octet-stream"},
            }
        )
    )
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--url",
            f"{live_server}/openapi.json",
            "--output-path",
            str(target / "hub_client"),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Unable to" not in done.stdout, done.stdout
    sys.path.insert(0, str(target))
    try:
        return importlib.import_module("hub_client")
    finally:
        sys.path.remove(str(target))


def _token(document: dict, hub, org: str) -> str:
    """Client credentials at the token URL the document names (RFC 6749 4.4)."""
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    creds = hub.oauth_client(org, SCOPES)
    answer = httpx.post(
        flows["clientCredentials"]["tokenUrl"],
        data={"grant_type": "client_credentials", "scope": SCOPES},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.mark.slow
def test_a_generated_client_runs_the_closed_loop(app, hub, live_server, tmp_path):
    with app.app_context():
        build("active", data_categories=AGREEMENT_CATEGORIES)
        db.session.remove()
    served = httpx.get(f"{live_server}/openapi.json", timeout=10).json()
    hub_client = _generate(live_server, tmp_path)
    models = importlib.import_module("hub_client.models")

    def connect(org: str):
        token = _token(served, hub, org)
        return hub_client.AuthenticatedClient(base_url=served["servers"][0]["url"], token=token)

    def call(operation: str, **kwargs):
        group, name = operation.split(".")
        module = importlib.import_module(f"hub_client.api.{group}.{name}")
        answer = module.sync_detailed(**kwargs)
        assert answer.status_code < 300, (operation, answer.status_code, answer.content)
        return answer.parsed

    ppu, balikpapan = connect(PPU), connect(BALIKPAPAN)
    child = call("clients.create_client", client=ppu, body=models.ClientIn.from_dict(canary_body()))
    consent = call(
        "clients.create_consent",
        client_id=child.id,
        client=ppu,
        body=models.ConsentIn.from_dict(
            {
                "given_by": "parent",
                "giver_name": "Ibu Kandung",
                "giver_relationship": "ibu kandung",
                "child_assent": True,
                "recipients": [BALIKPAPAN],
                "services": ["psychological_counseling"],
                "data_categories": ["identity", "case_summary"],
                "method": "written",
                "evidence_sha256": "d" * 64,
                "valid_until": "2030-01-01",
            }
        ),
    )
    sent = call(
        "referrals.send_one_referral",
        client=ppu,
        idempotency_key="generated-client-loop-1",
        body=models.ReferralIn.from_dict(
            {
                "client": child.id,
                "consent": consent.id,
                "to": BALIKPAPAN,
                "service": "psychological_counseling",
                "reason": "Gejala trauma; perlu psikolog klinis.",
                "data_categories": ["identity", "case_summary"],
                "case_data": {"case_summary": {"violence_types": ["psychological"]}},
            }
        ),
    )
    assert sent.status == "requested"
    # The recipient reads the client as typed objects: what was shared, nothing else.
    seen = call("referrals.get_one_referral", referral_id=sent.id, client=balikpapan)
    assert isinstance(seen.client, models.ReferralClientOut)
    assert seen.client.identity.full_name == CANARY["full_name"]
    assert seen.client.case_summary.violence_types[0].value == "psychological"
    assert seen.client.contact is hub_client.types.UNSET
    assert seen.agreement.kind.value in ("mou", "pks", "contract")
    accepted = call(
        "referrals.accept_referral",
        referral_id=sent.id,
        client=balikpapan,
        body=models.AnswerNoteIn.from_dict({}),
    )
    assert accepted.status == "accepted"
    done = call(
        "referrals.complete_referral",
        referral_id=sent.id,
        client=balikpapan,
        body=models.AnswerCompleteIn.from_dict({"outcome": "service_delivered"}),
    )
    assert done.status == "completed"
    # The sender follows the loop in its feed: each event's data typed by its shape.
    feed = call("delivery.list_events", client=ppu)
    mine = [e for e in feed.items if e.subject.id == sent.id]
    assert [e.type_.value for e in mine][:2] == ["referral.requested", "referral.accepted"]
    assert all(isinstance(e.data, models.ReferralEventData) for e in mine)
    assert mine[-1].data.status.value == "completed"
    # The payloads as served validate against the document's own schemas.
    raw = httpx.get(
        f"{live_server}/api/v1/events",
        headers={"Authorization": f"Bearer {ppu.token}"},
        timeout=10,
    ).json()
    validator = Draft202012Validator(
        {"$ref": "#/components/schemas/EventData", **served}, format_checker=FormatChecker()
    )
    for event in raw["items"]:
        validator.validate(event["data"])
