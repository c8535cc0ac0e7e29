"""The sender's referral pages: the sent list, the referral wizard, the detail, the letter,
and the answers of a partner not on the hub, recorded on its behalf.

Their URLs are in `blueprint.py`, with the recipient's (inbox_views.py) and the
supervisors' (approval_views.py); this module never imports it.
"""

from __future__ import annotations

from typing import Any

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func, select

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.clients import operations as clients
from referral_hub.directory.operations import is_on_hub
from referral_hub.extensions import db
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.code_names import label, options, service_name
from referral_hub.portal.filters import query_values
from referral_hub.portal.forms import FormState, read_form
from referral_hub.portal.navigation import register_panel, uptd_staff
from referral_hub.portal.paging import page_number, paginate_select
from referral_hub.problems import Problem
from referral_hub.referrals import operations as ops
from referral_hub.referrals.inbox_views import (
    APPOINTMENT_MODES,
    APPOINTMENT_OUTCOMES,
    RECIPIENT_ACTIONS,
    TEXT_MAX,
    parse_local_time,
)
from referral_hub.referrals.lifecycle import (
    DRAFT,
    OPEN_STATUSES,
    OUTCOMES,
    RECIPIENT,
    SENDER,
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
from referral_hub.referrals.schemas import (
    INCIDENT_PLACES,
    LEGAL_BASES,
    URGENCIES,
    VIOLENCE_TYPES,
)
from referral_hub.referrals.wizard import (
    STEP_FIELDS,
    STEPS,
    Wizard,
    recipient_view,
    shown_personal_categories,
    step_after,
    step_before,
    visible_in_order,
)
from referral_hub.transaction import commit_now

UPTD = ("uptd_ppa",)
#: Who sends referrals: the roles with the right to (permissions.py), of a UPTD PPA.
sender_page = login_required(permission="referrals:write", org_types=UPTD)
#: Either side of a referral (the detail sends the recipient to its own page).
either_side_page = login_required(permission="referrals:read")
PAGE_SIZE = 25
PANEL_LINES = 8


def _status_counts(actor: Actor) -> dict[str, int]:
    """Sent referrals per status, counted over the same query the list shows."""
    sent = ops.referrals_query(actor, "sent").order_by(None).subquery()
    rows = db.session.execute(select(sent.c.status, func.count()).group_by(sent.c.status))
    counts = dict(rows.all())
    return {status: counts[status] for status in STATUSES if counts.get(status)}


# ============================================================================================
# The sender's side: sent list, wizard, detail and its actions, letter, start-page panel.
# ============================================================================================

# --- Rujukan keluar ----------------------------------------------------------------------


@sender_page
def sent():
    """Referrals the unit sent, overdue first, with filters by status and lateness."""
    actor = portal_actor()
    values, errors = list_filters()
    query = ops.referrals_query(actor, "sent", **query_filters(values))
    page = paginate_select(query, page_number(), PAGE_SIZE)
    return render_template(
        "referrals/sent.html",
        page=page,
        lines=[ops.referral_summary(actor, referral) for referral in page.items],
        values=values,
        errors=errors,
        filtered=bool(query_values(values)),
        statuses=options("status", STATUSES),
        partners=partner_options(actor.organization_id, "sent"),
        services=service_options(),
        counts=_status_counts(actor),
        overdue=count_of(ops.referrals_query(actor, "sent", overdue=True)),
    ), (422 if errors else 200)


# --- the wizard ----------------------------------------------------------------------------


def _wizard_page(wizard: Wizard, step: str, status: int = 200):
    """One step of the wizard, with every other step's values carried in hidden fields."""
    preview = None
    if step == "review":
        preview = recipient_view(wizard.preview())
        shown = [
            c for c in shown_personal_categories(preview) if c in clients.CLIENT_CATEGORY_VIEWS
        ]
        if shown and wizard.client is not None:
            # The sender sees the client's record through the preview: an owner's read.
            clients.record_disclosure(
                wizard.actor, wizard.client, shown, "owner", "portal referral review"
            )
        commit_now()  # the read is logged also when the page answers a refusal (422)
    carried = [
        (name, value)
        for name, current in wizard.values.items()
        if name not in STEP_FIELDS[step]
        for value in (current if isinstance(current, list) else [current])
        if value
    ]
    return render_template(
        "referrals/new.html",
        wizard=wizard,
        values=wizard.values,
        errors=wizard.errors,
        step=step,
        steps=STEPS,
        previous=step_before(step) if step != STEPS[0] else None,
        following=step_after(step) if step != STEPS[-1] else None,
        carried=carried,
        preview=preview,
        urgencies=options("urgency", URGENCIES),
        legal_bases=options("legal_basis", LEGAL_BASES),
        violence_types=options("violence", VIOLENCE_TYPES),
        places=options("place", INCIDENT_PLACES),
        service_name=service_name,
    ), status


@sender_page
def new():
    """The referral wizard: client, service, partner, basis, data, details, review, send."""
    actor = portal_actor()
    wizard = Wizard.from_request(actor)
    if request.method == "GET":
        # Started from a client's page (?client=<id>): that step is done already. Back from
        # recording a consent (?step=basis&service=..&to=..&consent=..): the choices made
        # before are kept, checked again, and the wizard goes on where it was.
        wizard.values["urgency"] = wizard.values["urgency"] or "routine"
        started = bool(wizard.values["client"]) and wizard.client is not None
        resume = request.args.get("step")
        if started and resume in STEPS and STEPS.index(resume) > STEPS.index("service"):
            return _wizard_page(wizard, wizard.check(step_before(resume)) or resume)
        return _wizard_page(wizard, "service" if started else "client")
    submitted = request.form.get("step")
    submitted = submitted if submitted in STEPS else STEPS[0]
    go = request.form.get("go") or step_after(submitted)
    if go == "send":
        failed = wizard.check("details")
        if failed:
            return _wizard_page(wizard, failed, 422)
        referral = wizard.send()
        if referral is None:
            return _wizard_page(wizard, wizard.first_error_step(), 422)
        if referral.status == DRAFT:
            flash(
                _(
                    "Rujukan %(number)s menunggu persetujuan supervisor unit Anda. Rujukan "
                    "belum dikirim: %(to)s belum melihatnya dan tidak ada data yang "
                    "dibagikan sampai supervisor menyetujuinya.",
                    number=referral.number,
                    to=referral.recipient.name,
                ),
                "success",
            )
        else:
            flash(
                _(
                    "Rujukan %(number)s terkirim ke %(to)s.",
                    number=referral.number,
                    to=referral.recipient.name,
                ),
                "success",
            )
        return redirect(url_for(".detail", referral_id=referral.id))
    if go not in STEPS:
        go = step_after(submitted)
    if STEPS.index(go) <= STEPS.index(submitted):
        return _wizard_page(wizard, go)  # back: nothing to check yet, nothing lost
    failed = wizard.check(step_before(go))
    if failed:
        return _wizard_page(wizard, failed, 422)
    return _wizard_page(wizard, go)


# --- the sender's detail ---------------------------------------------------------------------


def _detail_page(referral: Referral, *, forms: dict[str, FormState] | None = None, status=200):
    actor = portal_actor()
    view = ops.referral_view(actor, referral)  # the sender's read is logged as the owner's
    events = ops.timeline(actor, referral.id)
    commit_now()  # the read is logged also when the page answers a refusal (4xx)
    creator = (
        db.session.get(User, referral.created_by_user_id) if referral.created_by_user_id else None
    )
    forms = dict(forms or {})
    for action in ("cancel", "enter-in-error", "on-behalf"):
        forms.setdefault(action, FormState())
    forms.setdefault("on-behalf-session", FormState({"mode": "in_person"}))
    return render_template(
        "referrals/detail.html",
        referral=view,
        events=events,
        states=forms,
        creator=creator,
        answers=[(a, label("action", a)) for a in view["on_behalf_actions"]],
        outcomes=[(o, label("outcome", o)) for o in OUTCOMES],
        modes=[(m, label("mode", m)) for m in APPOINTMENT_MODES],
        can_record_session=bool(
            not view["recipient_on_hub"] and appointment_schedulable(RECIPIENT, view["status"])
        ),
        # A scheduled session's attendance, told by a recipient not on the hub.
        can_update_sessions=not view["recipient_on_hub"] and ops.reached_recipient(referral),
        # A draft, or an override declined before it was sent, reached no one.
        recipient_sees=visible_in_order(referral) if ops.reached_recipient(referral) else [],
        client_id=referral.client_id,
        consent=referral.consent,
    ), status


def _sender_referral(referral_id: str) -> Referral:
    """A referral the user's unit sent; a received one is not the sender's page (404)."""
    actor = portal_actor()
    referral = ops.get_referral_for(actor, referral_id)
    if ops.side_of(actor, referral) != SENDER:
        raise Problem(404, "not-found", f"No referral '{referral_id}'.", reason="no-referral")
    return referral


@either_side_page
def detail(referral_id: str):
    """A referral the unit sent, in full; the recipient is sent to its own, minimised page."""
    actor = portal_actor()
    referral = ops.get_referral_for(actor, referral_id)
    if ops.side_of(actor, referral) == RECIPIENT:
        # Notifications link both sides here; the recipient reads the minimised page.
        if "referrals_portal.received_detail" in current_app.view_functions:
            return redirect(url_for(".received_detail", referral_id=referral.id))
        raise Problem(404, "not-found", f"No referral '{referral_id}'.", reason="no-referral")
    return _detail_page(referral)


@either_side_page
def cancel(referral_id: str):
    """Cancel a referral the unit sent (a reason is required)."""
    return _sender_act(referral_id, "cancel")


@either_side_page
def enter_in_error(referral_id: str):
    """Mark a sent referral as entered in error, after a confirmation (a reason is required)."""
    return _sender_act(referral_id, "enter-in-error")


def _sender_act(referral_id: str, action: str):
    referral = _sender_referral(referral_id)
    form = read_form(text=("reason",), flags=("confirmed",))
    form.require("reason")
    if len(str(form.values["reason"])) > 4000:
        form.errors.setdefault("reason", []).append(
            _("Paling banyak %(count)d karakter.", count=4000)
        )
    if form.errors:
        return _detail_page(referral, forms={action: form}, status=422)
    if action == "enter-in-error" and not form.values["confirmed"]:
        view = ops.referral_summary(portal_actor(), referral)
        return render_template("referrals/confirm_error.html", referral=view, form=form)
    try:
        ops.act_on_referral(portal_actor(), referral.id, action, reason=str(form.values["reason"]))
    except Problem as problem:
        form.refused(problem)
        return _detail_page(
            _sender_referral(referral_id),
            forms={action: form},
            status=problem.status if problem.status in (409, 422) else 422,
        )
    done = {
        "cancel": _("Rujukan %(number)s dibatalkan; penerima diberi tahu."),
        "enter-in-error": _("Rujukan %(number)s ditandai salah input."),
    }[action]
    flash(done % {"number": referral.number}, "success")
    return redirect(url_for(".detail", referral_id=referral.id))


# --- a partner not on the hub: its answers recorded on its behalf --------------------------


def _refused_on_behalf(form: FormState, problem: Problem, names: dict[str, str]) -> int:
    """An operation's refusal in the on-behalf form (its fields renamed to the form's)."""
    form.refused(problem)
    for field, name in names.items():
        if field in form.errors:
            form.errors[name] = form.errors.pop(field)
    return problem.status if problem.status in (409, 422) else 422


def _check_how(form: FormState, name: str) -> None:
    form.require(name)
    for field in (name, "answer_reason", "summary"):
        if len(str(form.values.get(field) or "")) > TEXT_MAX:
            form.errors.setdefault(field, []).append(
                _("Paling banyak %(count)d karakter.", count=TEXT_MAX)
            )


@either_side_page
def on_behalf(referral_id: str):
    """Record the answer of a recipient not on the hub (by phone, by letter) on its behalf."""
    referral = _sender_referral(referral_id)
    form = read_form(text=("answer", "how", "answer_reason", "outcome", "summary"))
    answer = str(form.values["answer"] or "")
    if answer not in RECIPIENT_ACTIONS:
        form.errors.setdefault("answer", []).append(_("Pilih jawaban mitra dari daftar."))
    _check_how(form, "how")
    outcome = str(form.values["outcome"] or "")
    if answer == "complete" and outcome not in OUTCOMES:
        form.errors.setdefault("outcome", []).append(_("Pilih hasil dari daftar."))
    if form.errors:
        return _detail_page(referral, forms={"on-behalf": form}, status=422)
    try:
        ops.act_on_referral(
            portal_actor(),
            referral.id,
            answer,
            reason=str(form.values["answer_reason"] or "") or None,
            outcome=outcome or None if answer == "complete" else None,
            summary=(str(form.values["summary"] or "") or None) if answer == "complete" else None,
            note=str(form.values["how"]),
            on_behalf=True,
        )
    except Problem as problem:
        status = _refused_on_behalf(form, problem, {"note": "how", "reason": "answer_reason"})
        return _detail_page(_sender_referral(referral_id), forms={"on-behalf": form}, status=status)
    flash(
        _(
            "Jawaban %(partner)s dicatat atas namanya: %(answer)s.",
            partner=referral.recipient.name,
            answer=label("action", answer),
        ),
        "success",
    )
    return redirect(url_for(".detail", referral_id=referral.id))


@either_side_page
def on_behalf_session(referral_id: str):
    """Record a session a recipient not on the hub scheduled (told by phone, by letter)."""
    referral = _sender_referral(referral_id)
    form = read_form(text=("starts_at", "mode", "session_how"))
    starts_at = parse_local_time(form, "starts_at")
    if form.values["mode"] not in APPOINTMENT_MODES:
        form.errors.setdefault("mode", []).append(_("Pilih cara sesi dari daftar."))
    _check_how(form, "session_how")
    if form.errors:
        return _detail_page(referral, forms={"on-behalf-session": form}, status=422)
    data = {"starts_at": starts_at, "mode": form.values["mode"], "note": form.values["session_how"]}
    try:
        ops.schedule_appointment(portal_actor(), referral.id, data, on_behalf=True)
    except Problem as problem:
        status = _refused_on_behalf(form, problem, {"note": "session_how"})
        return _detail_page(
            _sender_referral(referral_id), forms={"on-behalf-session": form}, status=status
        )
    flash(_("Sesi dicatat atas nama %(partner)s.", partner=referral.recipient.name), "success")
    return redirect(url_for(".detail", referral_id=referral.id))


@either_side_page
def on_behalf_session_update(referral_id: str, appointment_id: str):
    """Record what a recipient not on the hub said of a session: the client attended, did
    not come, or the session was cancelled (told by phone, by letter)."""
    referral = _sender_referral(referral_id)
    key = f"on-behalf-session-{appointment_id}"
    form = read_form(text=("status", "update_how"))
    if form.values["status"] not in APPOINTMENT_OUTCOMES:
        form.errors.setdefault("status", []).append(_("Pilih hasil sesi dari daftar."))
    _check_how(form, "update_how")
    if form.errors:
        return _detail_page(referral, forms={key: form}, status=422)
    data = {"status": form.values["status"], "note": form.values["update_how"]}
    try:
        ops.update_appointment(portal_actor(), referral.id, appointment_id, data, on_behalf=True)
    except Problem as problem:
        status = _refused_on_behalf(form, problem, {"note": "update_how"})
        return _detail_page(_sender_referral(referral_id), forms={key: form}, status=status)
    flash(
        _(
            "Sesi dicatat atas nama %(partner)s: %(status)s.",
            partner=referral.recipient.name,
            status=label("appointment_status", str(form.values["status"])),
        ),
        "success",
    )
    return redirect(url_for(".detail", referral_id=referral.id) + "#appointments-heading")


# --- Surat Rujukan -------------------------------------------------------------------------


@either_side_page
def letter(referral_id: str):
    """The printable referral letter: only what the recipient may see, for either side."""
    actor = portal_actor()
    referral = ops.get_referral_for(actor, referral_id)
    if ops.side_of(actor, referral) == SENDER:
        view = recipient_view(referral)
        shown = shown_personal_categories(view)
        if shown:
            clients.record_disclosure(
                actor, referral.client, shown, "owner", f"referral:{referral.number} letter"
            )
    else:
        # The recipient prints its own view; its read is logged like any other.
        view = ops.referral_view(actor, referral)
        view["visible_categories"] = visible_in_order(referral)
    creator = (
        db.session.get(User, referral.created_by_user_id) if referral.created_by_user_id else None
    )
    answered_for = [e for e in ops.timeline(actor, referral.id) if e["recorded_on_behalf"]]
    return render_template(
        "referrals/letter.html",
        referral=view,
        still_open=view["status"] in OPEN_STATUSES,
        creator=creator,
        sender_org=referral.sender,
        recipient_on_hub=is_on_hub(referral.recipient),
        answered_for=answered_for,
        sender_focal_points=ops.focal_points(referral.sender),
    )


# --- the start-page panel ------------------------------------------------------------------


def _sent_panel(actor: Actor) -> dict[str, Any]:
    """Sent referrals at a glance: counts per status, and the open ones, overdue first."""
    open_query = ops.referrals_query(actor, "sent").where(Referral.status.in_(OPEN_STATUSES))
    return {
        "counts": _status_counts(actor),
        "overdue": count_of(ops.referrals_query(actor, "sent", overdue=True)),
        "lines": [
            ops.referral_summary(actor, referral)
            for referral in db.session.scalars(open_query.limit(PANEL_LINES))
        ],
        "open": count_of(open_query),
    }


register_panel(
    "sent-referrals", "referrals/_sent_panel.html", audience=uptd_staff, data=_sent_panel, order=10
)
