"""Kasus: a UPTD PPA's cases in the portal, the caseworker's home for a client.

Every page calls the operations the API calls (the referral_hub/cases/operations package) and parses
its form with the API's own schemas, so a rule is checked in one place. Reads of a case's
texts are logged by those operations, in the request's transaction.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_pgettext as _lp
from marshmallow import Schema, ValidationError
from sqlalchemy import func, select

from referral_hub.accounts.models import User
from referral_hub.cases import operations as ops
from referral_hub.cases.models import (
    CLOSE_REASONS,
    PERPETRATOR_RELATIONSHIPS,
    PLAN_STATUSES,
    RISK_LEVELS,
    UNIT_SERVICES,
)
from referral_hub.cases.schemas import (
    CaseCloseIn,
    CaseIn,
    CaseNoteIn,
    CasePatchIn,
    PlanItemIn,
    PlanItemReferIn,
)
from referral_hub.clients import operations as clients
from referral_hub.clients.name_index import search_problem
from referral_hub.directory.models import Organization, Service
from referral_hub.extensions import db
from referral_hub.permissions import role_permits
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.code_names import options, service_label, service_name
from referral_hub.portal.filters import day, query_values, read_filters
from referral_hub.portal.forms import FormState, flash_refusal, read_form, schema_errors
from referral_hub.portal.messages import name_search_message
from referral_hub.portal.navigation import register_nav_entry, register_panel
from referral_hub.portal.paging import Page, page_number, paginate_select
from referral_hub.portal.templating import CODE_NAMES, offer_to_templates
from referral_hub.problems import Problem
from referral_hub.referrals.schemas import INCIDENT_PLACES, URGENCIES, VIOLENCE_TYPES

bp = Blueprint("cases_portal", __name__)
offer_to_templates(bp, globals=CODE_NAMES)

UPTD = ("uptd_ppa",)
reader_page = login_required(permission="cases:read", org_types=UPTD)
writer_page = login_required(permission="cases:write", org_types=UPTD)
PAGE_SIZE = 25


def _load(schema: Schema, body: dict[str, Any], form: FormState) -> dict[str, Any] | None:
    try:
        return schema.load(body)
    except ValidationError as error:
        for name, texts in schema_errors(error.messages).items():
            form.errors.setdefault(name.replace("incident_", ""), texts)
        return None


def _unit_people(org_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    workers, supervisors = ops.assignable_people(org_id)
    return [(u.id, u.name) for u in workers], [(u.id, u.name) for u in supervisors]


# --- home page ------------------------------------------------------------------------------


def _case_keepers(user: User) -> bool:
    return role_permits(user.role, "cases:read") and user.organization.type == "uptd_ppa"


#: How many of her open cases the start page lists (the rest are a link away).
PANEL_CASES = 8


def _follow_up_panel(actor) -> dict[str, Any]:
    """Her open cases (newest first, with their count), her follow-ups due and, for a
    supervisor, what is late in the unit: each from the cases' own queries."""
    open_cases = ops.cases_query(actor, status="open", caseworker="me")
    data: dict[str, Any] = {
        "open": db.session.scalars(open_cases.limit(PANEL_CASES)).all(),
        "open_count": db.session.scalar(
            select(func.count()).select_from(open_cases.order_by(None).subquery())
        ),
        "mine": ops.follow_ups_due(actor),
        "unit": None,
        "late_items": None,
    }
    if actor.role == "supervisor":
        data["unit"] = ops.follow_ups_due(actor, unit=True)
        data["late_items"] = ops.overdue_plan_items(actor)
    return data


register_nav_entry("cases_portal.index", _lp("page", "Kasus"), _case_keepers, order=15)
register_panel(
    "case_follow_ups",
    "cases/_home_panel.html",
    audience=_case_keepers,
    data=_follow_up_panel,
    order=5,
)


# --- list and opening -----------------------------------------------------------------------


