"""Aduan: the intake form a volunteer fills on a cheap phone, the unit's inbox and its answer.

Every page calls the operations the API calls (referral_hub/intake/operations.py) and parses
its form with the API's schemas. The form carries a one-time token: a submit retried after a
dropped connection finds the intake it already made and shows the same receipt.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from referral_hub.accounts.models import User
from referral_hub.agreements.operations import covering_agreements_for
from referral_hub.clients.views import match_reasons
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from referral_hub.intake import operations as ops
from referral_hub.intake.models import CHANNELS, OPEN_STATUSES, OWN_CHANNELS, RISK_LEVELS, STATUSES
from referral_hub.intake.operations.lists import FILTERS, filter_arguments, reporter_options
from referral_hub.intake.schemas import IntakeAcceptIn, IntakeIn
from referral_hub.permissions import role_permits
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.code_names import options
from referral_hub.portal.filters import query_values, read_filters
from referral_hub.portal.forms import FormState, flash_refusal, read_form, schema_errors
from referral_hub.portal.navigation import register_nav_entry, register_panel
from referral_hub.portal.paging import page_number, paginate_select
from referral_hub.portal.regions import read_region
from referral_hub.portal.templating import CODE_NAMES, offer_to_templates
from referral_hub.problems import Problem
from referral_hub.referrals.schemas import VIOLENCE_TYPES
from referral_hub.transaction import commit_now

bp = Blueprint("intake_portal", __name__)
offer_to_templates(bp, globals=CODE_NAMES)

reader_page = login_required(permission="intakes:read")
writer_page = login_required(permission="intakes:write")
PAGE_SIZE = 25
FORM_TEXT = (
    "to",
    "channel",
    "victim_name",
    "victim_age",
    "victim_sex",
    "region",
    "location_hint",
    "summary",
    "reporter_name",
    "reporter_phone",
    "form_token",
)
NIK = re.compile(r"^\d{16}$")
FORM_FLAGS = ("immediate_danger", "reporter_is_victim", "may_contact")


def _intake_keepers(user: User) -> bool:
    return role_permits(user.role, "intakes:read")


def _uptd_supervisors(user: User) -> bool:
    return user.role == "supervisor" and user.organization.type == "uptd_ppa"


register_nav_entry("intake_portal.index", _l("Aduan"), _intake_keepers, order=14)
register_panel(
    "intake_overdue",
    "intake/_home_panel.html",
    audience=_uptd_supervisors,
    data=ops.overdue_intakes,
    order=4,
)


def _community_reporters(user: User) -> bool:
    """Staff of an organisation that reports to a unit (PATBM, Puspaga, an app's office)."""
    return user.organization.type != "uptd_ppa" and role_permits(user.role, "intakes:write")


def _recent_sent(actor) -> dict:
    """The reporter's newest intakes, with their status (what its side sees)."""
    query = ops.intakes_query(actor, box="sent").limit(RECENT_SENT)
    return {
        "items": [
            ops.intake_view(actor, intake, listing=True) for intake in db.session.scalars(query)
        ]
    }


#: How many of its newest reports a community organisation's start page lists.
RECENT_SENT = 5
register_panel(
    "intake_sent",
    "intake/_sent_panel.html",
    audience=_community_reporters,
    data=_recent_sent,
    order=3,
)


def _units(actor) -> list[tuple[str, str]]:
    """The UPTD PPAs the user's organisation may report to: its own unit, and every unit
    that takes its reports under an agreement in force."""
    units: dict[str, str] = {}
    org = db.session.get(Organization, actor.organization_id) if actor.organization_id else None
    if org is not None and org.type == "uptd_ppa":
        units[org.code] = org.name
    for line in covering_agreements_for(actor.organization_id, ops.INTAKE_SERVICE):
        if line.provider.type == "uptd_ppa":
            units[line.provider.code] = line.provider.name
    return list(units.items())


def _channel_for(org: Organization) -> str | None:
    """A community organisation's channel from its code (patbm-ppu: patbm); None: ask."""
    if org.type == "uptd_ppa":
        return None
    prefix = org.code.split("-")[0]
    return prefix if prefix in ("patbm", "poscinta", "puspaga") else "other"


def _body(form: FormState, region: str | None, channel: str) -> dict[str, Any]:
    v = form.values
    age = str(v["victim_age"] or "")
    return {
        "to": v["to"],
        "channel": channel,
        "reporter": {
            "name": v["reporter_name"] or None,
            "phone": v["reporter_phone"] or None,
            "is_victim": bool(v["reporter_is_victim"]),
        },
        "victim": {
            "name": v["victim_name"] or None,
            "age_years": int(age) if age.isdigit() else (age or None),
            "sex": v["victim_sex"] or None,
            "region_code": region,
            "location_hint": v["location_hint"] or None,
        },
        "incident": {"violence_types": list(v["violence_types"]), "summary": v["summary"] or None},
        "immediate_danger": bool(v["immediate_danger"]),
        "reporter_may_be_contacted": bool(v["may_contact"]),
    }


@writer_page
def new():
    """Lapor: the short form, then the receipt with the intake's number."""
    actor = portal_actor()
    org = db.session.get(Organization, actor.organization_id)
    units = _units(actor)
    form = read_form(text=FORM_TEXT, lists=("violence_types",), flags=FORM_FLAGS)
    fixed_channel = _channel_for(org)
    if request.method == "GET":
        form.values["form_token"] = secrets.token_urlsafe(24)
        form.values["to"] = units[0][0] if len(units) == 1 else ""
        form.values["channel"] = fixed_channel or "walk_in"
    else:
        token = str(form.values["form_token"])[:64]
        done = ops.find_by_form_token(actor, token) if token else None
        if done is not None:
            return redirect(url_for("intake_portal.view", intake_id=done.id, receipt=1))
        form.require("to", "region")
        region = read_region(form.values, form.errors, "region", levels=(2, 3))
        channel = fixed_channel or str(form.values["channel"])
        if not form.errors:
            try:
                data = IntakeIn().load(_body(form, region, channel))
            except ValidationError as error:
                for name, texts in schema_errors(error.messages).items():
                    short = name.replace("victim_region_code", "region")
                    form.errors.setdefault(short.replace("incident_", ""), texts)
                data = None
            if data is not None:
                try:
                    intake = ops.receive_intake(actor, data, form_token=token or None)
                except Problem as problem:
                    form.refused(problem)
                else:
                    return redirect(url_for("intake_portal.view", intake_id=intake.id, receipt=1))
    return render_template(
        "intake/new.html",
        form=form,
        units=units,
        ask_channel=fixed_channel is None,
        channels=options("intake_channel", OWN_CHANNELS),
        violence=options("violence", VIOLENCE_TYPES),
        sexes=[("female", _("Perempuan")), ("male", _("Laki-laki"))],
    ), (422 if form.invalid else 200)


@reader_page
def index():
    """The unit's intakes by urgency and due time, or those the organisation sent; by
    number, channel, status, risk, reporting organisation and the days received."""
    actor = portal_actor()
    org = db.session.get(Organization, actor.organization_id)
    # A UPTD PPA receives and also reports (walk-ins, to other units); anyone else only sends.
    boxes = ("received", "sent") if org.type == "uptd_ppa" else ("sent",)
    box = request.args.get("box") if request.args.get("box") in boxes else boxes[0]
    values, errors = read_filters(**FILTERS)
    query = ops.intakes_query(actor, box=box, **filter_arguments(values))
    page = paginate_select(query, page_number(), PAGE_SIZE)
    views = [ops.intake_view(actor, intake, listing=True) for intake in page.items]
    return render_template(
        "intake/index.html",
        page=page,
        views=views,
        box=box,
        boxes=boxes,
        values=values,
        errors=errors,
        filtered=bool(query_values(values)),
        channels=options("intake_channel", CHANNELS),
        statuses=options("intake_status", STATUSES),
        risks=options("risk", RISK_LEVELS),
        reporters=reporter_options(actor) if box == "received" else [],
    ), (422 if errors else 200)


ACCEPT_TEXT = (
    "client",
    "full_name",
    "sex",
    "nik",
    "birth_date",
    "guardian_name",
    "guardian_relationship",
    "guardian_phone",
)
#: What the unit chooses instead of an existing client.
NEW_CLIENT = "new"


#: The fields of the other answers' forms, by action (each refused like the accept's).
ANSWER_TEXT = {"triage": ("risk_level", "note"), "forward": ("to",), "decline": ("reason",)}
#: The field each of them cannot do without, and what is said when it is left empty.
ANSWER_NEEDS = {
    "triage": ("risk_level", _l("Pilih tingkat risiko.")),
    "forward": ("to", _l("Pilih UPTD PPA tujuan.")),
    "decline": ("reason", _l("Tulis alasan aduan ditolak.")),
}


def _page(actor, intake_id: str, answers: dict[str, FormState] | None = None, status: int = 200):
    """The intake's page; for its unit, while open, the clients who may be the victim (each
    shown is a logged read) and the forms of triage, accept, forward and decline (`answers`:
    a refused one by its action, with what was typed and why)."""
    intake = ops.get_intake_for(actor, intake_id)
    unit = ops.side_of(actor, intake) == "unit"
    answers = dict(answers or {})
    answers.setdefault("accept", FormState(dict.fromkeys(ACCEPT_TEXT, "")))
    for action, names in ANSWER_TEXT.items():
        answers.setdefault(action, FormState(dict.fromkeys(names, "")))
    accept = answers["accept"]
    matches: list = []
    targets: list = []
    if unit and intake.status in OPEN_STATUSES and role_permits(actor.role, "intakes:write"):
        nik = str(accept.values.get("nik") or "")
        matches = ops.show_intake_matches(
            actor, intake.id, "portal intake matches", nik if NIK.match(nik) else None
        )
        targets = [(u.code, u.name) for u in ops.forward_targets(actor, intake.id)]
        if matches and status >= 400:
            # the reads are logged also when the page answers a refusal (the refused accept
            # was rolled back by form.refused; nothing else was written)
            commit_now()
    return render_template(
        "intake/view.html",
        intake=ops.intake_view(actor, intake),
        unit=unit,
        receipt=request.args.get("receipt") == "1",
        risks=options("risk", RISK_LEVELS),
        accept=accept,
        answers=answers,
        matches=matches,
        new_client=NEW_CLIENT,
        targets=targets,
        sexes=[("female", _("Perempuan")), ("male", _("Laki-laki"))],
        match_reasons=match_reasons,
    ), status


@reader_page
def view(intake_id: str):
    return _page(portal_actor(), intake_id)


def _accept_body(form: FormState) -> dict[str, Any]:
    """The accept's body from the form: a chosen client, or what registers a new one."""
    v = form.values
    if v["client"] != NEW_CLIENT:
        return {"client": v["client"]}
    register: dict[str, Any] = {
        key: v[key] for key in ("full_name", "sex", "nik", "birth_date") if v[key]
    }
    guardian = {key: v[f"guardian_{key}"] for key in ("name", "relationship", "phone")}
    if any(guardian.values()):
        register["guardian"] = {k: value for k, value in guardian.items() if value}
    return {"register": register}


def _accept(actor, intake_id: str):
    """Link the chosen client or register a new one; on an error the page comes back with
    what was typed and the matches (a NIK typed for a new client is checked too)."""
    form = read_form(text=ACCEPT_TEXT)
    form.require("client")
    data = None
    if not form.errors:
        try:
            data = IntakeAcceptIn().load(_accept_body(form))
        except ValidationError as error:
            for name, texts in schema_errors(error.messages).items():
                form.errors.setdefault(name.removeprefix("register_"), texts)
    if data is not None:
        try:
            _intake, _client, case = ops.accept_intake(actor, intake_id, data)
        except Problem as problem:
            form.refused(problem)
            form.errors = {
                name.removeprefix("register.").replace(".", "_"): texts
                for name, texts in form.errors.items()
            }
        else:
            flash(_("Aduan diterima; kasus %(number)s dibuka.", number=case.number), "success")
            return redirect(url_for("cases_portal.view", case_id=case.id))
    if "client" in form.errors and not form.values["client"]:
        form.errors["client"] = [_("Pilih klien yang sama, atau daftarkan sebagai klien baru.")]
    return _page(actor, intake_id, {"accept": form}, 422)


def _answer(actor, intake_id: str, action: str):
    """Triage, forward or decline; a refusal brings the page back with what was typed and
    why beside the field (as the accept's), one that closed the intake meanwhile above it."""
    form = read_form(text=ANSWER_TEXT[action])
    v = form.values
    needed, missing = ANSWER_NEEDS[action]
    if not str(v[needed]).strip():
        form.errors[needed] = [str(missing)]
    if not form.errors:
        try:
            if action == "triage":
                ops.triage_intake(actor, intake_id, str(v["risk_level"]), str(v["note"]) or None)
                flash(_("Tingkat risiko dicatat."), "success")
            elif action == "forward":
                ops.forward_intake(actor, intake_id, str(v["to"]))
                flash(_("Aduan diteruskan."), "success")
            else:
                ops.decline_intake(actor, intake_id, str(v["reason"]))
                flash(_("Aduan ditolak."), "success")
        except Problem as problem:
            if problem.status == 409:  # answered meanwhile: its forms are gone
                flash_refusal(problem)
                return redirect(url_for("intake_portal.view", intake_id=intake_id))
            form.refused(problem)
        else:
            return redirect(url_for("intake_portal.view", intake_id=intake_id))
    return _page(actor, intake_id, {action: form}, 422)


@writer_page
def act(intake_id: str, action: str):
    """Triage, forward, decline or accept from the intake's page (one form each)."""
    actor = portal_actor()
    if action == "accept":
        return _accept(actor, intake_id)
    if action not in ANSWER_TEXT:
        raise Problem(404, "not-found", "No such action.")
    return _answer(actor, intake_id, action)


@reader_page
def clock():
    """The unit's hours to answer an intake by risk: every staff member reads them, the
    supervisor changes them (from now on: a clock already running keeps its time)."""
    actor = portal_actor()
    current = ops.unit_clock(actor)
    may_set = ops.may_set_clock(actor)
    risks = options("risk", RISK_LEVELS)
    form = FormState({level: str(current[level]) for level in RISK_LEVELS})
    if request.method == "POST":
        if not may_set:
            raise Problem(403, "forbidden", "A supervisor sets the unit's intake clock.")
        form = read_form(text=RISK_LEVELS)
        hours = {}
        for level in RISK_LEVELS:
            text = str(form.values[level])
            if text.isdigit():
                hours[level] = int(text)
            else:
                form.errors[level] = [_("Isi jumlah jam dengan angka bulat, mis. 6.")]
        if not form.errors:
            try:
                ops.set_response_hours(actor, hours)
            except Problem as problem:
                form.refused(problem)
            else:
                flash(_("Batas waktu aduan unit disimpan."), "success")
                return redirect(url_for("intake_portal.clock"))
    return render_template(
        "intake/clock.html",
        form=form,
        clock=current,
        may_set=may_set,
        risks=risks,
        labels={level: _("Risiko %(risk)s (jam)", risk=name) for level, name in risks},
    ), (422 if form.invalid else 200)


GET, POST, BOTH = ("GET",), ("POST",), ("GET", "POST")
RULES = (
    ("/intakes", "index", index, GET),
    ("/intakes/new", "new", new, BOTH),
    ("/intakes/clock", "clock", clock, BOTH),
    ('/intakes/<id("new", "clock"):intake_id>', "view", view, GET),
    ('/intakes/<id("new", "clock"):intake_id>/<action>', "act", act, POST),
)
for _rule, _endpoint, _view, _methods in RULES:
    bp.add_url_rule(_rule, _endpoint, _view, methods=list(_methods))
