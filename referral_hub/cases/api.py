"""Cases API: a UPTD PPA's cases, their service plan, notes and follow-ups (API.md)."""

from __future__ import annotations

from flask import Response, request, url_for
from flask_smorest import Blueprint

from referral_hub.apidoc import protected
from referral_hub.cases import operations as ops
from referral_hub.cases.models import Case
from referral_hub.cases.schemas import (
    CaseCloseIn,
    CaseIn,
    CaseNoteIn,
    CaseNoteOut,
    CaseOut,
    CasePatchIn,
    CaseQueryArgs,
    CaseSearchIn,
    CaseSummaryOut,
    PlanItemIn,
    PlanItemOut,
    PlanItemPatchIn,
    PlanItemReferIn,
    TimelineItemOut,
)
from referral_hub.extensions import db
from referral_hub.intake import operations as intake_ops
from referral_hub.pagination import PageArgs, page_schema, paginate, paginate_list

blp = Blueprint(
    "cases",
    __name__,
    url_prefix="/api/v1",
    description="Cases of a UPTD PPA: the case file, its service plan, notes and follow-ups",
)

CasePage = page_schema(CaseSummaryOut, "CasePage")
NotePage = page_schema(CaseNoteOut, "CaseNotePage")
TimelinePage = page_schema(TimelineItemOut, "CaseTimelinePage")
ETAG_HEADER = {"ETag": {"description": "entity tag; send it back in If-Match", "schema": {}}}
_NOT_FOUND = {404: "No such case of the caller's unit"}
_CLOSED = {**_NOT_FOUND, 409: "The case is closed (reopen it first), or the item's state"}
_STALE = {412: "The case changed since the ETag you sent"}


def _if_match(required: bool) -> dict:
    return {
        "parameters": [
            {
                "in": "header",
                "name": "If-Match",
                "required": required,
                "description": "The case's ETag as last read"
                + ("" if required else "; if sent and stale, the change is refused with 412"),
                "schema": {"type": "string"},
            }
        ]
    }


def _context() -> str:
    return f"{request.method} {request.path}"


def _with_etag(actor, case: Case, status: int = 200, **headers: str):
    view = ops.case_view(actor, case, _context())
    return view, status, {"ETag": f'"{ops.etag_of(case)}"', **headers}


@blp.route("/cases", methods=["POST"])
@blp.arguments(CaseIn)
@blp.response(201, CaseOut, headers=ETAG_HEADER)
@protected(blp, "cases:write")
def create_case(actor, data):
    """Open a case for a client of the caller's unit; its texts are encrypted at rest. With
    `intake`, this accepts the unit's own open intake (as `POST /intakes/{id}/accept` with
    `client`), so an intake is never tied to two cases or to another unit's case."""
    data = dict(data)
    intake_id = data.pop("intake", None)
    if intake_id:
        _, _, case = intake_ops.accept_intake(
            actor, intake_id, {"client": data["client"], "case": data}
        )
    else:
        case = ops.open_case(actor, data)
    db.session.flush()
    return _with_etag(
        actor, case, 201, Location=url_for("cases.get_case", case_id=case.id, _external=True)
    )


@blp.route("/cases", methods=["GET"])
@blp.arguments(CaseQueryArgs, location="query")
@blp.response(200, CasePage)
@protected(blp, "cases:read")
def list_cases(actor, args):
    """The unit's cases, newest first: numbers, statuses and codes, no text about the client.
    By a part of the client's name: POST /cases/search (a name never travels in a URL)."""
    args = dict(args)
    page, page_size = args.pop("page"), args.pop("page_size")
    body, headers = paginate(ops.cases_query(actor, **args), page, page_size)
    body["items"] = [ops.case_summary(case) for case in body["items"]]
    return body, 200, headers


@blp.route("/cases/search", methods=["POST"])
@blp.arguments(CaseSearchIn)
@blp.arguments(PageArgs, location="query")
@blp.response(200, CasePage)
@protected(blp, "cases:read")
def search_cases(actor, criteria, args):
    """The unit's cases whose client's name has a word beginning with each word of
    `client_name`, with the list's other filters; the same lines as the list."""
    body, headers = paginate(ops.cases_query(actor, **criteria), args["page"], args["page_size"])
    body["items"] = [ops.case_summary(case) for case in body["items"]]
    return body, 200, headers


@blp.route("/cases/<case_id>", methods=["GET"])
@blp.response(200, CaseOut, headers=ETAG_HEADER)
@protected(blp, "cases:read", extra=_NOT_FOUND)
def get_case(actor, case_id):
    """One case with its plan (the owning unit only); the read is logged for the client."""
    case = ops.get_case_for(actor, case_id)
    etag = ops.etag_of(case)
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    return _with_etag(actor, case)


@blp.route("/cases/<case_id>", methods=["PATCH"])
@blp.arguments(CasePatchIn)
@blp.response(200, CaseOut, headers=ETAG_HEADER)
@protected(blp, "cases:write", extra={**_CLOSED, **_STALE, 428: "If-Match is required"})
@blp.doc(**_if_match(True))
def update_case(actor, changes, case_id):
    """Change an open case; send `If-Match` with the ETag you read."""
    case = ops.update_case(actor, case_id, changes, if_match=request.headers.get("If-Match"))
    return _with_etag(actor, case)


