"""Perjanjian and Cakupan: the MoU registry and the coverage matrix in the portal.

Administrators of the parties draft, sign, upload, suspend, renew and terminate; auditors
and the hub operator read. Every page calls the registry's operations, which decide who may
see and change what (another organisation's agreement is 404 here as in the API).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from referral_hub.accounts.session import current_user
from referral_hub.agreements import operations as ops
from referral_hub.agreements.api import EXPORT_COLUMNS, _export_row
from referral_hub.agreements.models import DATA_CATEGORIES, KINDS, STATUSES, Agreement
from referral_hub.directory.models import PARTNER_TYPES, Organization, Service
from referral_hub.extensions import db
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.code_names import label, service_label, service_name
from referral_hub.portal.forms import FormState
from referral_hub.portal.messages import translate_errors, translate_message
from referral_hub.portal.moments import register_moment_filter
from referral_hub.portal.navigation import registry_readers
from referral_hub.portal.paging import page_number, paginate_select
from referral_hub.problems import Problem

bp = Blueprint("agreements_portal", __name__)
bp.add_app_template_global(label, "code_label")
bp.add_app_template_global(service_label, "service_label")
register_moment_filter(bp)

PAGE_SIZE = 25
FILTERS = ("status", "party", "service", "provider", "region", "expiring_within_days")
REGION = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
EXPIRING_SOON_DAYS = 30
#: Blank rows offered below the filled ones, so a party can be added without a script.
SPARE_ROWS = 1
MAX_SERVICE_ROWS = 60
MAX_SIGNATORY_ROWS = 40
TEXT_LIMITS = {"number": 100, "title": 300, "purpose": 4000, "notes": 4000}
LIFECYCLE_ACTIONS = ("sign", "suspend", "resume", "terminate", "renew")


def registry_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed in, with the right to read agreements (every role: permissions.py)."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not registry_readers(current_user()):
            raise Problem(403, "forbidden", "This page is not open to your role.")
        return view(*args, **kwargs)

    return login_required(checked)


def _organizations() -> list[Organization]:
    """Organisations that can be parties (the hub operator audits, it does not sign)."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(Organization.type != "hub_operator")
            .order_by(Organization.name)
        )
    )


def _services() -> list[Service]:
    return list(db.session.scalars(select(Service).order_by(Service.position, Service.code)))


def _may_write(agreement: Agreement | None = None) -> bool:
    """Whether the user's page shows changing actions (the operations check again)."""
    actor = portal_actor()
    if actor.is_hub_operator or not actor.has_scope("agreements:write"):
        return False
    return agreement is None or actor.organization_id in agreement.party_ids


# --- the registry ------------------------------------------------------------------------------


def _filters() -> tuple[dict[str, str], dict[str, Any], dict[str, list[str]]]:
    """The filter form's values, the filters for registry_query, and errors."""
    values = {name: (request.args.get(name) or "").strip()[:64] for name in FILTERS}
    filters: dict[str, Any] = dict.fromkeys(FILTERS)
    errors: dict[str, list[str]] = {}
    if values["status"]:
        if values["status"] in STATUSES:
            filters["status"] = values["status"]
        else:
            errors["status"] = [_("Pilih status dari daftar.")]
    for name in ("party", "service", "provider"):
        filters[name] = values[name] or None
    if values["region"]:
        if REGION.match(values["region"]):
            filters["region"] = values["region"]
        else:
            errors["region"] = [_("Kode wilayah Kemendagri tidak sah (mis. 64 atau 64.09).")]
    if values["expiring_within_days"]:
        days = values["expiring_within_days"]
        if days.isdigit() and int(days) <= ops.MAX_TERM_DAYS:
            filters["expiring_within_days"] = int(days)
        else:
            errors["expiring_within_days"] = [_("Isi jumlah hari (angka 0 atau lebih).")]
    return values, filters, errors


def _registry(actor, filters: dict[str, Any], errors: dict[str, list[str]]):
    """registry_query with the filters; an unknown organisation becomes an error beside it."""
    try:
        return ops.registry_query(actor, **filters)
    except Problem as problem:
        if problem.status != 422:
            raise
        errors.update(translate_errors(problem.errors))
        return ops.registry_query(actor, **{**filters, **dict.fromkeys(problem.errors or {})})


