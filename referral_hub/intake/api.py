"""Intake API: reports to a UPTD PPA from community channels, triage, forward, answer."""

from __future__ import annotations

from flask import request, url_for
from flask_smorest import Blueprint

from referral_hub.apidoc import protected
from referral_hub.cases.operations import case_summary
from referral_hub.clients.schemas import MatchListOut
from referral_hub.extensions import db
from referral_hub.intake import operations as ops
from referral_hub.intake.schemas import (
    IntakeAcceptedOut,
    IntakeAcceptIn,
    IntakeClockIn,
    IntakeClockOut,
    IntakeCreatedOut,
    IntakeDeclineIn,
    IntakeForwardIn,
    IntakeIn,
    IntakeOut,
    IntakeQueryArgs,
    IntakeTriageIn,
)
from referral_hub.pagination import page_schema, paginate

blp = Blueprint(
    "intakes",
    __name__,
    url_prefix="/api/v1",
    description="Intakes: reports of violence to a UPTD PPA from community channels",
)

IntakePage = page_schema(IntakeOut, "IntakePage")
_NOT_FOUND = {404: "No such intake the caller may see"}
_ANSWERED = {**_NOT_FOUND, 409: "The intake was already accepted, declined or forwarded"}


@blp.route("/intakes", methods=["POST"])
@blp.arguments(IntakeIn)
@blp.response(201, IntakeCreatedOut)
@protected(
    blp,
    "intakes:write",
    extra={
        409: "intake-already-reported: the caller's organisation already reported an intake "
        "with this external_reference (the problem's `intake` names it)"
    },
)
def create_intake(actor, data):
    """Report to a UPTD PPA; needs an agreement in force in which it provides complaint_intake
    to the caller's organisation (none for the unit's own walk-ins, calls and outreach). An
    `external_reference` is the organisation's once: sent again, 409 intake-already-reported
    names the intake made (`GET /intakes?box=sent&external_reference=` finds it too)."""
    intake = ops.receive_intake(actor, data)
    db.session.flush()
    body = {
        "id": intake.id,
        "number": intake.number,
        "status": intake.status,
        "respond_by": intake.respond_by,
    }
    location = url_for("intakes.get_intake", intake_id=intake.id, _external=True)
    return body, 201, {"Location": location}


@blp.route("/intakes", methods=["GET"])
@blp.arguments(IntakeQueryArgs, location="query")
@blp.response(200, IntakePage)
@protected(blp, "intakes:read")
def list_intakes(actor, args):
    """`box=received`: the unit's intakes by urgency and due time; `box=sent`: those the
    caller's organisation reported, with their status only (each one's words: GET by id)."""
    args = dict(args)
    page, page_size = args.pop("page"), args.pop("page_size")
    body, headers = paginate(ops.intakes_query(actor, **args), page, page_size)
    body["items"] = [ops.intake_view(actor, intake, listing=True) for intake in body["items"]]
    return body, 200, headers


@blp.route('/intakes/<id("clock"):intake_id>', methods=["GET"])
@blp.response(200, IntakeOut)
@protected(blp, "intakes:read", extra=_NOT_FOUND)
def get_intake(actor, intake_id):
    """The whole intake for the unit that owns it; what it sent, with the status and history,
    for the organisation that reported it (never what the unit added)."""
    return ops.intake_view(actor, ops.get_intake_for(actor, intake_id))


@blp.route('/intakes/<id("clock"):intake_id>/triage', methods=["POST"])
@blp.arguments(IntakeTriageIn)
@blp.response(200, IntakeOut)
@protected(blp, "intakes:write", extra=_ANSWERED)
def triage_intake(actor, data, intake_id):
    """Set the risk level: the time to answer follows it (1 h, 6 h, 72 h unless the unit
    set its own)."""
    intake = ops.triage_intake(actor, intake_id, data["risk_level"], data.get("note"))
    return ops.intake_view(actor, intake)


@blp.route('/intakes/<id("clock"):intake_id>/forward', methods=["POST"])
@blp.arguments(IntakeForwardIn)
@blp.response(200, IntakeOut)
@protected(blp, "intakes:write", extra=_ANSWERED)
def forward_intake(actor, data, intake_id):
    """Hand the intake to another UPTD PPA along an agreement between the two units."""
    intake = ops.forward_intake(actor, intake_id, data["to"])
    return ops.intake_view(actor, intake)


@blp.route('/intakes/<id("clock"):intake_id>/matches', methods=["GET"])
@blp.response(200, MatchListOut)
@protected(blp, "intakes:write", extra=_NOT_FOUND)
def intake_matches(actor, intake_id):
    """Existing clients of the unit who may be the intake's victim (a close name with a
    fitting age and region), with why; ids and reasons only, nothing is merged. Accept with
    `client` to link one, or without to register someone new."""
    return {"items": ops.intake_matches(actor, intake_id)}


@blp.route('/intakes/<id("clock"):intake_id>/accept', methods=["POST"])
@blp.arguments(IntakeAcceptIn)
@blp.response(200, IntakeAcceptedOut)
@protected(blp, "intakes:write", extra=_ANSWERED)
def accept_intake(actor, data, intake_id):
    """Link an existing client or register one, and open a case with what the intake told."""
    intake, client, case = ops.accept_intake(actor, intake_id, data)
    db.session.flush()
    return {
        "intake": ops.intake_view(actor, intake),
        "client": {"id": client.id, "code": client.code},
        "case": case_summary(case),
    }


@blp.route('/intakes/<id("clock"):intake_id>/decline', methods=["POST"])
@blp.arguments(IntakeDeclineIn)
@blp.response(200, IntakeOut)
@protected(blp, "intakes:write", extra=_ANSWERED)
def decline_intake(actor, data, intake_id):
    """Decline with a reason; the reporting organisation sees the status only."""
    intake = ops.decline_intake(actor, intake_id, data["reason"])
    return ops.intake_view(actor, intake)


# --- the unit's own clock -------------------------------------------------------------------

_ETAG = {"ETag": {"description": "entity tag; send it back in If-Match", "schema": {}}}
_IF_MATCH = {
    "parameters": [
        {
            "in": "header",
            "name": "If-Match",
            "required": False,
            "description": "The clock's ETag as last read; if sent and stale, refused with 412",
            "schema": {"type": "string"},
        }
    ]
}


def _clock_answer(clock):
    return clock, 200, {"ETag": f'"{ops.clock_etag(clock)}"'}


@blp.route("/intakes/clock", methods=["GET"])
@blp.response(200, IntakeClockOut, headers=_ETAG)
@protected(blp, "intakes:read", extra={403: "Not a UPTD PPA"})
def get_intake_clock(actor):
    """The caller's unit's hours to answer an intake by risk (its own, else the hub's
    defaults 1 h, 6 h, 72 h), with the defaults beside them."""
    return _clock_answer(ops.unit_clock(actor))


@blp.route("/intakes/clock", methods=["PUT"])
@blp.arguments(IntakeClockIn)
@blp.response(200, IntakeClockOut, headers=_ETAG)
@protected(
    blp,
    "intakes:write",
    extra={403: "Not a UPTD PPA, or not its supervisor", 412: "The clock changed since read"},
)
@blp.doc(**_IF_MATCH)
def set_intake_clock(actor, data):
    """Set the unit's own hours (a supervisor, or the unit's own app): whole hours from 1 to
    720, high at most 24, high <= medium <= low. They apply to clocks started from now on (a
    new intake, a triage, a forward); a clock already running keeps its time."""
    clock = ops.set_response_hours(actor, data, if_match=request.headers.get("If-Match"))
    return _clock_answer(clock)
