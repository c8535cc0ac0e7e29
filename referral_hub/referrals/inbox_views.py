"""Rujukan masuk: the recipient's inbox, the minimised detail, the answer and the closed loop.

Every page here is built from what the operations hand a recipient: list lines from
`referral_summary` (no personal data) and the detail from `referral_view` (only the
categories agreement, consent and sender allow; the read is logged as a disclosure). The
templates get those dictionaries and nothing else, so nothing outside the minimised view
can reach the page source.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _

from referral_hub.directory.models import PARTNER_TYPES
from referral_hub.extensions import db
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.code_names import label
from referral_hub.portal.filters import query_values
from referral_hub.portal.forms import FormState, read_form
from referral_hub.portal.moments import moment
from referral_hub.portal.navigation import receiving_staff, register_panel
from referral_hub.portal.paging import page_number, paginate_select
from referral_hub.problems import Problem
from referral_hub.referrals import operations as ops
from referral_hub.referrals.lifecycle import (
    DRAFT,
    OPEN_STATUSES,
    OUTCOMES,
    RECIPIENT,
    STATUSES,
    appointment_schedulable,
)
from referral_hub.referrals.listing import (
    count_of,
    list_filters,
    partner_options,
    query_filters,
    service_options,
)
from referral_hub.referrals.models import Referral
from referral_hub.transaction import commit_now

#: Every organisation that can be sent a referral; the hub operator only audits.
RECEIVING_TYPES = tuple(t for t in PARTNER_TYPES if t != "hub_operator")
RECIPIENT_ACTIONS = ("accept", "reject", "start", "hold", "resume", "complete", "fail")
#: Actions whose form has a reason field, named `<action>_reason` so that several can sit
#: on one page with distinct ids.
REASON_ACTIONS = ("reject", "hold", "fail")
APPOINTMENT_MODES = ("in_person", "video", "phone")
APPOINTMENT_OUTCOMES = ("attended", "no_show", "cancelled")
TEXT_MAX = 4000
PAGE_SIZE = 25
PANEL_LINES = 5

#: Who answers received referrals: the roles with the right to (permissions.py), of an
#: organisation that can receive them.
staff_page = login_required(permission="referrals:respond", org_types=RECEIVING_TYPES)


def _done_messages() -> dict[str, str]:
    return {
        "accept": _("Rujukan %(number)s diterima."),
        "reject": _("Rujukan %(number)s ditolak."),
        "start": _("Layanan untuk rujukan %(number)s dimulai."),
        "hold": _("Rujukan %(number)s ditunda."),
        "resume": _("Rujukan %(number)s dilanjutkan."),
        "complete": _("Rujukan %(number)s selesai."),
        "fail": _("Rujukan %(number)s dicatat gagal."),
    }


# --- the inbox ---------------------------------------------------------------------------------


@staff_page
def received():
    """Referrals received by the user's organisation, overdue first, with filters."""
    actor = portal_actor()
    values, errors = list_filters()
    query = ops.referrals_query(actor, "received", **query_filters(values))
    page = paginate_select(query, page_number(), PAGE_SIZE)
    lines = [ops.referral_summary(actor, referral) for referral in page.items]
    waiting = ops.referrals_query(actor, "received", status="requested")
    return render_template(
        "referrals/received.html",
        page=page,
        lines=lines,
        values=values,
        errors=errors,
        filtered=bool(query_values(values)),
        # A draft never reaches the recipient: not a status its inbox can hold.
        statuses=[(s, label("status", s)) for s in STATUSES if s != DRAFT],
        partners=partner_options(actor.organization_id, "received"),
        services=service_options(),
        waiting=count_of(waiting),
        overdue=count_of(ops.referrals_query(actor, "received", overdue=True)),
    ), (422 if errors else 200)


# --- the minimised detail ----------------------------------------------------------------------


def _recipient_referral(referral_id: str) -> Referral:
    """A referral the user's organisation received; anything else is 404 on this page."""
    actor = portal_actor()
    referral = ops.get_referral_for(actor, referral_id)
    if ops.side_of(actor, referral) != RECIPIENT:
        raise Problem(404, "not-found", f"No referral '{referral_id}'.", reason="no-referral")
    return referral