@bp.get("/agreements")
@registry_page
def index():
    """The registry: agreements of the user's organisation (all, for the hub operator)."""
    actor = portal_actor()
    values, filters, errors = _filters()
    query = _registry(actor, filters, errors)
    page = paginate_select(query, page_number(), PAGE_SIZE)
    today = ops.local_date()
    lines = [
        {
            "agreement": agreement,
            "status": ops.effective_status(agreement),
            "days_left": (agreement.expires_on - today).days,
        }
        for agreement in page.items
    ]
    export_args = {k: v for k, v in values.items() if v and k not in errors}
    return render_template(
        "agreements/index.html",
        page=page,
        lines=lines,
        values=values,
        errors=errors,
        statuses=[(s, label("agreement_status", s)) for s in STATUSES],
        organizations=[(o.code, o.name) for o in _organizations()],
        services=[(s.code, service_name(s)) for s in _services()],
        export_url=url_for(".export", **export_args),
        soon_days=EXPIRING_SOON_DAYS,
        soon=values["expiring_within_days"] == str(EXPIRING_SOON_DAYS) and len(export_args) == 1,
        filtered=bool(export_args),
        may_write=_may_write(),
        sees_all=actor.is_hub_operator,
    ), (422 if errors else 200)


@bp.get("/agreements/export.csv")
@registry_page
def export():
    """The filtered registry as a CSV file, the same columns as the API's export (audited)."""
    actor = portal_actor()
    _values, filters, errors = _filters()
    query = _registry(actor, {k: v for k, v in filters.items() if k not in errors}, errors)
    agreements = db.session.scalars(query).all()
    out = io.StringIO()
    out.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for agreement in agreements:
        writer.writerow(_export_row(agreement))
    ops.record_export(actor, filters, len(agreements))
    db.session.commit()
    day = ops.local_date().isoformat()
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="agreements-{day}.csv"'},
    )


# --- one agreement -------------------------------------------------------------------------


def _detail_page(
    agreement_id: str,
    *,
    states: dict[str, FormState] | None = None,
    status: int = 200,
):
    actor = portal_actor()
    agreement = ops.get_agreement(actor, agreement_id)
    effective = ops.effective_status(agreement)
    states = dict(states or {})
    for name in (*LIFECYCLE_ACTIONS, "upload"):
        states.setdefault(name, FormState())
    signed = agreement.signed_party_ids
    writer = _may_write(agreement)
    renewal = next((r for r in reversed(agreement.renewals) if r.status != "terminated"), None)
    return render_template(
        "agreements/detail.html",
        agreement=agreement,
        status=effective,
        etag=ops.etag_of(agreement),
        content_sha256=ops.content_sha256(agreement),
        signed=signed,
        signatories=_signatories(agreement),
        history=ops.agreement_history(actor, agreement.id),
        renewal=renewal,
        states=states,
        may_write=writer,
        can_edit=writer and effective == "draft" and not agreement.signatures,
        can_sign=writer and effective == "draft" and actor.organization_id not in signed,
        can_suspend=writer and effective == "active",
        can_resume=writer and effective == "suspended",
        can_terminate=writer and effective in ("draft", "signed", "active", "suspended"),
        can_renew=writer and effective in ("active", "suspended", "expired") and renewal is None,
        max_bytes=ops.document_max_bytes(),
    ), status


def _signatories(agreement: Agreement) -> list[dict[str, Any]]:
    names = {p.organization_id: p.organization.name for p in agreement.parties}
    return [
        {
            "name": s.get("name"),
            "title": s["title"],
            "organization": names.get(s["organization_id"], ""),
        }
        for s in agreement.signatories
    ]


@bp.get("/agreements/<agreement_id>")
@registry_page
def detail(agreement_id: str):
    """Parties, services and providers, signatures, documents and history of one agreement."""
    return _detail_page(agreement_id)


def _changed_elsewhere() -> str:
    return _(
        "Perjanjian ini telah diubah oleh orang lain sejak Anda membukanya, jadi perubahan "
        "Anda tidak disimpan. Periksa versi terbaru di bawah ini, lalu ulangi bila masih perlu."
    )