CASE_FILTERS = {
    "text": ("number", "caseworker"),
    "choices": {"status": ("open", "closed"), "violence_type": VIOLENCE_TYPES},
    "dates": ("opened_from", "opened_until"),
    "flags": ("mine",),
}
#: A search by the client's name shows this many cases at most (a POST has no page links).
NAMED_LIMIT = 50


def _case_filters(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": values["status"] or None,
        "caseworker": "me" if values["mine"] else (values["caseworker"] or None),
        "number": values["number"] or None,
        "violence_type": values["violence_type"] or None,
        "opened_from": day(values["opened_from"]),
        "opened_until": day(values["opened_until"]),
    }


def _list_page(values, errors, *, page, name_form=None, status=200):
    workers, _supervisors = _unit_people(portal_actor().organization_id)
    return render_template(
        "cases/index.html",
        page=page,
        values=values,
        errors=errors,
        kept=query_values({k: v for k, v in values.items() if k != "client_name"}),
        name_form=name_form or FormState(),
        workers=workers,
        violence_types=options("violence", VIOLENCE_TYPES),
        named_limit=NAMED_LIMIT,
        statuses=options("case_status", ("open", "closed")),
    ), (422 if errors or (name_form and name_form.invalid) else status)


@reader_page
def index():
    """The unit's cases (or the user's own), newest first: numbers and codes only, by number,
    status, caseworker, violence type and the days opened."""
    actor = portal_actor()
    values, errors = read_filters(**CASE_FILTERS)
    query = ops.cases_query(actor, **_case_filters(values))
    return _list_page(values, errors, page=paginate_select(query, page_number(), PAGE_SIZE))


@reader_page
def search():
    """The unit's cases of clients whose name has a word beginning with each word typed (the
    clients' name index), with the list's filters: the name travels in the body, never in a
    URL. The lines show codes only, as the list does."""
    actor = portal_actor()
    values, errors = read_filters(**CASE_FILTERS, source=request.form)
    form = read_form(text=("client_name",))
    name = form.values["client_name"]
    refused = search_problem(str(name))
    if refused is not None:
        form.errors["client_name"] = [name_search_message(refused)]
    query = ops.cases_query(actor, **_case_filters(values))
    if not form.invalid:
        query = ops.cases_query(actor, client_name=name, **_case_filters(values))
    first = paginate_select(query, 1, NAMED_LIMIT)
    # One page, without page links (they would be GETs, without the name): at most
    # NAMED_LIMIT lines, and the total said.
    page = Page(first.items, 1, max(first.total, 1), first.total)
    return _list_page(values, errors, page=page, name_form=form)


CASE_TEXT = (
    "client",
    "risk_level",
    "occurred_on",
    "place_type",
    "region_code",
    "perpetrator_relationship",
    "summary",
    "caseworker",
    "supervisor",
)


def _case_body(form: FormState, *, opening: bool) -> dict[str, Any]:
    v = form.values
    body: dict[str, Any] = {
        "risk_level": v["risk_level"] or None,
        "violence_types": list(v["violence_types"]),
        "incident": {
            "occurred_on": v["occurred_on"] or None,
            "place_type": v["place_type"] or None,
            "region_code": v["region_code"] or None,
        },
        "perpetrator_relationship": v["perpetrator_relationship"] or None,
        "summary": v["summary"] or None,
        "caseworker": v["caseworker"] or None,
        "supervisor": v["supervisor"] or None,
    }
    if opening:
        body["client"] = v["client"]
        # Left empty when opening: the person opening is the caseworker (the operation's rule).
        body = {k: v for k, v in body.items() if v is not None}
    return body


def _case_form_page(template: str, form: FormState, actor, **extra: Any):
    workers, supervisors = _unit_people(actor.organization_id)
    return render_template(
        template,
        form=form,
        risks=options("risk", RISK_LEVELS),
        violence=options("violence", VIOLENCE_TYPES),
        places=options("place", INCIDENT_PLACES),
        relationships=options("relationship", PERPETRATOR_RELATIONSHIPS),
        workers=workers,
        supervisors=supervisors,
        **extra,
    ), (422 if form.invalid else 200)


