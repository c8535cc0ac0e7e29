"""Referral API: send, read (minimised), act, appointments, timeline."""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from referral_hub.apidoc import protected
from referral_hub.pagination import page_schema, paginate
from referral_hub.referrals import operations as ops
from referral_hub.referrals.schemas import (
    AnswerCompleteIn,
    AnswerNoteIn,
    AnswerReasonIn,
    AppointmentIn,
    AppointmentOut,
    AppointmentPatchIn,
    OrgRefOut,
    ReferralClientOut,
    ReferralIn,
    ReferralNoteIn,
    ReferralOut,
    ReferralQueryArgs,
    ReferralReasonIn,
    TimelineEntryOut,
)

blp = Blueprint("referrals", __name__, url_prefix="/api/v1", description="Referrals")

ReferralSummaryOut = Schema.from_dict(
    {
        "id": fields.String(required=True),
        "number": fields.String(required=True),
        "status": fields.String(required=True),
        "approval": fields.String(
            allow_none=True,
            metadata={
                "description": "an override's approval (sender only): pending, approved, declined"
            },
        ),
        "service": fields.String(required=True),
        "urgency": fields.String(required=True),
        "sender": fields.Nested(OrgRefOut, required=True),
        "recipient": fields.Nested(OrgRefOut, required=True),
        "client": fields.Nested(ReferralClientOut, required=True),
        "respond_by": fields.DateTime(required=True),
        "overdue": fields.Boolean(required=True),
        "created_at": fields.DateTime(required=True),
        "updated_at": fields.DateTime(required=True),
        "allowed_actions": fields.List(fields.String(), required=True),
    },
    name="ReferralSummaryOut",
)
ReferralPage = page_schema(ReferralSummaryOut, "ReferralPage")
REFUSALS = {404: "Not found (or another organisation's)", 409: "Invalid transition"}
ANSWER_REFUSALS = {
    404: "Not found (or another organisation's)",
    409: "Invalid transition, or recorded on behalf of a recipient on the hub",
}


@blp.route("/referrals", methods=["POST"])
@blp.arguments(ReferralIn)
@blp.response(201, ReferralOut)
@protected(blp, "referrals:write", extra=REFUSALS)
def send_one_referral(actor, data):
    """Send a referral along an active agreement, with consent or a supervised legal basis."""
    referral = ops.send_referral(actor, data)
    # Built before the commit, from what the operation just loaded: after it, the referral
    # is expired and reading it again reloads it with every eager relationship (a third of
    # the request's time). The view holds nothing the commit changes; what it shows of the
    # client (only with the right to read clients) is logged in the same commit.
    view = ops.referral_view(actor, referral)
    return (
        view,
        201,
        {"Location": url_for("referrals.get_one_referral", referral_id=view["id"], _external=True)},
    )


@blp.route("/referrals", methods=["GET"])
@blp.arguments(ReferralQueryArgs, location="query")
@blp.response(200, ReferralPage)
@protected(blp, "referrals:read")
def list_referrals(actor, args):
    """Sent or received referrals, overdue first; lines carry no personal data.

    `sender_reference` (box=sent) finds the sender's referrals by its own reference.
    """
    query = ops.referrals_query(
        actor,
        args["box"],
        args.get("status"),
        args.get("service"),
        args.get("overdue"),
        sender_reference=args.get("sender_reference"),
        updated_since=args.get("updated_since"),
        order=args["sort"],
    )
    body, headers = paginate(query, args["page"], args["page_size"])
    body["items"] = [ops.referral_summary(actor, r) for r in body["items"]]
    return body, 200, headers


@blp.route("/referrals/<referral_id>")
@blp.response(200, ReferralOut)
@protected(blp, "referrals:read", extra=REFUSALS)
def get_one_referral(actor, referral_id):
    """One referral: everything for the sender, the allowed categories for the recipient."""
    return ops.referral_view(actor, ops.get_referral_for(actor, referral_id))