def _refused(form: FormState, problem: Problem) -> int:
    """Show a refusal in the form; the page's status code for it."""
    if problem.status == 412:
        form.message = _changed_elsewhere()
        return 409
    form.refused(problem)
    said = {message for messages in form.errors.values() for message in messages}
    if form.message in said:
        form.message = None  # already beside its field: saying it twice is noise
    return problem.status if problem.status in (409, 413, 422) else 422


@bp.post("/agreements/<agreement_id>/<any(sign, suspend, resume, terminate, renew):action>")
@registry_page
def act(agreement_id: str, action: str):
    """Sign, suspend, resume, terminate or renew, as the user's organisation."""
    actor = portal_actor()
    field = f"{action}_reason"
    form = FormState(
        {
            field: (request.form.get(field) or "").strip(),
            "etag": (request.form.get("etag") or "").strip(),
            "content_sha256": (request.form.get("content_sha256") or "").strip(),
        }
    )
    if len(str(form.values[field])) > 2000:
        form.errors[field] = [_("Paling banyak %(count)d karakter.", count=2000)]
        return _detail_page(agreement_id, states={action: form}, status=422)
    etag = f'"{form.values["etag"]}"' if form.values["etag"] else None
    reason = str(form.values[field]) or None
    try:
        if action == "sign":
            agreement = ops.sign_agreement(
                actor, agreement_id, content_sha256_seen=str(form.values["content_sha256"]) or None
            )
            done = _("Perjanjian %(number)s ditandatangani atas nama organisasi Anda.")
        elif action == "suspend":
            agreement = ops.suspend_agreement(actor, agreement_id, reason=reason, if_match=etag)
            done = _("Perjanjian %(number)s ditangguhkan.")
        elif action == "resume":
            agreement = ops.resume_agreement(actor, agreement_id, reason=reason, if_match=etag)
            done = _("Perjanjian %(number)s berlaku kembali.")
        elif action == "terminate":
            agreement = ops.terminate_agreement(
                actor, agreement_id, reason=reason or "", if_match=etag
            )
            done = _("Perjanjian %(number)s diakhiri.")
        else:
            agreement = ops.renew_agreement(actor, agreement_id, if_match=etag)
            done = _("Draf perpanjangan perjanjian %(number)s dibuat. Periksa lalu tandatangani.")
    except Problem as problem:
        db.session.rollback()
        if problem.status in (403, 404):
            raise
        status = _refused(form, problem)
        if "reason" in form.errors:
            form.errors[field] = form.errors.pop("reason")
        return _detail_page(agreement_id, states={action: form}, status=status)
    db.session.commit()
    flash(done % {"number": agreement.number}, "success")
    return redirect(url_for(".detail", agreement_id=agreement.id))


@bp.post("/agreements/<agreement_id>/documents")
@registry_page
def upload(agreement_id: str):
    """Keep a PDF with the agreement (the signed scan, annexes)."""
    # Who may attach is decided before the file is looked at (see edit).
    if not _may_write(ops.get_agreement(portal_actor(), agreement_id)):
        raise Problem(
            403, "forbidden", "Only an administrator or a supervisor of a party can attach."
        )
    form = FormState()
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        form.errors["file"] = [_("Pilih berkas PDF.")]
        return _detail_page(agreement_id, states={"upload": form}, status=422)
    try:
        document = ops.add_document(
            portal_actor(), agreement_id, filename=upload_file.filename, stream=upload_file.stream
        )
    except Problem as problem:
        db.session.rollback()
        if problem.status in (403, 404):
            raise
        status = _refused(form, problem)
        return _detail_page(agreement_id, states={"upload": form}, status=status)
    db.session.commit()
    flash(_("Dokumen %(name)s diunggah.", name=document.filename), "success")
    return redirect(url_for(".detail", agreement_id=agreement_id) + "#documents")


@bp.get("/agreements/<agreement_id>/documents/<document_id>")
@registry_page
def download(agreement_id: str, document_id: str):
    """The document's bytes; every download is audited."""
    document, data = ops.read_document(portal_actor(), agreement_id, document_id)
    db.session.commit()
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "ETag": f'"{document.sha256}"',
        },
    )


# --- drafting ------------------------------------------------------------------------------


