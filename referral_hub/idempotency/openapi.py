"""The Idempotency-Key header in the OpenAPI description: on every POST under /api/v1."""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

from referral_hub.idempotency.hooks import HEADER, REPLAYED_HEADER
from referral_hub.idempotency.operations import KEY_LIFETIME

PARAMETER = "IdempotencyKey"
REPLAYED = "IdempotentReplayed"
_HOURS = int(KEY_LIFETIME.total_seconds() // 3600)
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


class IdempotencyPlugin(BasePlugin):
    """Adds the request header and the replay's response header to every POST under /api/v1."""

    def init_spec(self, spec: Any) -> None:
        super().init_spec(spec)
        spec.components.parameter(
            PARAMETER,
            "header",
            {
                "name": HEADER,
                "required": False,
                "description": (
                    "A key of your choice, new for each new request (a UUID will do). Sent "
                    f"again with the same request within {_HOURS} hours (a retry after a "
                    "timeout), it returns the first response, with `Idempotent-Replayed: "
                    "true`, and changes nothing. The same key with another body or on another "
                    "endpoint is refused (422 `idempotency-key-reused`); while the first "
                    "request is still running the answer is 409 `idempotency-key-in-use` with "
                    "Retry-After. Keys are per OAuth client (and user). A refusal that changed "
                    "nothing is not kept: the corrected request may use the same key."
                ),
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": "^[ -~]+$",
                },
            },
        )
        spec.components.header(
            REPLAYED,
            {
                "description": "`true` when this is the stored first response to the same "
                "Idempotency-Key, replayed.",
                "schema": {"type": "string", "enum": ["true"]},
            },
        )

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        if not path or not path.startswith("/api/v1/") or not operations:
            return
        post = operations.get("post")
        if post is None:
            return
        post.setdefault("parameters", []).append(PARAMETER)
        responses = post.setdefault("responses", {})
        for code, response in list(responses.items()):
            if str(code).startswith("2") and isinstance(response, dict):
                responses[code] = {
                    **response,
                    "headers": {**response.get("headers", {}), REPLAYED_HEADER: REPLAYED},
                }
        if not any(str(code) == "409" for code in responses):
            responses[409] = {
                "description": "A request with this Idempotency-Key is still being processed",
                "content": _PROBLEM,
                "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
            }