@writer_page
def new():
    """Open a case for a client of the unit (from the client's page, or by the client's code)."""
    actor = portal_actor()
    form = read_form(text=CASE_TEXT, lists=("violence_types",))
    client = None
    if request.method == "GET":
        form.values["client"] = request.args.get("client", "")
        form.values["caseworker"] = actor.user_id or ""
        form.values["risk_level"] = "medium"
    ref = str(form.values["client"])
    if ref:
        client = clients.find_client_of(actor, ref)
        if client is None:
            found = db.session.scalars(clients.clients_query(actor, code=ref.upper())).first()
            client = found
    if request.method == "POST":
        form.require("client", "risk_level")
        if ref and client is None:
            form.errors.setdefault("client", []).append(_("Klien tidak ditemukan di unit Anda."))
        data = None
        if client is not None:
            form.values["client"] = client.id
            data = _load(CaseIn(), _case_body(form, opening=True), form)
        if data is not None and not form.errors:
            try:
                case = ops.open_case(actor, data)
            except Problem as problem:
                form.refused(problem)
            else:
                flash(_("Kasus %(number)s dibuka.", number=case.number), "success")
                return redirect(url_for("cases_portal.view", case_id=case.id))
        if client is not None:
            form.values["client"] = client.code
    return _case_form_page("cases/form.html", form, actor, case=None, client=client)


# --- one case -------------------------------------------------------------------------------


