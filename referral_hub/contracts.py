"""The published wire contracts under schemas/: generated from the code, checked for drift.

`flask hub export-schemas` writes them; a test regenerates them and fails when the committed
files differ, so a change of the API or of an event's shape is always a visible diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask

from referral_hub.referrals.lifecycle import DRAFT as DRAFT_STATUS
from referral_hub.referrals.lifecycle import STATUSES
from referral_hub.referrals.schemas import URGENCIES

#: The base URL written into the published OpenAPI document in place of a deployment's.
PUBLISHED_BASE_URL = "https://hub.example"
SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

_LINKS = {
    "type": "object",
    "properties": {
        "self": {"type": "string", "format": "uri", "description": "GET the detail (logged)"},
        "portal": {"type": "string", "format": "uri"},
    },
    "required": ["self"],
}
_STR = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_DATE = {"type": "string", "format": "date"}

_REFERRAL = {
    "referral_id": _STR,
    "number": {"type": "string", "pattern": "^RJ-[A-Z0-9]+-[0-9]{4}-[0-9]{6}$"},
    # No event is about a draft: it is announced when it is sent (or, to its sender alone,
    # cancelled when its approval is declined: previous_status "draft").
    "status": {"enum": [s for s in STATUSES if s != DRAFT_STATUS]},
    "previous_status": {"enum": list(STATUSES)},
    "service": _STR,
    "urgency": {"enum": list(URGENCIES)},
    "sender": {**_STR, "description": "organisation code"},
    "recipient": {**_STR, "description": "organisation code"},
    "respond_by": _TIME,
    "reason": {
        "enum": ["consent_withdrawn", "agreement_ended"],
        "description": "why the hub cancelled it: a code, never free text",
    },
    "recorded_on_behalf": {
        "type": "boolean",
        "description": "the sender recorded this answer on behalf of a recipient not on the hub",
    },
    "links": _LINKS,
}
_REFERRAL_REQUIRED = ["referral_id", "number", "status", "service", "sender", "recipient", "links"]
_APPOINTMENT = {
    **_REFERRAL,
    "appointment_id": _STR,
    "starts_at": _TIME,
    "mode": {"enum": ["in_person", "video", "phone"]},
}
_AGREEMENT = {
    "id": _STR,
    "number": _STR,
    "kind": {"enum": ["mou", "pks", "contract"]},
    "version": {"type": "integer"},
    "status": _STR,
    "effective_from": _DATE,
    "expires_on": _DATE,
    "supersedes": {"type": ["string", "null"]},
    "parties": {"type": "array", "items": _STR},
    "signed_by": {"type": ["string", "null"]},
    "signature_method": {
        "enum": ["hub", "paper"],
        "description": "agreement.signed: signed on the hub, or recorded from a paper signature",
    },
    "awaiting_signature_from": {"type": "array", "items": _STR},
    "window_days": {"type": ["integer", "null"]},
    "links": _LINKS,
}
_CONSENT = {
    "consent_id": _STR,
    "referral_ids": {
        "type": "array",
        "items": _STR,
        "description": "the recipient's own referrals that rested on the consent",
    },
    "links": _LINKS,
}

_CHECKPOINT = {
    "entries": {"type": "integer", "minimum": 1, "description": "the chain's length"},
    "head": {
        "type": "string",
        "pattern": "^[0-9a-f]{64}$",
        "description": "entry `entries`'s hash",
    },
    "at": {
        "type": "string",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
        "description": "RFC 3339 UTC to the second, exactly as signed",
    },
    "key_id": {**_STR, "description": "the key among GET /api/v1/audit/keys"},
    "signature": {**_STR, "description": "base64 Ed25519 signature of the signed text"},
    "previous": {
        "type": ["string", "null"],
        "pattern": "^[0-9a-f]{64}$",
        "description": "digest of the checkpoint before it; null for the first",
    },
    "links": _LINKS,
}
_CASE_FOLLOW_UP = {
    "case_id": _STR,
    "number": {"type": "string", "pattern": "^KS-[A-Z0-9]+-[0-9]{4}-[0-9]{6}$"},
    "note_id": _STR,
    "follow_up_on": _DATE,
    "caseworker": {"type": ["string", "null"], "description": "the caseworker's user id"},
    "links": _LINKS,
}
_CHECKPOINT_DESCRIPTION = (
    "A signed checkpoint of the audit chain, sent to every organisation: keep it. "
    "`flask hub audit-verify --checkpoint FILE` holds the hub's chain to it (FILE: this "
    "payload, its `data`, or the checkpoint as GET /api/v1/audit/checkpoints serves it), and "
    "any Ed25519 library verifies it with the key `key_id` of GET /api/v1/audit/keys. The "
    "signed text is UTF-8, these lines joined by a newline, none after the last: "
    "`referral_hub-audit-checkpoint:v1`, `entries` in decimal, `head`, `at`, `previous` "
    "(empty when null)."
)

_PING = {
    "webhook_id": {"type": "string", "description": "the subscription pinged"},
    "links": _LINKS,
}
_PING_DESCRIPTION = (
    "A test delivery, sent to one subscription when its owner asks "
    "(POST /api/v1/webhooks/{id}/ping), whatever the event types it receives; signed like "
    "every delivery. Answer it 2xx. It is never in the events feed."
)

#: Event type -> (properties of `data`, required ones).
EVENT_DATA: dict[str, tuple[dict[str, Any], list[str]]] = {
    **dict.fromkeys(
        (
            "referral.requested",
            "referral.accepted",
            "referral.rejected",
            "referral.cancelled",
            "referral.status_changed",
            "referral.overdue",
        ),
        (_REFERRAL, _REFERRAL_REQUIRED),
    ),
    "appointment.scheduled": (_APPOINTMENT, [*_REFERRAL_REQUIRED, "appointment_id", "starts_at"]),
    **{
        t: (_AGREEMENT, ["id", "kind", "status", "parties"])
        for t in (
            "agreement.signed",
            "agreement.activated",
            "agreement.expiring",
            "agreement.expired",
        )
    },
    "consent.withdrawn": (_CONSENT, ["consent_id", "referral_ids"]),
    "case.follow_up_due": (
        _CASE_FOLLOW_UP,
        ["case_id", "number", "note_id", "follow_up_on", "links"],
    ),
    "audit.checkpoint": (
        _CHECKPOINT,
        ["entries", "head", "at", "key_id", "signature", "previous", "links"],
    ),
    "webhook.ping": (_PING, ["webhook_id", "links"]),
}
#: Event type -> what its schema's description says instead of the general one.
EVENT_DESCRIPTIONS = {
    "audit.checkpoint": _CHECKPOINT_DESCRIPTION,
    "webhook.ping": _PING_DESCRIPTION,
}


def event_schema(event_type: str) -> dict[str, Any]:
    """JSON Schema of a webhook payload of one event type (the feed's `data` is the same)."""
    properties, required = EVENT_DATA[event_type]
    return {
        "$schema": DRAFT,
        "$id": f"{PUBLISHED_BASE_URL}/schemas/events/{event_type}.json",
        "title": event_type,
        "description": EVENT_DESCRIPTIONS.get(
            event_type,
            "Webhook payload (Standard Webhooks). It carries no personal data: ids, "
            "numbers, statuses and links; GET the link for the detail.",
        ),
        "type": "object",
        "properties": {
            "type": {"const": event_type},
            "timestamp": _TIME,
            "data": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
        "required": ["type", "timestamp", "data"],
        "additionalProperties": False,
    }


def openapi_document(app: Flask) -> dict[str, Any]:
    """The app's OpenAPI 3.1 description with the deployment's base URL made neutral."""
    from referral_hub.extensions import api

    with app.app_context():
        spec = api.spec.to_dict()
    # The base URL the spec was built with: `api` is one object per process, and the spec is
    # that of the app initialised last (in tests, not always `app`, whose config may differ).
    base = spec["servers"][0]["url"] if spec.get("servers") else app.config["HUB_BASE_URL"]
    text = json.dumps(spec, sort_keys=True)
    return json.loads(text.replace(base, PUBLISHED_BASE_URL))


def rendered_contracts(app: Flask) -> dict[str, str]:
    """Relative path under schemas/ -> file content, exactly as committed."""
    files = {"openapi.json": _dump(openapi_document(app))}
    for event_type in EVENT_DATA:
        files[f"events/{event_type}.json"] = _dump(event_schema(event_type))
    return files


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_contracts(app: Flask, directory: Path = SCHEMAS_DIR) -> list[str]:
    """Write the contracts; return the paths that changed."""
    changed = []
    for relative, content in rendered_contracts(app).items():
        path = directory / relative
        if not path.exists() or path.read_text() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            changed.append(relative)
    return changed
