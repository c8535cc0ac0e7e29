"""Every operation of the served OpenAPI, fuzzed with schemathesis under several parties' tokens.

The rule: whatever a partner system sends, valid or not, the hub answers without a 5xx and
with a response its own contract documents (status code, content type, headers, body
schema). Path parameters are half the time real objects of a scenario (an active agreement,
a child client, a consent, referrals, an appointment, a webhook), so the fuzzing reaches
the rules behind the 404 instead of stopping at it. The run is derandomised: CI sees the
same cases every time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from referral_hub.oauth.scopes import SCOPES
from tests.referrals_support import BALIKPAPAN, BONTANG, OPERATOR, PPU, Scenario

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: The sender, the recipient, an outsider with no agreement, and the hub operator.
ORGANISATIONS = (PPU, BALIKPAPAN, BONTANG, OPERATOR)
ALL_SCOPES = " ".join(SCOPES)
MAX_EXAMPLES = 10

_SPEC = json.loads((Path(__file__).parents[2] / "schemas" / "openapi.json").read_text())
#: Read from the committed contract (test_contracts keeps it equal to the served one).
OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in _SPEC["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
)


@pytest.fixture(scope="module")
def schema(app):
    """The OpenAPI document as the app serves it, loaded once."""
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.fixture
def world(app, client, hub) -> dict:
    """Tokens of the four parties and real objects for every kind of path parameter."""
    scenario = Scenario(app, client, hub)
    headers = {org: hub.headers(org, ALL_SCOPES) for org in ORGANISATIONS}
    requested = scenario.send()
    accepted = scenario.in_status("accepted")
    appointment = client.post(
        f"/api/v1/referrals/{accepted['id']}/appointments",
        json={"starts_at": "2030-01-06T09:00:00+08:00", "mode": "in_person"},
        headers=scenario.balikpapan,
    )
    assert appointment.status_code == 201, appointment.get_data(as_text=True)
    webhook = client.post(
        "/api/v1/webhooks",
        json={"url": "https://8.8.8.8/hooks", "events": ["referral.requested"]},
        headers=headers[BALIKPAPAN],
    )
    assert webhook.status_code == 201, webhook.get_data(as_text=True)
    ids = {
        "agreement_id": scenario.agreement_id,
        "client_id": scenario.client["id"],
        "consent_id": scenario.consent["id"],
        "id_or_code": BALIKPAPAN,
        "webhook_id": webhook.get_json()["id"],
        "appointment_id": appointment.get_json()["id"],
    }
    return {"headers": headers, "ids": ids, "referrals": [requested["id"], accepted["id"]]}


def _strategy(operation):
    """Valid and invalid requests alike; some operations have no invalid form to generate."""
    return st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_answers_as_documented(schema, world, method, path):
    operation = schema[path][method]

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=_strategy(operation),
        org=st.sampled_from(ORGANISATIONS),
        real=st.booleans(),
        referral=st.sampled_from(world["referrals"]),
    )
    def answers_as_documented(case, org, real, referral):
        if real and case.path_parameters:
            known = {**world["ids"], "referral_id": referral}
            case.path_parameters = {
                name: known.get(name, value) for name, value in case.path_parameters.items()
            }
        response = case.call(headers=world["headers"][org])
        case.validate_response(response, checks=CHECKS)

    answers_as_documented()