def _rows(prefix_fields: tuple[str, ...], limit: int) -> list[dict[str, str]]:
    """Repeated rows of the form (`<field>-<i>`), as many as the form says it holds."""
    try:
        count = int(request.form.get(f"{prefix_fields[0]}_rows") or 0)
    except ValueError:
        count = 0
    rows = []
    for index in range(min(max(count, 0), limit)):
        rows.append(
            {name: (request.form.get(f"{name}-{index}") or "").strip() for name in prefix_fields}
        )
    return rows


def _content_form() -> FormState:
    """The draft form as submitted: text fields, party and category lists, repeated rows."""
    values: dict[str, Any] = {
        name: (request.form.get(name) or "").strip()
        for name in (
            "kind",
            "number",
            "title",
            "purpose",
            "effective_from",
            "expires_on",
            "response_hours",
            "notes",
            "etag",
        )
    }
    values["parties"] = [v for v in request.form.getlist("parties") if v]
    values["data_categories"] = [v for v in request.form.getlist("data_categories") if v]
    values["services"] = _rows(("service", "provider"), MAX_SERVICE_ROWS)
    values["signatories"] = _rows(("sig_name", "sig_title", "sig_org"), MAX_SIGNATORY_ROWS)
    return FormState(values)


def _date(form: FormState, name: str) -> dt.date | None:
    text = str(form.values.get(name) or "")
    if not text:
        form.errors.setdefault(name, []).append(_("Wajib diisi."))
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        form.errors.setdefault(name, []).append(_("Tanggal tidak sah; gunakan format TTTT-BB-HH."))
        return None


def _content_data(form: FormState) -> tuple[dict[str, Any], list[int], list[int]]:
    """Parse the form into operation input; row positions of the services and signatories sent.

    Only the form's shape is checked here; the rules (parties, providers, dates, numbers)
    are the operation's.
    """
    form.require("number", "title", "purpose")
    if form.values["kind"] not in KINDS:
        form.errors.setdefault("kind", []).append(_("Pilih jenis perjanjian."))
    for name, limit in TEXT_LIMITS.items():
        if len(str(form.values.get(name) or "")) > limit:
            form.errors.setdefault(name, []).append(
                _("Paling banyak %(count)d karakter.", count=limit)
            )
    data: dict[str, Any] = {
        "kind": form.values["kind"],
        "number": form.values["number"],
        "title": form.values["title"],
        "purpose": form.values["purpose"],
        "notes": form.values["notes"] or None,
        "parties": list(form.values["parties"]),
        "data_categories": [c for c in form.values["data_categories"] if c in DATA_CATEGORIES],
        "effective_from": _date(form, "effective_from"),
        "expires_on": _date(form, "expires_on"),
    }
    hours = str(form.values["response_hours"])
    if not hours.isdigit() or not 1 <= int(hours) <= ops.MAX_RESPONSE_HOURS:
        form.errors.setdefault("response_hours", []).append(
            _("Isi jumlah jam antara 1 dan %(max)d.", max=ops.MAX_RESPONSE_HOURS)
        )
    else:
        data["response_hours"] = int(hours)
    services, service_rows = [], []
    for index, row in enumerate(form.values["services"]):
        if not row["service"] and not row["provider"]:
            continue
        if not row["service"] or not row["provider"]:
            missing = "service" if not row["service"] else "provider"
            form.errors.setdefault(f"{missing}-{index}", []).append(_("Wajib diisi."))
            continue
        services.append({"service": row["service"], "provider": row["provider"]})
        service_rows.append(index)
    if not services and not any(k.startswith(("service-", "provider-")) for k in form.errors):
        form.errors.setdefault("service-0", []).append(
            _("Isi minimal satu layanan dan penyedianya.")
        )
    data["services"] = services
    signatories, signatory_rows = [], []
    for index, row in enumerate(form.values["signatories"]):
        if not any(row.values()):
            continue
        for name in ("sig_title", "sig_org"):
            if not row[name]:
                form.errors.setdefault(f"{name}-{index}", []).append(_("Wajib diisi."))
        if len(row["sig_name"]) > 200 or len(row["sig_title"]) > 200:
            form.errors.setdefault(f"sig_title-{index}", []).append(
                _("Paling banyak %(count)d karakter.", count=200)
            )
        if row["sig_title"] and row["sig_org"]:
            signatories.append(
                {
                    "name": row["sig_name"] or None,
                    "title": row["sig_title"],
                    "organization": row["sig_org"],
                }
            )
            signatory_rows.append(index)
    data["signatories"] = signatories
    return data, service_rows, signatory_rows


