"""Shared pieces of the API's blueprints: the protected-route decorator and its docs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint

from referral_hub.oauth.server import requires

PROBLEM_RESPONSE = {
    "description": "Problem details (RFC 9457)",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def protected(
    blp: Blueprint, scope: str | None, *, extra: dict[int, str] | None = None
) -> Callable:
    """Require a bearer token with `scope`, pass the actor first, document both in OpenAPI."""
    responses: dict[Any, Any] = {
        401: PROBLEM_RESPONSE,
        403: PROBLEM_RESPONSE,
        422: PROBLEM_RESPONSE,
        429: PROBLEM_RESPONSE,
    }
    for status, description in (extra or {}).items():
        responses[status] = {**PROBLEM_RESPONSE, "description": description}

    def decorate(view: Callable) -> Callable:
        wrapped = requires(scope)(view)
        return blp.doc(security=[{"oauth2": [scope] if scope else []}], responses=responses)(
            wrapped
        )

    return decorate


def problem_schema_component() -> dict[str, Any]:
    """The Problem schema registered in the OpenAPI components."""
    return {
        "type": "object",
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "object"},
            "reason": {
                "type": "string",
                "description": "Which refusal of its type this is, when a type covers several "
                "(e.g. invalid-transition: status, sender-only, recipient-only, "
                "changed-meanwhile, ...; not-found: no-referral, ...); a fixed vocabulary.",
            },
        },
        "required": ["type", "title", "status"],
        "additionalProperties": True,
    }
