"""Refusals under /fhir as OperationOutcome: the same problems as the API, in FHIR's shape.

Each refusal keeps its problem slug, as `issue[].details.coding` (system: the hub's problem
types, code: the slug, display: its title), its detail as `diagnostics`, field errors as one
issue each with the field in `expression`, and its headers (WWW-Authenticate, Retry-After,
Allow). `create_app` registers `render` for the /fhir prefix (problems.register_problem_renderer),
so refusals from the token check, the body checks, routing and the views all read alike.
"""

from __future__ import annotations

from typing import Any

from flask import Response, json

from referral_hub.interchange.fhir.mapping import FHIR_JSON, hub_url
from referral_hub.problems import Problem

#: The issue-type code (R4 value set issue-type) of each HTTP status.
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "processing",
    428: "required",
    429: "throttled",
    503: "transient",
}
#: Slugs whose issue type says more than their status's.
SLUG_CODES = {"invalid-transition": "business-rule", "insufficient-scope": "forbidden"}


def operation_outcome(problem: Problem) -> dict[str, Any]:
    code = SLUG_CODES.get(problem.slug) or ISSUE_CODES.get(problem.status, "exception")
    details = {
        "coding": [
            {"system": hub_url("/problems"), "code": problem.slug, "display": problem.title}
        ],
        "text": problem.title,
    }
    issue: dict[str, Any] = {"severity": "error", "code": code, "details": details}
    if problem.detail:
        issue["diagnostics"] = problem.detail
    issues = [issue]
    for field, messages in (problem.errors or {}).items():
        texts = messages if isinstance(messages, list) else [messages]
        issues.append(
            {
                "severity": "error",
                "code": "invalid" if problem.status == 400 else "processing",
                "details": details,
                "diagnostics": "; ".join(str(t) for t in texts),
                "expression": [str(field)],
            }
        )
    return {"resourceType": "OperationOutcome", "issue": issues}


def render(problem: Problem) -> Response:
    response = Response(
        json.dumps(operation_outcome(problem)), status=problem.status, mimetype=FHIR_JSON
    )
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response
