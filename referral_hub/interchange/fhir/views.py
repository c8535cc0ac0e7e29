"""The /fhir blueprint: parse the FHIR request, call the operation, answer application/fhir+json.

Not part of /openapi.json (the JSON API's contract): `GET /fhir/metadata`, the FHIR
CapabilityStatement, is this interface's description, and docs/interchange.md its guide.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, json, request

from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.interchange.fhir import operations, resources
from referral_hub.interchange.fhir.mapping import FHIR_JSON, JSON_PATCH, hub_url
from referral_hub.oauth.server import requires
from referral_hub.problems import Problem
from referral_hub.referrals.lifecycle import OUTCOMES

bp = Blueprint("fhir", __name__, url_prefix="/fhir")

#: R4's task-status value set: what a client may write as a Task's status.
TASK_STATUSES = frozenset(
    {
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
)
DEFAULT_COUNT, MAX_COUNT = 50, 200
_SEARCH_PARAMS = {name for name, _kind, _doc in resources.TASK_SEARCH_PARAMS} | {"_format"}
_JSON_FORMATS = {"json", "application/json", FHIR_JSON}
#: What a PUT may not change: who asked whom for what. The status is changed by its rules.
_FIXED_REFERENCES = ("focus", "for", "requester", "owner")


def fhir_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype=FHIR_JSON)


def _bad(detail: str, field: str | None = None) -> Problem:
    return Problem(400, "bad-request", detail, errors={field: [detail]} if field else None)


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, "validation-error", message, errors={field: [message]})


@bp.route("/metadata")
def metadata():
    """The CapabilityStatement: public, as every FHIR server's."""
    return fhir_response(resources.capability_statement())


def _read(build, actor, *args) -> Response:
    body = build(actor, *args)
    db.session.commit()  # a read of personal data is logged before it is answered
    return fhir_response(body)


@bp.route("/Task/<referral_id>")
@requires("referrals:read")
def read_task(actor, referral_id):
    return _read(operations.read_task, actor, referral_id)


@bp.route("/ServiceRequest/<referral_id>")
@requires("referrals:read")
def read_service_request(actor, referral_id):
    return _read(operations.read_service_request, actor, referral_id)


@bp.route("/Patient/<referral_id>")
@requires("referrals:read")
def read_patient(actor, referral_id):
    return _read(operations.read_patient, actor, referral_id)


@bp.route("/Consent/<referral_id>")
@requires("referrals:read")
def read_consent(actor, referral_id):
    return _read(operations.read_consent, actor, referral_id)


@bp.route("/Organization/<id_or_code>")
@requires("directory:read")
def read_organization(actor, id_or_code):
    return fhir_response(operations.read_organization(id_or_code))


# --- the Task search ------------------------------------------------------------------------