def _problem_errors(
    problem: Problem, service_rows: list[int], signatory_rows: list[int]
) -> dict[str, list[str]]:
    """The operation's field errors, with those of list items placed beside their row."""
    errors: dict[str, list[str]] = {}
    places = {
        "services": (service_rows, {"service": "service", "provider": "provider"}, "service"),
        "signatories": (
            signatory_rows,
            {"organization": "sig_org", "title": "sig_title", "name": "sig_name"},
            "sig_title",
        ),
    }
    for name, value in (problem.errors or {}).items():
        if name in places and isinstance(value, Mapping):
            rows, fields, default = places[name]
            for position, inner in value.items():
                index = int(position)
                row = rows[index] if index < len(rows) else 0
                items = inner.items() if isinstance(inner, Mapping) else [(default, inner)]
                for sub, messages in items:
                    key = f"{fields.get(sub, default)}-{row}"
                    errors.setdefault(key, []).extend(translate_errors({"x": messages})["x"])
        else:
            errors.update(translate_errors({name: value}))
    return errors


def _form_page(
    form: FormState,
    *,
    agreement: Agreement | None = None,
    conflict: Agreement | None = None,
    status: int = 200,
):
    for name, fields, limit in (
        ("services", ("service", "provider"), MAX_SERVICE_ROWS),
        ("signatories", ("sig_name", "sig_title", "sig_org"), MAX_SIGNATORY_ROWS),
    ):
        rows = list(form.values.get(name) or [])
        blank = dict.fromkeys(fields, "")
        spare = SPARE_ROWS + (1 if request.form.get(f"add_{name}") else 0)
        rows.extend(dict(blank) for _ in range(spare))
        form.values[name] = rows[:limit]
    organizations = _organizations()
    return render_template(
        "agreements/form.html",
        form=form,
        agreement=agreement,
        conflict=conflict,
        kinds=[(k, label("agreement_kind", k)) for k in KINDS],
        organizations=[(o.id, o.name) for o in organizations],
        services=[(s.code, service_name(s)) for s in _services()],
        categories=[(c, label("category", c)) for c in DATA_CATEGORIES if c != "demographics"],
        max_hours=ops.MAX_RESPONSE_HOURS,
    ), status


def _adding_rows() -> bool:
    return bool(request.form.get("add_services") or request.form.get("add_signatories"))


@bp.route("/agreements/new", methods=["GET", "POST"])
@registry_page
def new():
    """Draft a new agreement; the user's organisation is one of its parties."""
    actor = portal_actor()
    if not _may_write():
        raise Problem(
            403,
            "forbidden",
            "Only an organisation administrator or a supervisor can change agreements.",
        )
    if request.method == "GET":
        today = ops.local_date()
        form = FormState(
            {
                "kind": "pks",
                "parties": [actor.organization_id],
                "data_categories": [],
                "effective_from": today.isoformat(),
                "expires_on": today.replace(year=today.year + 1).isoformat()
                if not (today.month == 2 and today.day == 29)
                else (today + dt.timedelta(days=365)).isoformat(),
                "response_hours": "72",
                "services": [],
                "signatories": [],
            }
        )
        return _form_page(form)
    form = _content_form()
    if _adding_rows():
        return _form_page(form)
    data, service_rows, signatory_rows = _content_data(form)
    if form.errors:
        return _form_page(form, status=422)
    try:
        agreement = ops.create_agreement(actor, data)
    except Problem as problem:
        db.session.rollback()
        if problem.status in (403, 404):
            raise
        form.errors.update(_problem_errors(problem, service_rows, signatory_rows))
        form.message = translate_message(problem.detail or "")
        return _form_page(form, status=problem.status if problem.status in (409, 422) else 422)
    db.session.commit()
    flash(_("Draf perjanjian %(number)s disimpan.", number=agreement.number), "success")
    return redirect(url_for(".detail", agreement_id=agreement.id))


