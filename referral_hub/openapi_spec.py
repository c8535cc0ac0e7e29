"""What the OpenAPI document says beyond each view's own decorators, so a generator makes a
good client from it: an `operationId` for every operation, the headers the hub sends
(`Link`, the rate limits, `Retry-After`), each event's payload as a schema, and every
event under the OpenAPI 3.1 `webhooks` section with the Standard Webhooks signature.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

from referral_hub.contracts import EVENT_DATA, EVENT_DESCRIPTIONS

#: Endpoints whose operationId is not the view's name (none yet: names are unique).
OPERATION_IDS: dict[str, str] = {}
LINK = "Link"
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
#: Endpoints that answer with a `Link` header without page numbers (a cursor).
CURSOR_LISTS = frozenset({"delivery.list_events"})

SIGNATURE = (
    "Deliveries follow the Standard Webhooks specification (https://www.standardwebhooks.com): "
    "the body is signed with HMAC-SHA256 under the webhook's secret (`whsec_` + base64, as "
    "`POST /api/v1/webhooks` returned it). The signed content is "
    "`{webhook-id}.{webhook-timestamp}.{body}`; `webhook-signature` holds one or more "
    "space-separated `v1,<base64 signature>` (more than one while a rotated secret is still "
    "honoured): accept the delivery when any one matches, and refuse a timestamp more than "
    "5 minutes from your clock. Any Standard Webhooks library verifies it "
    "(`standardwebhooks.Webhook(secret).verify(body, headers)`). Answer 2xx within 10 "
    "seconds; anything else is retried with backoff, with the same `webhook-id` (deduplicate "
    "on it). The payload carries no personal data: GET its `links.self` for the detail."
)
WEBHOOK_HEADERS = {
    "WebhookId": (
        "webhook-id",
        "The event's id: the same on every retry; deduplicate on it.",
        {"type": "string"},
    ),
    "WebhookTimestamp": (
        "webhook-timestamp",
        "Seconds since the Unix epoch when this attempt was signed.",
        {"type": "string", "pattern": "^[0-9]+$"},
    ),
    "WebhookSignature": (
        "webhook-signature",
        "Space-separated `v1,<base64 HMAC-SHA256>` signatures (Standard Webhooks).",
        {"type": "string", "pattern": "^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$"},
    ),
}


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace(".", "_").split("_"))


def event_data_components() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The schema of each distinct `data` shape, named; and event type -> its name.

    Event types with the same shape share one (every `referral.*`); a shape is named after
    the first part of its event types, or after the type when that part has several shapes.
    """
    shapes: dict[str, list[str]] = {}
    for event_type, shape in EVENT_DATA.items():
        shapes.setdefault(repr(shape), []).append(event_type)
    by_family: dict[str, int] = {}
    for types in shapes.values():
        family = types[0].split(".")[0]
        by_family[family] = by_family.get(family, 0) + 1
    components, names = {}, {}
    for types in shapes.values():
        family = types[0].split(".")[0]
        name = _camel(family if by_family[family] == 1 else types[0]) + "EventData"
        properties, required = EVENT_DATA[types[0]]
        components[name] = {
            "type": "object",
            "description": "`data` of " + ", ".join(f"`{t}`" for t in types),
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
        names.update(dict.fromkeys(types, name))
    return components, names


def _webhooks(names: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payload schema of each event type, and its entry under `webhooks`."""
    payloads, webhooks = {}, {}
    for event_type, data_name in names.items():
        payload = _camel(event_type) + "Webhook"
        payloads[payload] = {
            "type": "object",
            "description": EVENT_DESCRIPTIONS.get(event_type, f"The `{event_type}` event."),
            "properties": {
                "type": {"type": "string", "const": event_type},
                "timestamp": {"type": "string", "format": "date-time"},
                "data": {"$ref": f"#/components/schemas/{data_name}"},
            },
            "required": ["type", "timestamp", "data"],
            "additionalProperties": False,
        }
        webhooks[event_type] = {
            "post": {
                "operationId": "on_" + event_type.replace(".", "_"),
                "summary": f"`{event_type}`, delivered to the webhooks subscribed to it",
                "description": SIGNATURE,
                "tags": ["webhooks"],
                "parameters": [
                    {"$ref": f"#/components/parameters/{name}"} for name in WEBHOOK_HEADERS
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{payload}"}}
                    },
                },
                "responses": {
                    "2XX": {"description": "Received; any other answer is retried"},
                },
            }
        }
    return payloads, webhooks


class ContractPlugin(BasePlugin):
    """Completes every operation and adds the events and webhooks to the document."""

    def init_spec(self, spec: Any) -> None:
        super().init_spec(spec)
        self.spec = spec
        components, names = event_data_components()
        for name, schema in components.items():
            spec.components.schema(name, schema)
        spec.components.schema(
            "EventData",
            {
                "description": "An event's payload; its shape depends on the event's `type`.",
                "oneOf": [{"$ref": f"#/components/schemas/{n}"} for n in components],
            },
        )
        payloads, webhooks = _webhooks(names)
        for name, schema in payloads.items():
            spec.components.schema(name, schema)
        for name, (header, description, schema) in WEBHOOK_HEADERS.items():
            spec.components.parameter(
                name,
                "header",
                {"name": header, "required": True, "description": description, "schema": schema},
            )
        spec.components.header(
            LINK,
            {
                "description": 'RFC 8288 links to the other pages: `rel="next"` (and '
                '`rel="prev"` where pages are numbered); none on the last page.',
                "schema": {"type": "string"},
            },
        )
        for header, description in zip(
            RATE_HEADERS,
            (
                "Requests allowed in the current window",
                "Requests left in the current window",
                "When the window resets (seconds since the Unix epoch)",
            ),
            strict=True,
        ):
            spec.components.header(header, {"description": description, "schema": {}})
        spec.components.header(
            "Retry-After",
            {
                "description": "Seconds to wait before trying again",
                "schema": {"type": "integer", "minimum": 0},
            },
        )
        spec.options["webhooks"] = webhooks
        spec.options.setdefault("tags", []).append(
            {"name": "webhooks", "description": "Events delivered to your URL. " + SIGNATURE}
        )

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict | None = None,
        rule: Any = None,
        **kwargs: Any,
    ) -> None:
        if not operations or rule is None:
            return
        from referral_hub.ratelimit import LIST_ENDPOINTS

        endpoint = rule.endpoint
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            name = OPERATION_IDS.get(endpoint, endpoint.rsplit(".", 1)[-1])
            operation.setdefault("operationId", name if len(operations) == 1 else name + method)
            responses = operation.setdefault("responses", {})
            headers: dict[str, str] = {}
            if _is_page(operation) or endpoint in CURSOR_LISTS:
                headers[LINK] = LINK
            if endpoint in LIST_ENDPOINTS:
                headers.update({h: h for h in RATE_HEADERS})
            for code, response in list(responses.items()):
                if not isinstance(response, dict):
                    continue
                if str(code) == "200" and headers:
                    responses[code] = _with_headers(response, headers)
                elif str(code) in ("429", "503"):
                    responses[code] = _with_headers(response, {"Retry-After": "Retry-After"})


def _is_page(operation: dict[str, Any]) -> bool:
    return any(
        isinstance(p, dict) and p.get("in") == "query" and p.get("name") == "page"
        for p in operation.get("parameters", [])
    )


def _with_headers(response: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    refs = {name: {"$ref": f"#/components/headers/{ref}"} for name, ref in headers.items()}
    return {**response, "headers": {**response.get("headers", {}), **refs}}


def check_operation_ids(document: dict[str, Any]) -> list[str]:
    """The operationIds that are missing or used twice (a test and the export refuse them)."""
    seen: dict[str, str] = {}
    problems = []
    sections = [("path", document.get("paths", {})), ("webhook", document.get("webhooks", {}))]
    for section, items in sections:
        for path, item in items.items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or method == "parameters":
                    continue
                where = f"{section} {method.upper()} {path}"
                op_id = operation.get("operationId")
                if not op_id:
                    problems.append(f"{where}: no operationId")
                elif op_id in seen:
                    problems.append(f"{where}: operationId {op_id} also on {seen[op_id]}")
                else:
                    seen[op_id] = where
    return problems