def _detail_page(
    referral_id: str,
    *,
    forms: dict[str, FormState] | None = None,
    status: int = 200,
):
    actor = portal_actor()
    referral = _recipient_referral(referral_id)
    view = ops.referral_view(actor, referral)
    events = ops.timeline(actor, referral.id)
    # The read of personal data is logged before it is shown, also when the page answers a
    # refusal (4xx), which the request's unit of work rolls back.
    commit_now()
    forms = dict(forms or {})
    for action in RECIPIENT_ACTIONS:
        forms.setdefault(action, FormState())
    forms.setdefault("appointment", FormState({"mode": "in_person"}))
    return render_template(
        "referrals/received_detail.html",
        referral=view,
        events=events,
        states=forms,
        actions=[a for a in RECIPIENT_ACTIONS if a in view["allowed_actions"]],
        can_schedule=appointment_schedulable(RECIPIENT, view["status"]),
        outcomes=[(o, label("outcome", o)) for o in OUTCOMES],
        modes=[(m, label("mode", m)) for m in APPOINTMENT_MODES],
    ), status


@staff_page
def received_detail(referral_id: str):
    """One received referral as the recipient may see it, with its actions and sessions."""
    return _detail_page(referral_id)


def _refused(form: FormState, problem: Problem) -> int:
    """Show an operation's refusal in the form; the page's status code for it."""
    form.refused(problem)
    said = {message for messages in form.errors.values() for message in messages}
    if form.message in said:
        form.message = None  # already beside its field: saying it twice is noise
    return problem.status if problem.status in (409, 413, 422) else 422


def _check_length(form: FormState, *names: str) -> None:
    for name in names:
        if len(str(form.values.get(name) or "")) > TEXT_MAX:
            form.errors.setdefault(name, []).append(
                _("Paling banyak %(count)d karakter.", count=TEXT_MAX)
            )


@staff_page
def received_act(referral_id: str, action: str):
    """Accept, reject, start, hold, resume, complete or fail a received referral."""
    if action not in RECIPIENT_ACTIONS:
        abort(404)
    reason_field = f"{action}_reason"
    form = read_form(text=(reason_field, "outcome", "summary"))
    _check_length(form, reason_field, "summary")
    outcome = str(form.values["outcome"] or "")
    if action == "complete" and outcome and outcome not in OUTCOMES:
        form.errors.setdefault("outcome", []).append(_("Pilih hasil dari daftar."))
    completing = action == "complete"
    status = 422
    if not form.errors:
        try:
            referral = ops.act_on_referral(
                portal_actor(),
                referral_id,
                action,
                reason=str(form.values[reason_field] or "") or None,
                outcome=(outcome or None) if completing else None,
                summary=(str(form.values["summary"] or "") or None) if completing else None,
            )
        except Problem as problem:
            status = _refused(form, problem)
            # The operation names its field `reason`; on this page it is the action's own.
            if "reason" in form.errors:
                form.errors[reason_field] = form.errors.pop("reason")
        else:
            flash(_done_messages()[action] % {"number": referral.number}, "success")
            return redirect(url_for(".received_detail", referral_id=referral_id))
    return _detail_page(referral_id, forms={action: form}, status=status)


# --- appointments --------------------------------------------------------------------------


def parse_local_time(form: FormState, name: str) -> dt.datetime | None:
    """A datetime-local value, meant in the hub's time zone, as an aware time."""
    text = str(form.values.get(name) or "")
    if not text:
        form.errors.setdefault(name, []).append(_("Wajib diisi."))
        return None
    try:
        naive = dt.datetime.fromisoformat(text)
    except ValueError:
        form.errors.setdefault(name, []).append(
            _("Tanggal dan jam tidak sah; gunakan format TTTT-BB-HH JJ:MM.")
        )
        return None
    if naive.tzinfo is not None:
        return naive
    try:
        return get_timezone().localize(naive)
    except OverflowError:  # midnight of year 1 here was in year 0 in UTC
        form.errors.setdefault(name, []).append(
            _("Tanggal dan jam tidak sah; gunakan format TTTT-BB-HH JJ:MM.")
        )
        return None