def _organization_reference(name: str) -> str:
    value = request.args[name]
    for prefix in (hub_url("/fhir/Organization/"), "Organization/"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    if not value or "/" in value:
        raise _bad(f"'{name}' is a reference to an organisation: Organization/<id>.", name)
    return value


def _instant(raw: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise _bad(
            "_lastUpdated takes an instant with its zone, e.g. gt2026-11-23T01:05:00Z.",
            "_lastUpdated",
        )
    return value.astimezone(dt.UTC)


def _last_updated() -> tuple[tuple[str, dt.datetime], ...]:
    found = []
    for raw in request.args.getlist("_lastUpdated"):
        prefix = raw[:2]
        if prefix not in operations.COMPARATORS:
            raise _bad(
                "_lastUpdated needs a comparator: gt, ge, lt or le (e.g. gt2026-11-23T01:05:00Z).",
                "_lastUpdated",
            )
        found.append((prefix, _instant(raw[2:])))
    return tuple(found)


def _number(name: str, default: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise _bad(f"'{name}' is a whole number from 1 to {high}.", name)
    return int(raw)


def _parse_search() -> operations.TaskSearch:
    unknown = sorted(set(request.args) - _SEARCH_PARAMS)
    if unknown:
        raise Problem(
            400,
            "bad-request",
            f"Unknown search parameters: {', '.join(unknown)}.",
            errors={name: ["Not a search parameter of Task here."] for name in unknown},
        )
    if request.args.get("_format", "json") not in _JSON_FORMATS:
        raise _bad("Only JSON is served.", "_format")
    status = request.args.get("status")
    if status is not None and status not in TASK_STATUSES:
        raise _bad(f"'{status}' is not a Task status.", "status")
    return operations.TaskSearch(
        owner=_organization_reference("owner") if "owner" in request.args else None,
        requester=_organization_reference("requester") if "requester" in request.args else None,
        last_updated=_last_updated(),
        status=status,
    )


def _page_link(relation: str, page: int) -> dict[str, str]:
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "_page"]
    args.append(("_page", str(page)))
    return {"relation": relation, "url": hub_url("/fhir/Task?" + urlencode(args))}


@bp.route("/Task")
@requires("referrals:read")
def search_tasks(actor):
    """Tasks the caller's organisation sent or received, as a searchset Bundle, paged."""
    search = _parse_search()
    page = _number("_page", 1, 10**6)
    count = _number("_count", DEFAULT_COUNT, MAX_COUNT)
    tasks, total = operations.search_tasks(actor, search, page, count)
    last = max(1, -(-total // count))
    links = [_page_link("self", page), _page_link("first", 1)]
    if page > 1:
        links.append(_page_link("previous", min(page - 1, last)))
    if page < last:
        links.append(_page_link("next", page + 1))
    links.append(_page_link("last", last))
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": resources.instant(utcnow())},
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": hub_url(f"/fhir/Task/{task['id']}"),
                "resource": task,
                "search": {"mode": "match"},
            }
            for task in tasks
        ],
    }
    return fhir_response(bundle)


# --- changing a Task -------------------------------------------------------------------------


def _status(value: Any, field: str = "status") -> str:
    if not isinstance(value, str) or value not in TASK_STATUSES:
        raise _invalid(field, f"'{value}' is not a Task status (R4 task-status).")
    return value


def _reason(value: Any) -> str:
    """A statusReason (CodeableConcept): its text, else its first coding's display or code."""
    if isinstance(value, dict):
        text = value.get("text")
        codings = value.get("coding") or []
        if not text and codings and isinstance(codings[0], dict):
            text = codings[0].get("display") or codings[0].get("code")
        if isinstance(text, str) and text.strip():
            return text
    raise _invalid("statusReason", "statusReason is a CodeableConcept with a text.")


def _outcome(value: Any) -> str:
    """A businessStatus (CodeableConcept) coding one of the hub's outcomes."""
    codings = value.get("coding") if isinstance(value, dict) else None
    code = codings[0].get("code") if codings and isinstance(codings[0], dict) else None
    if code not in OUTCOMES:
        raise _invalid(
            "businessStatus", f"businessStatus codes the outcome, one of: {', '.join(OUTCOMES)}."
        )
    return code


def _require_media_type(*accepted: str) -> None:
    if request.mimetype not in accepted:
        raise Problem(
            415,
            "unsupported-media-type",
            f"Send the body as {' or '.join(accepted)}.",
            headers={"Accept-Patch": JSON_PATCH} if JSON_PATCH in accepted else None,
        )


_PATCH_FIELDS = {"/status": "status", "/statusReason": "reason", "/businessStatus": "outcome"}


def _parse_patch(ops: Any) -> operations.TaskChange:
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        raise _bad("A JSON Patch is an array of operations (RFC 6902).")
    change: dict[str, Any] = {}
    for index, op in enumerate(ops):
        kind, path = op.get("op"), op.get("path")
        where = f"[{index}]"
        if kind == "test" and path == "/status":
            change["expected_status"] = _status(op.get("value"), where)
        elif kind in ("replace", "add") and path in _PATCH_FIELDS:
            if "value" not in op:
                raise _invalid(where, "A replace or add has a value.")
            name = _PATCH_FIELDS[path]
            parse = {"status": _status, "reason": _reason, "outcome": _outcome}[name]
            change[name] = parse(op["value"])
        else:
            raise _invalid(
                where,
                "Only 'replace' or 'add' of /status, /statusReason, /businessStatus and "
                "'test' of /status are supported.",
            )
    return operations.TaskChange(**change)


def _changed(actor, referral_id: str, change: operations.TaskChange) -> Response:
    task = operations.change_task(actor, referral_id, change)
    db.session.commit()
    return fhir_response(task)


@bp.route("/Task/<referral_id>", methods=["PATCH"])
@requires(None)
def patch_task(actor, referral_id):
    """Change a Task's status (JSON Patch), through the rules of the API's actions."""
    _require_media_type(JSON_PATCH)
    return _changed(actor, referral_id, _parse_patch(request.get_json()))


@bp.route("/Task/<referral_id>", methods=["PUT"])
@requires(None)
def update_task(actor, referral_id):
    """Change a Task's status by sending it back whole; only its status, statusReason and
    businessStatus may differ from what the hub holds."""
    _require_media_type(FHIR_JSON, "application/json")
    body = request.get_json()
    if not isinstance(body, dict) or body.get("resourceType") != "Task":
        raise _bad("The body is a Task resource.")
    if body.get("id") != referral_id:
        raise _bad("The Task's id is the id in the URL.", "id")
    current = operations.read_task(actor, referral_id)
    for name in _FIXED_REFERENCES:
        given = body.get(name, current[name])
        if not isinstance(given, dict) or given.get("reference") != current[name]["reference"]:
            raise _invalid(name, f"'{name}' cannot be changed.")
    if body.get("intent", "order") != "order":
        raise _invalid("intent", "'intent' cannot be changed.")
    change = operations.TaskChange(
        status=_status(body.get("status")),
        reason=_reason(body["statusReason"]) if body.get("statusReason") else None,
        outcome=_outcome(body["businessStatus"]) if body.get("businessStatus") else None,
    )
    return _changed(actor, referral_id, change)