@blp.route("/cases/<case_id>/close", methods=["POST"])
@blp.arguments(CaseCloseIn)
@blp.response(200, CaseOut, headers=ETAG_HEADER)
@protected(blp, "cases:write", extra={**_CLOSED, **_STALE})
@blp.doc(**_if_match(False))
def close_case(actor, data, case_id):
    """Close the case with a reason and a closing summary."""
    case = ops.close_case(
        actor,
        case_id,
        data["reason"],
        data.get("summary"),
        if_match=request.headers.get("If-Match"),
    )
    return _with_etag(actor, case)


@blp.route("/cases/<case_id>/reopen", methods=["POST"])
@blp.response(200, CaseOut, headers=ETAG_HEADER)
@protected(blp, "cases:write", extra={**_CLOSED, **_STALE})
@blp.doc(**_if_match(False))
def reopen_case(actor, case_id):
    """Reopen a closed case."""
    case = ops.reopen_case(actor, case_id, if_match=request.headers.get("If-Match"))
    return _with_etag(actor, case)


@blp.route("/cases/<case_id>/timeline", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, TimelinePage)
@protected(blp, "cases:read", extra=_NOT_FOUND)
def case_timeline(actor, args, case_id):
    """The intake the case came from, consents, plan, referrals, appointments, notes and
    disclosures of the case's client."""
    case = ops.get_case_for(actor, case_id)
    ops.case_view(actor, case, _context())  # the notes' texts are the case's: logged as read
    body, headers = paginate_list(ops.case_timeline(actor, case), args["page"], args["page_size"])
    return body, 200, headers


# --- the plan -------------------------------------------------------------------------------


@blp.route("/cases/<case_id>/plan-items", methods=["POST"])
@blp.arguments(PlanItemIn)
@blp.response(201, PlanItemOut)
@protected(blp, "cases:write", extra=_CLOSED)
def create_plan_item(actor, data, case_id):
    """Add a service to the plan: by the unit itself (its six services) or by a partner."""
    item = ops.add_plan_item(actor, case_id, data)
    return ops.plan_item_view(item), 201


@blp.route("/cases/<case_id>/plan-items/<item_id>", methods=["PATCH"])
@blp.arguments(PlanItemPatchIn)
@blp.response(200, PlanItemOut)
@protected(blp, "cases:write", extra=_CLOSED)
def update_plan_item(actor, changes, case_id, item_id):
    """Change an item's status (not a referred one's: it follows its referral), due date, note."""
    item = ops.update_plan_item(actor, case_id, item_id, changes)
    return ops.plan_item_view(item)


@blp.route("/cases/<case_id>/plan-items/<item_id>/refer", methods=["POST"])
@blp.arguments(PlanItemReferIn)
@blp.response(201, PlanItemOut)
@protected(blp, "cases:write", extra=_CLOSED)
def refer_plan_item(actor, data, case_id, item_id):
    """Refer the item to its partner through every gate of POST /referrals, with the case's
    data (violence types, summary, perpetrator relationship) as far as the categories allow."""
    item, referral = ops.refer_plan_item(actor, case_id, item_id, data)
    location = url_for("referrals.get_one_referral", referral_id=referral.id, _external=True)
    return ops.plan_item_view(item), 201, {"Location": location}


# --- notes ----------------------------------------------------------------------------------


@blp.route("/cases/<case_id>/notes", methods=["POST"])
@blp.arguments(CaseNoteIn)
@blp.response(201, CaseNoteOut)
@protected(blp, "cases:write", extra=_NOT_FOUND)
def create_note(actor, data, case_id):
    """A note, with `follow_up_on` to be reminded (home page, `case.follow_up_due`)."""
    note = ops.add_note(actor, case_id, data["text"], data.get("follow_up_on"))
    return ops.note_view(note), 201


@blp.route("/cases/<case_id>/notes", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, NotePage)
@protected(blp, "cases:read", extra=_NOT_FOUND)
def list_notes(actor, args, case_id):
    """The case's notes, newest first; the read is logged for the client."""
    case = ops.get_case_for(actor, case_id)
    body, headers = paginate(ops.notes_query(actor, case_id), args["page"], args["page_size"])
    body["items"] = [ops.note_view(note) for note in body["items"]]
    if body["items"]:
        ops.case_view(actor, case, _context())
    return body, 200, headers


@blp.route("/cases/<case_id>/notes/<note_id>/follow-up-done", methods=["POST"])
@blp.response(200, CaseNoteOut)
@protected(blp, "cases:write", extra={**_NOT_FOUND, 409: "No follow-up waits on the note"})
def complete_follow_up(actor, case_id, note_id):
    """Mark the note's follow-up done."""
    note = ops.complete_follow_up(actor, case_id, note_id)
    return ops.note_view(note)
