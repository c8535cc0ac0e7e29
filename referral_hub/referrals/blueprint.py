"""Referrals in the portal: the blueprint both sides of a referral share, and its URL rules.

The pages are in `sender_views` (the sent list, the wizard, the sender's detail and letter),
`inbox_views` (Rujukan masuk: the recipient's inbox, minimised detail and answers) and
`approval_views` (the supervisors' overrides waiting for approval). This module imports them
and they never import it, as indico's `rb/blueprint.py` does, so every URL is read here in one
place. Who may open a page is kept on the view itself (`login_required`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint

from referral_hub.portal.templating import CODE_NAMES, MOMENTS, offer_to_templates
from referral_hub.referrals import approval_views, inbox_views, sender_views

bp = Blueprint("referrals_portal", __name__)
offer_to_templates(bp, globals=CODE_NAMES, filters=MOMENTS)

GET, POST, BOTH = ("GET",), ("POST",), ("GET", "POST")
RECEIVED = "/referrals/received/<referral_id>"
APPROVAL = "/referrals/approvals/<referral_id>"
RULES: tuple[tuple[str, str, Callable[..., Any], tuple[str, ...]], ...] = (
    # The sender's side.
    ("/referrals/sent", "sent", sender_views.sent, GET),
    ("/referrals/new", "new", sender_views.new, BOTH),
    ("/referrals/<referral_id>", "detail", sender_views.detail, GET),
    ("/referrals/<referral_id>/cancel", "cancel", sender_views.cancel, POST),
    (
        "/referrals/<referral_id>/enter-in-error",
        "enter_in_error",
        sender_views.enter_in_error,
        POST,
    ),
    ("/referrals/<referral_id>/letter", "letter", sender_views.letter, GET),
    # A partner not on the hub: its answers and sessions, recorded by the sender for it.
    ("/referrals/<referral_id>/on-behalf", "on_behalf", sender_views.on_behalf, POST),
    (
        "/referrals/<referral_id>/on-behalf/session",
        "on_behalf_session",
        sender_views.on_behalf_session,
        POST,
    ),
    (
        "/referrals/<referral_id>/on-behalf/session/<appointment_id>",
        "on_behalf_session_update",
        sender_views.on_behalf_session_update,
        POST,
    ),
    # The recipient's side (Rujukan masuk).
    ("/referrals/received", "received", inbox_views.received, GET),
    (RECEIVED, "received_detail", inbox_views.received_detail, GET),
    (f"{RECEIVED}/<action>", "received_act", inbox_views.received_act, POST),
    (f"{RECEIVED}/appointments", "received_schedule", inbox_views.received_schedule, POST),
    (
        f"{RECEIVED}/appointments/<appointment_id>",
        "received_appointment",
        inbox_views.received_appointment,
        POST,
    ),
    # The unit's supervisors (Menunggu persetujuan).
    ("/referrals/approvals", "approvals", approval_views.approvals, GET),
    (APPROVAL, "approval", approval_views.approval, GET),
    (f"{APPROVAL}/approve", "approve", approval_views.approve, POST),
    (f"{APPROVAL}/decline", "decline", approval_views.decline, POST),
)

for _rule, _endpoint, _view, _methods in RULES:
    bp.add_url_rule(_rule, _endpoint, _view, methods=list(_methods))