@staff_page
def received_schedule(referral_id: str):
    """Schedule a session of an accepted or running referral."""
    form = read_form(text=("starts_at", "duration_minutes", "mode", "location", "practitioner"))
    starts_at = parse_local_time(form, "starts_at")
    if form.values["mode"] not in APPOINTMENT_MODES:
        form.errors.setdefault("mode", []).append(_("Pilih cara sesi dari daftar."))
    data: dict[str, Any] = {"starts_at": starts_at, "mode": form.values["mode"]}
    duration = str(form.values["duration_minutes"] or "")
    if duration:
        if not duration.isdigit() or not 5 <= int(duration) <= 600:
            form.errors.setdefault("duration_minutes", []).append(
                _("Isi jumlah menit antara 5 dan 600.")
            )
        else:
            data["duration_minutes"] = int(duration)
    for name, limit in (("location", 500), ("practitioner", 200)):
        value = str(form.values[name] or "")
        if len(value) > limit:
            form.errors.setdefault(name, []).append(
                _("Paling banyak %(count)d karakter.", count=limit)
            )
        elif value:
            data[name] = value
    status = 422
    if not form.errors:
        try:
            appointment = ops.schedule_appointment(portal_actor(), referral_id, data)
        except Problem as problem:
            status = _refused(form, problem)
        else:
            flash(
                _("Sesi dijadwalkan pada %(time)s.", time=moment(appointment.starts_at)),
                "success",
            )
            return redirect(url_for(".received_detail", referral_id=referral_id))
    return _detail_page(referral_id, forms={"appointment": form}, status=status)


@staff_page
def received_appointment(referral_id: str, appointment_id: str):
    """Record that the client attended, did not come, or that the session was cancelled."""
    form = read_form(text=("status", "note"))
    _check_length(form, "note")
    if form.values["status"] not in APPOINTMENT_OUTCOMES:
        form.errors.setdefault("status", []).append(_("Pilih hasil sesi dari daftar."))
    status = 422
    if not form.errors:
        data: dict[str, Any] = {"status": form.values["status"]}
        if form.values["note"]:
            data["note"] = form.values["note"]
        try:
            ops.update_appointment(portal_actor(), referral_id, appointment_id, data)
        except Problem as problem:
            status = _refused(form, problem)
        else:
            flash(
                _(
                    "Sesi dicatat: %(status)s.",
                    status=label("appointment_status", str(form.values["status"])),
                ),
                "success",
            )
            return redirect(url_for(".received_detail", referral_id=referral_id))
    return _detail_page(referral_id, forms={f"appointment-{appointment_id}": form}, status=status)


# --- the start-page panel ----------------------------------------------------------------------


def _panel_data(actor) -> dict[str, Any]:
    """Received referrals at a glance: waiting ones (overdue first) and the open count."""
    waiting = ops.referrals_query(actor, "received", status="requested")
    first = db.session.scalars(waiting.limit(PANEL_LINES)).all()
    open_count = sum(
        count_of(ops.referrals_query(actor, "received", status=s))
        for s in OPEN_STATUSES
        if s != "requested"
    )
    return {
        "lines": [ops.referral_summary(actor, referral) for referral in first],
        "waiting": count_of(waiting),
        "overdue": count_of(ops.referrals_query(actor, "received", overdue=True)),
        "open": open_count,
    }


register_panel(
    "received-referrals",
    "referrals/_received_panel.html",
    audience=receiving_staff,
    data=_panel_data,
    order=20,
)


register_panel(
    "session-agenda",
    "referrals/_agenda_panel.html",
    audience=receiving_staff,
    data=lambda actor: {"sessions": ops.upcoming_sessions(actor), "days": ops.AGENDA_DAYS},
    order=15,
)