def _fold_own_reads(
    entries: list[dict[str, Any]], unit_name: str
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The timeline without the unit's own reads of the client's data (every opening of this
    page is one), which would bury the rest; those counted on one line, with the latest."""
    own = [
        e
        for e in entries
        if e["kind"] == "disclosure" and e["status"] == "read" and e["organization"] == unit_name
    ]
    rest = [e for e in entries if not any(e is o for o in own)]
    return rest, ({"count": len(own), "latest": own[0]["at"]} if own else None)


@reader_page
def view(case_id: str):
    """The case in full with everything around its client on one timeline; the read is logged."""
    actor = portal_actor()
    case = ops.get_case_for(actor, case_id)
    shown = ops.case_view(actor, case, "portal case page")
    timeline, own_reads = _fold_own_reads(ops.case_timeline(actor, case), case.organization.name)
    return render_template(
        "cases/view.html",
        case=shown,
        timeline=timeline,
        own_reads=own_reads,
        note_form=FormState(),
        plan_statuses=options("plan_status", PLAN_STATUSES),
    )


@writer_page
def edit(case_id: str):
    """Change the case against the version read (its ETag travels in the form)."""
    actor = portal_actor()
    case = ops.get_case_for(actor, case_id, "cases:write")
    form = read_form(text=(*CASE_TEXT, "etag"), lists=("violence_types",))
    if request.method == "GET":
        form.values.update(
            risk_level=case.risk_level,
            violence_types=list(case.violence_types or []),
            occurred_on=case.incident_occurred_on.isoformat() if case.incident_occurred_on else "",
            place_type=case.incident_place_type or "",
            region_code=case.incident_region_code or "",
            perpetrator_relationship=case.perpetrator_relationship or "",
            summary=case.summary or "",
            caseworker=case.caseworker_id or "",
            supervisor=case.supervisor_id or "",
            etag=ops.etag_of(case),
        )
        ops.case_view(actor, case, "portal case edit")
    else:
        data = _load(CasePatchIn(), _case_body(form, opening=False), form)
        if data is not None and not form.errors:
            etag = f'"{form.values["etag"]}"' if form.values["etag"] else None
            try:
                ops.update_case(actor, case_id, data, if_match=etag)
            except Problem as problem:
                form.refused(problem)
                if problem.status == 412:
                    form.message = _(
                        "Kasus ini diubah orang lain sejak Anda membukanya. Isian Anda tetap"
                        " di bawah; periksa lalu simpan lagi."
                    )
                    form.values["etag"] = ops.etag_of(ops.get_case_for(actor, case_id))
            else:
                flash(_("Kasus disimpan."), "success")
                return redirect(url_for("cases_portal.view", case_id=case_id))
    return _case_form_page("cases/form.html", form, actor, case=case, client=case.client)


@writer_page
def close(case_id: str):
    """Close the case: a reason and a closing summary."""
    actor = portal_actor()
    case = ops.get_case_for(actor, case_id, "cases:write")
    form = read_form(text=("reason", "summary"))
    if request.method == "POST":
        form.require("reason")
        body = {"reason": form.values["reason"] or None, "summary": form.values["summary"] or None}
        data = _load(CaseCloseIn(), {k: v for k, v in body.items() if v}, form)
        if data is not None and not form.errors:
            try:
                ops.close_case(actor, case_id, data["reason"], data.get("summary"))
            except Problem as problem:
                form.refused(problem)
            else:
                flash(_("Kasus ditutup."), "success")
                return redirect(url_for("cases_portal.view", case_id=case_id))
    return render_template(
        "cases/close.html", case=case, form=form, reasons=options("close_reason", CLOSE_REASONS)
    ), (422 if form.invalid else 200)


@writer_page
def reopen(case_id: str):
    """Reopen a closed case."""
    actor = portal_actor()
    try:
        ops.reopen_case(actor, case_id)
    except Problem as problem:
        flash_refusal(problem)
    else:
        flash(_("Kasus dibuka kembali."), "success")
    return redirect(url_for("cases_portal.view", case_id=case_id))


# --- notes ----------------------------------------------------------------------------------


@writer_page
def add_note(case_id: str):
    """A note, with a day to follow up on."""
    actor = portal_actor()
    form = read_form(text=("text", "follow_up_on"))
    form.require("text")
    body = {k: v for k, v in form.values.items() if v}
    data = _load(CaseNoteIn(), body, form)
    if data is not None and not form.errors:
        ops.add_note(actor, case_id, data["text"], data.get("follow_up_on"))
        flash(_("Catatan disimpan."), "success")
        return redirect(url_for("cases_portal.view", case_id=case_id, _anchor="notes"))
    case = ops.get_case_for(actor, case_id)
    shown = ops.case_view(actor, case, "portal case page")
    timeline, own_reads = _fold_own_reads(ops.case_timeline(actor, case), case.organization.name)
    return render_template(
        "cases/view.html",
        case=shown,
        timeline=timeline,
        own_reads=own_reads,
        note_form=form,
        plan_statuses=options("plan_status", PLAN_STATUSES),
    ), 422


@writer_page
def follow_up_done(case_id: str, note_id: str):
    """Mark a note's follow-up done."""
    actor = portal_actor()
    try:
        ops.complete_follow_up(actor, case_id, note_id)
    except Problem as problem:
        flash_refusal(problem)
    else:
        flash(_("Tindak lanjut ditandai selesai."), "success")
    return redirect(request.form.get("next") or url_for("cases_portal.view", case_id=case_id))


# --- the plan -------------------------------------------------------------------------------


def _provider_options(actor) -> list[tuple[str, str]]:
    orgs = db.session.scalars(
        select(Organization)
        .where(Organization.id != actor.organization_id, Organization.type != "hub_operator")
        .order_by(Organization.name)
    )
    return [("", _("Unit sendiri"))] + [(o.id, o.name) for o in orgs]


@writer_page
def plan_item_new(case_id: str):
    """A step of the plan: one of the unit's six services, or a partner's service."""
    actor = portal_actor()
    case = ops.get_case_for(actor, case_id, "cases:write")
    form = read_form(text=("service", "provider", "due_on", "note"))
    if request.method == "POST":
        form.require("service")
        data = _load(PlanItemIn(), {k: v for k, v in form.values.items() if v}, form)
        if data is not None and not form.errors:
            try:
                ops.add_plan_item(actor, case_id, data)
            except Problem as problem:
                form.refused(problem)
            else:
                flash(_("Rencana layanan ditambahkan."), "success")
                return redirect(url_for("cases_portal.view", case_id=case_id, _anchor="plan"))
    services = db.session.scalars(select(Service).order_by(Service.position, Service.code))
    return render_template(
        "cases/plan_item.html",
        case=case,
        form=form,
        services=[(s.code, service_name(s)) for s in services],
        providers=_provider_options(actor),
        own_services=", ".join(service_label(code) for code in UNIT_SERVICES),
    ), (422 if form.invalid else 200)


@writer_page
def plan_item_status(case_id: str, item_id: str):
    """Set an item's status (an item not referred: a referred one follows its referral)."""
    actor = portal_actor()
    status = request.form.get("status", "")
    try:
        ops.update_plan_item(actor, case_id, item_id, {"status": status})
    except Problem as problem:
        flash_refusal(problem)
    else:
        flash(_("Status rencana disimpan."), "success")
    return redirect(url_for("cases_portal.view", case_id=case_id, _anchor="plan"))


@writer_page
def plan_item_refer(case_id: str, item_id: str):
    """Refer the item to its partner: every gate of a referral, the case's data carried."""
    actor = portal_actor()
    case = ops.get_case_for(actor, case_id, "cases:write")
    item = ops.plan_item_of(case, item_id)
    form = read_form(text=("consent", "urgency", "reason"), lists=("data_categories",))
    if request.method == "GET":
        form.values["urgency"] = "routine"
        # Nothing beyond what always goes is ticked for the caseworker: each category shared
        # is a choice (data minimisation, UU PDP Pasal 16).
        form.values["data_categories"] = []
    else:
        body: dict[str, Any] = {
            "consent": form.values["consent"] or None,
            "urgency": form.values["urgency"] or "routine",
            "reason": form.values["reason"] or None,
            "data_categories": list(form.values["data_categories"]),
        }
        data = _load(PlanItemReferIn(), {k: v for k, v in body.items() if v is not None}, form)
        if data is not None and not form.errors:
            try:
                _item, referral = ops.refer_plan_item(actor, case_id, item_id, data)
            except Problem as problem:
                form.refused(problem)
            else:
                flash(_("Rujukan %(number)s dikirim.", number=referral.number), "success")
                return redirect(url_for("cases_portal.view", case_id=case_id, _anchor="plan"))
    consents = [
        c
        for c in db.session.scalars(clients.consents_query(actor, case.client_id))
        if c.status() == "active"
    ]
    return render_template(
        "cases/refer.html",
        case=case,
        item=item,
        form=form,
        consents=consents,
        urgencies=options("urgency", URGENCIES),
        categories=options(
            "category", ("identity", "contact", "guardian", "case_summary", "perpetrator")
        ),
    ), (422 if form.invalid else 200)


GET, POST, BOTH = ("GET",), ("POST",), ("GET", "POST")
CASE = "/cases/<case_id>"
ITEM = f"{CASE}/plan-items/<item_id>"
RULES = (
    ("/cases", "index", index, GET),
    ("/cases/search", "search", search, POST),
    ("/cases/new", "new", new, BOTH),
    (CASE, "view", view, GET),
    (f"{CASE}/edit", "edit", edit, BOTH),
    (f"{CASE}/close", "close", close, BOTH),
    (f"{CASE}/reopen", "reopen", reopen, POST),
    (f"{CASE}/notes", "add_note", add_note, POST),
    (f"{CASE}/notes/<note_id>/done", "follow_up_done", follow_up_done, POST),
    (f"{CASE}/plan-items/new", "plan_item_new", plan_item_new, BOTH),
    (f"{ITEM}/status", "plan_item_status", plan_item_status, POST),
    (f"{ITEM}/refer", "plan_item_refer", plan_item_refer, BOTH),
)
for _rule, _endpoint, _view, _methods in RULES:
    bp.add_url_rule(_rule, _endpoint, _view, methods=list(_methods))