def _values_of(agreement: Agreement) -> dict[str, Any]:
    """A stored agreement as the draft form's values."""
    return {
        "kind": agreement.kind,
        "number": agreement.number,
        "title": agreement.title,
        "purpose": agreement.purpose,
        "notes": agreement.notes or "",
        "parties": list(agreement.party_ids),
        "data_categories": list(agreement.data_categories),
        "effective_from": agreement.effective_from.isoformat(),
        "expires_on": agreement.expires_on.isoformat(),
        "response_hours": str(agreement.response_hours),
        "services": [
            {"service": s.service_code, "provider": s.provider_id} for s in agreement.services
        ],
        "signatories": [
            {
                "sig_name": s.get("name") or "",
                "sig_title": s["title"],
                "sig_org": s["organization_id"],
            }
            for s in agreement.signatories
        ],
        "etag": ops.etag_of(agreement),
    }


@bp.route("/agreements/<agreement_id>/edit", methods=["GET", "POST"])
@registry_page
def edit(agreement_id: str):
    """Change a draft nobody has signed; a change made meanwhile by someone else is caught."""
    actor = portal_actor()
    agreement = ops.get_agreement(actor, agreement_id)
    # Refuse before reading the form: a reader must not get the editor, nor a 422 that
    # reads as if only the input were wrong.
    if not _may_write(agreement):
        raise Problem(
            403, "forbidden", "Only an administrator or a supervisor of a party can edit."
        )
    if request.method == "GET":
        return _form_page(FormState(_values_of(agreement)), agreement=agreement)
    form = _content_form()
    if _adding_rows():
        return _form_page(form, agreement=agreement)
    data, service_rows, signatory_rows = _content_data(form)
    if form.errors:
        return _form_page(form, agreement=agreement, status=422)
    etag = f'"{form.values["etag"]}"' if form.values["etag"] else None
    try:
        agreement = ops.update_agreement(actor, agreement_id, data, if_match=etag)
    except Problem as problem:
        db.session.rollback()
        if problem.status in (403, 404):
            raise
        if problem.status in (412, 428):
            # Keep what the user typed; show what is stored now, and take its ETag so that
            # sending again, after looking, is a deliberate overwrite.
            current = ops.get_agreement(actor, agreement_id)
            form.message = _changed_elsewhere()
            form.values["etag"] = ops.etag_of(current)
            return _form_page(form, agreement=current, conflict=current, status=409)
        form.errors.update(_problem_errors(problem, service_rows, signatory_rows))
        form.message = translate_message(problem.detail or "")
        return _form_page(
            form,
            agreement=agreement,
            status=problem.status if problem.status in (409, 422) else 422,
        )
    db.session.commit()
    flash(_("Draf perjanjian %(number)s disimpan.", number=agreement.number), "success")
    return redirect(url_for(".detail", agreement_id=agreement.id))


# --- coverage ------------------------------------------------------------------------------


@bp.get("/coverage")
@registry_page
def coverage():
    """Services x organisations: where each can be referred today, and the gaps."""
    actor = portal_actor()
    values = {
        "region": (request.args.get("region") or "").strip()[:16],
        "type": (request.args.get("type") or "").strip()[:32],
    }
    errors: dict[str, list[str]] = {}
    if actor.is_hub_operator:
        region = values["region"] or "64"
        if not REGION.match(region):
            errors["region"] = [_("Kode wilayah Kemendagri tidak sah (mis. 64 atau 64.09).")]
            region = "64"
        org_type = values["type"] or "uptd_ppa"
        types = [t for t in PARTNER_TYPES if t != "hub_operator"]
        if org_type not in types:
            errors["type"] = [_("Pilih jenis organisasi dari daftar.")]
            org_type = "uptd_ppa"
        values.update(region=region, type=org_type)
        matrix = ops.coverage_matrix(actor, region=region, org_type=org_type)
    else:
        types = []
        matrix = ops.coverage_matrix(actor)
    gaps = [
        (row["organization"], [cell["service"] for cell in row["cells"] if cell["state"] == "gap"])
        for row in matrix["rows"]
    ]
    return render_template(
        "agreements/coverage.html",
        matrix=matrix,
        gaps=gaps,
        values=values,
        errors=errors,
        sees_region=actor.is_hub_operator,
        types=[(t, label("org_type", t)) for t in types],
    ), (422 if errors else 200)