@blp.route("/referrals/<referral_id>/events")
@blp.response(200, TimelineEntryOut(many=True))
@protected(blp, "referrals:read", extra=REFUSALS)
def referral_timeline(actor, referral_id):
    """The timeline, oldest first."""
    return ops.timeline(actor, referral_id)


def _action_view(action, schema, scope, refusals=REFUSALS):
    def view(actor, data, referral_id):
        referral = ops.act_on_referral(
            actor,
            referral_id,
            action,
            reason=data.get("reason"),
            outcome=data.get("outcome"),
            summary=data.get("summary"),
            note=data.get("note"),
            on_behalf=data.get("recorded_on_behalf", False),
        )
        return ops.referral_view(actor, referral)

    view.__name__ = f"{action.replace('-', '_')}_referral"
    view.__doc__ = f"{action.capitalize()} a referral."
    decorated = protected(blp, scope, extra=refusals)(view)
    decorated = blp.response(200, ReferralOut)(decorated)
    decorated = blp.arguments(schema)(decorated)
    blp.route(f"/referrals/<referral_id>/{action}", methods=["POST"])(decorated)


for _action, _schema in (
    ("accept", AnswerNoteIn),
    ("reject", AnswerReasonIn),
    ("start", AnswerNoteIn),
    ("hold", AnswerReasonIn),
    ("resume", AnswerNoteIn),
    ("complete", AnswerCompleteIn),
    ("fail", AnswerReasonIn),
):
    _action_view(_action, _schema, "referrals:respond", ANSWER_REFUSALS)
for _action in ("cancel", "enter-in-error"):
    _action_view(_action, ReferralReasonIn, "referrals:write")


@blp.route("/referrals/<referral_id>/approve", methods=["POST"])
@blp.arguments(ReferralNoteIn)
@blp.response(200, ReferralOut)
@protected(
    blp,
    "referrals:write",
    extra={**REFUSALS, 403: "Not an active supervisor of the sending unit acting personally"},
)
def approve_referral(actor, data, referral_id):
    """Approve a waiting override (an active supervisor of the sending unit, personally): it is
    sent now, through every gate again."""
    referral = ops.approve_override(actor, referral_id, note=data.get("note"))
    return ops.referral_view(actor, referral)


@blp.route("/referrals/<referral_id>/decline-approval", methods=["POST"])
@blp.arguments(ReferralReasonIn)
@blp.response(200, ReferralOut)
@protected(
    blp,
    "referrals:write",
    extra={**REFUSALS, 403: "Not an active supervisor of the sending unit acting personally"},
)
def decline_referral_approval(actor, data, referral_id):
    """Decline a waiting override: it is cancelled, and the recipient never learns of it."""
    referral = ops.decline_override(actor, referral_id, data.get("reason"))
    return ops.referral_view(actor, referral)


@blp.route("/referrals/<referral_id>/appointments", methods=["POST"])
@blp.arguments(AppointmentIn)
@blp.response(201, AppointmentOut)
@protected(blp, "referrals:respond", extra=ANSWER_REFUSALS)
def create_appointment(actor, data, referral_id):
    """Schedule a session (recipient; or the sender on behalf of a recipient not on the hub)."""
    on_behalf = data.pop("recorded_on_behalf", False)
    appointment = ops.schedule_appointment(actor, referral_id, data, on_behalf=on_behalf)
    return ops.appointment_view(appointment), 201


@blp.route("/referrals/<referral_id>/appointments/<appointment_id>", methods=["PATCH"])
@blp.arguments(AppointmentPatchIn)
@blp.response(200, AppointmentOut)
@protected(blp, "referrals:respond", extra=ANSWER_REFUSALS)
def patch_appointment(actor, data, referral_id, appointment_id):
    """Record attendance, a no-show, a cancellation or a new time (recipient; or the sender
    on behalf of a recipient not on the hub)."""
    on_behalf = data.pop("recorded_on_behalf", False)
    appointment = ops.update_appointment(
        actor, referral_id, appointment_id, data, on_behalf=on_behalf
    )
    return ops.appointment_view(appointment)
