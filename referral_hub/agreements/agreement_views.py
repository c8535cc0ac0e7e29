"""One agreement in the portal: its page, the lifecycle actions, documents, and drafting.

The draft form is loaded through the API's own schema (`AgreementIn`), as the client form
is through `ClientIn`, so the portal and the API accept exactly the same agreements; what
the user may do is asked of the operations (`may_change`, `allowed_actions`). URL rules and
access: blueprint.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from referral_hub.agreements import operations as ops
from referral_hub.agreements.models import KINDS, Agreement
from referral_hub.agreements.registry_views import party_choices, service_choices
from referral_hub.agreements.schemas import AgreementIn
from referral_hub.categories import SHAREABLE_CATEGORIES
from referral_hub.portal.access import portal_actor
from referral_hub.portal.code_names import label, service_name
from referral_hub.portal.forms import FormState, take_refusal
from referral_hub.portal.messages import problem_message, translate_message
from referral_hub.problems import Problem

#: Blank rows offered below the filled ones, so a party can be added without a script.
SPARE_ROWS = 1
MAX_SERVICE_ROWS = 60
MAX_SIGNATORY_ROWS = 40
LIFECYCLE_ACTIONS = ("sign", "suspend", "resume", "terminate", "renew")


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
    for name in (*LIFECYCLE_ACTIONS, "upload", "paper", "dispute"):
        states.setdefault(name, FormState())
    renewal = next((r for r in reversed(agreement.renewals) if r.status != "terminated"), None)
    paper_parties = ops.paper_signature_parties(actor, agreement)
    return render_template(
        "agreements/detail.html",
        agreement=agreement,
        status=effective,
        etag=ops.etag_of(agreement),
        content_sha256=ops.content_sha256(agreement),
        signed=agreement.signed_party_ids,
        signatories=_signatories(agreement),
        history=ops.agreement_history(actor, agreement.id),
        renewal=renewal,
        states=states,
        may_write=ops.may_change(actor, agreement),
        may_upload=ops.may_add_document(actor, agreement),
        actions=ops.allowed_actions(actor, agreement),
        max_bytes=ops.document_max_bytes(),
        paper_parties=paper_parties,
        paper_options=[(o.code, o.name) for o in paper_parties],
        answerable=ops.answerable_signature(actor, agreement),
        signature_of={s.organization_id: s for s in agreement.signatures},
        today=ops.local_date().isoformat(),
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
    take_refusal(problem)
    if problem.status == 412:
        form.message = _changed_elsewhere()
        return 409
    form.refused(problem)
    said = {message for messages in form.errors.values() for message in messages}
    if form.message in said:
        form.message = None  # already beside its field: saying it twice is noise
    return problem.status if problem.status in (409, 413, 422) else 422


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
        status = _refused(form, problem)
        if "reason" in form.errors:
            form.errors[field] = form.errors.pop("reason")
        return _detail_page(agreement_id, states={action: form}, status=status)
    flash(done % {"number": agreement.number}, "success")
    return redirect(url_for(".detail", agreement_id=agreement.id))


def _party_staff_only(verb: str) -> Problem:
    detail = f"Only an administrator or a supervisor of a party can {verb}."
    return Problem(403, "forbidden", detail, reason="party-staff")


def upload(agreement_id: str):
    """Keep a PDF with the agreement (the signed scan, annexes)."""
    # Who may attach is decided before the file is looked at (see edit).
    if not ops.may_add_document(portal_actor(), ops.get_agreement(portal_actor(), agreement_id)):
        raise _party_staff_only("attach")
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
        status = _refused(form, problem)
        return _detail_page(agreement_id, states={"upload": form}, status=status)
    flash(_("Dokumen %(name)s diunggah.", name=document.filename), "success")
    return redirect(url_for(".detail", agreement_id=agreement_id) + "#documents")


def paper(agreement_id: str):
    """Record that another party signed on paper, with the signed scan uploaded here."""
    actor = portal_actor()
    agreement = ops.get_agreement(actor, agreement_id)
    # Who may record is decided before the form is read.
    in_it = actor.is_hub_operator or actor.organization_id in agreement.party_ids
    if not (ops.may_record_paper(actor) and in_it):
        raise Problem(
            403,
            "forbidden",
            "Only an administrator of another party or of the hub operator records it.",
            reason="paper-signature-recorders",
        )
    form = FormState(
        {
            name: (request.form.get(name) or "").strip()
            for name in ("party", "signed_on", "signatory_name", "signatory_title")
        }
    )
    form.require("party", "signed_on")
    signed_on = None
    if form.values["signed_on"] and "signed_on" not in form.errors:
        try:
            signed_on = dt.date.fromisoformat(str(form.values["signed_on"]))
        except ValueError:
            form.errors["signed_on"] = [_("Tanggal tidak sah; gunakan format TTTT-BB-HH.")]
    scan = request.files.get("file")
    if scan is None or not scan.filename:
        form.errors["file"] = [_("Pilih berkas PDF hasil pindaian yang ditandatangani.")]
    if form.errors or signed_on is None:
        return _detail_page(agreement_id, states={"paper": form}, status=422)
    try:
        agreement = ops.record_paper_signature(
            actor,
            agreement_id,
            party=str(form.values["party"]),
            signed_on=signed_on,
            filename=scan.filename,
            stream=scan.stream,
            signatory_name=str(form.values["signatory_name"]) or None,
            signatory_title=str(form.values["signatory_title"]) or None,
        )
    except Problem as problem:
        status = _refused(form, problem)
        if "organization" in form.errors:
            form.errors["party"] = form.errors.pop("organization")
        return _detail_page(agreement_id, states={"paper": form}, status=status)
    flash(
        _(
            "Tanda tangan di atas kertas dicatat pada perjanjian %(number)s.",
            number=agreement.number,
        ),
        "success",
    )
    return redirect(url_for(".detail", agreement_id=agreement.id) + "#signatures")


def answer(agreement_id: str, party: str, answer: str):
    """The party confirms or disputes the paper signature recorded for it."""
    actor = portal_actor()
    agreement = ops.get_agreement(actor, agreement_id)
    if not ops.may_change(actor, agreement):
        raise _party_staff_only("answer")
    form = FormState({"dispute_reason": (request.form.get("dispute_reason") or "").strip()})
    try:
        if answer == "confirm":
            agreement = ops.confirm_paper_signature(actor, agreement_id, party=party)
            done = _("Tanda tangan di atas kertas atas nama organisasi Anda dikonfirmasi.")
        else:
            if len(str(form.values["dispute_reason"])) > 2000:
                form.errors["dispute_reason"] = [_("Paling banyak %(count)d karakter.", count=2000)]
                return _detail_page(agreement_id, states={"dispute": form}, status=422)
            agreement = ops.dispute_paper_signature(
                actor, agreement_id, party=party, reason=str(form.values["dispute_reason"])
            )
            done = _(
                "Tanda tangan disanggah. Perjanjian %(number)s tidak berlaku sampai "
                "sanggahan selesai."
            )
    except Problem as problem:
        status = _refused(form, problem)
        if "reason" in form.errors:
            form.errors["dispute_reason"] = form.errors.pop("reason")
        return _detail_page(agreement_id, states={"dispute": form}, status=status)
    flash(done % {"number": agreement.number}, "success")
    return redirect(url_for(".detail", agreement_id=agreement.id) + "#signatures")


def download(agreement_id: str, document_id: str):
    """The document's bytes; every download is audited."""
    document, data = ops.read_document(portal_actor(), agreement_id, document_id)
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "ETag": f'"{document.sha256}"',
        },
    )


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


#: Where the schema's and the operation's errors of list items show: the row's field.
_ROW_FIELDS = {
    "services": ({"service": "service", "provider": "provider"}, "service"),
    "signatories": (
        {"organization": "sig_org", "title": "sig_title", "name": "sig_name"},
        "sig_title",
    ),
}
#: The portal's own wording for a field the schema refuses (the rule stays the schema's).
_FIELD_WORDING = {
    "kind": lambda: _("Pilih jenis perjanjian."),
    "effective_from": lambda: _("Tanggal tidak sah; gunakan format TTTT-BB-HH."),
    "expires_on": lambda: _("Tanggal tidak sah; gunakan format TTTT-BB-HH."),
    "response_hours": lambda: _("Isi jumlah jam antara 1 dan %(max)d.", max=ops.MAX_RESPONSE_HOURS),
}


def _payload(form: FormState) -> tuple[dict[str, Any], list[int], list[int]]:
    """The API's body from the form, as a partner system would send it (a field left empty is
    left out), and the form row of each service and signatory sent."""
    values = form.values
    body: dict[str, Any] = {
        name: values[name]
        for name in (
            "kind",
            "number",
            "title",
            "purpose",
            "effective_from",
            "expires_on",
            "response_hours",
        )
        if values.get(name)
    }
    body["notes"] = values.get("notes") or None
    body["parties"] = list(values["parties"])
    body["data_categories"] = list(values["data_categories"])
    services, service_rows = [], []
    for index, row in enumerate(values["services"]):
        if row["service"] or row["provider"]:
            services.append({k: v for k, v in row.items() if v})
            service_rows.append(index)
    body["services"] = services
    signatories, signatory_rows = [], []
    for index, row in enumerate(values["signatories"]):
        if any(row.values()):
            item = {"name": row["sig_name"] or None}
            if row["sig_title"]:
                item["title"] = row["sig_title"]
            if row["sig_org"]:
                item["organization"] = row["sig_org"]
            signatories.append(item)
            signatory_rows.append(index)
    body["signatories"] = signatories
    return body, service_rows, signatory_rows


def _content_data(form: FormState) -> tuple[dict[str, Any] | None, list[int], list[int]]:
    """Load the form through AgreementIn, the API's schema: the operation's input, or None
    with the schema's errors beside their fields. The rules are the schema's and the
    operation's, never restated here."""
    body, service_rows, signatory_rows = _payload(form)
    try:
        return AgreementIn().load(body), service_rows, signatory_rows
    except ValidationError as error:
        form.errors.update(_placed(error.messages, service_rows, signatory_rows, schema=True))
        return None, service_rows, signatory_rows


def _texts(value: Any) -> list[str]:
    """Every message in a (nested) error value, in the reader's language."""
    if isinstance(value, Mapping):
        return [text for inner in value.values() for text in _texts(inner)]
    items = [value] if isinstance(value, str) else list(value)
    return [translate_message(str(item)) for item in items]


def _placed(
    errors: Mapping[str, Any] | None,
    service_rows: list[int],
    signatory_rows: list[int],
    *,
    schema: bool = False,
) -> dict[str, list[str]]:
    """Field errors (the schema's, or the operation's), those of list items beside their row;
    a field the schema refuses gets the portal's wording for it (`_FIELD_WORDING`)."""
    out: dict[str, list[str]] = {}
    rows_of = {"services": service_rows, "signatories": signatory_rows}
    for name, value in (errors or {}).items():
        if name in _ROW_FIELDS:
            fields, default = _ROW_FIELDS[name]
            rows = rows_of[name]
            if not isinstance(value, Mapping):
                # About the list as a whole (none given, too many): beside its first row.
                texts = _texts(value)
                if schema and name == "services" and not service_rows:
                    texts = [_("Isi minimal satu layanan dan penyedianya.")]
                out.setdefault(f"{default}-0", []).extend(texts)
                continue
            for position, inner in value.items():
                index = int(position)
                row = rows[index] if index < len(rows) else 0
                items = inner.items() if isinstance(inner, Mapping) else [(default, inner)]
                for sub, messages in items:
                    key = f"{fields.get(sub, default)}-{row}"
                    out.setdefault(key, []).extend(_texts(messages))
        elif schema and name in _FIELD_WORDING:
            out.setdefault(name, []).append(_FIELD_WORDING[name]())
        else:
            out.setdefault(name, []).extend(_texts(value))
    return out


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
    organizations = party_choices()
    return render_template(
        "agreements/form.html",
        form=form,
        agreement=agreement,
        conflict=conflict,
        kinds=[(k, label("agreement_kind", k)) for k in KINDS],
        organizations=[(o.id, o.name) for o in organizations],
        services=[(s.code, service_name(s)) for s in service_choices()],
        categories=[(c, label("category", c)) for c in SHAREABLE_CATEGORIES],
        max_hours=ops.MAX_RESPONSE_HOURS,
    ), status


def _adding_rows() -> bool:
    return bool(request.form.get("add_services") or request.form.get("add_signatories"))


def new():
    """Draft a new agreement; the user's organisation is one of its parties."""
    actor = portal_actor()
    if not ops.may_change(actor):
        raise Problem(
            403,
            "forbidden",
            "Only an organisation administrator or a supervisor can change agreements.",
            reason="agreement-writers",
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
    if data is None:
        return _form_page(form, status=422)
    try:
        agreement = ops.create_agreement(actor, data)
    except Problem as problem:
        take_refusal(problem)
        form.errors.update(_placed(problem.errors, service_rows, signatory_rows))
        form.message = problem_message(problem)
        return _form_page(form, status=problem.status if problem.status in (409, 422) else 422)
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


def edit(agreement_id: str):
    """Change a draft nobody has signed; a change made meanwhile by someone else is caught."""
    actor = portal_actor()
    agreement = ops.get_agreement(actor, agreement_id)
    # Refuse before reading the form: a reader must not get the editor, nor a 422 that
    # reads as if only the input were wrong.
    if not ops.may_change(actor, agreement):
        raise _party_staff_only("edit")
    if request.method == "GET":
        return _form_page(FormState(_values_of(agreement)), agreement=agreement)
    form = _content_form()
    if _adding_rows():
        return _form_page(form, agreement=agreement)
    data, service_rows, signatory_rows = _content_data(form)
    if data is None:
        return _form_page(form, agreement=agreement, status=422)
    etag = f'"{form.values["etag"]}"' if form.values["etag"] else None
    try:
        agreement = ops.update_agreement(actor, agreement_id, data, if_match=etag)
    except Problem as problem:
        take_refusal(problem)
        if problem.status in (412, 428):
            # Keep what the user typed; show what is stored now, and take its ETag so that
            # sending again, after looking, is a deliberate overwrite.
            current = ops.get_agreement(actor, agreement_id)
            form.message = _changed_elsewhere()
            form.values["etag"] = ops.etag_of(current)
            return _form_page(form, agreement=current, conflict=current, status=409)
        form.errors.update(_placed(problem.errors, service_rows, signatory_rows))
        form.message = problem_message(problem)
        return _form_page(
            form,
            agreement=agreement,
            status=problem.status if problem.status in (409, 422) else 422,
        )
    flash(_("Draf perjanjian %(number)s disimpan.", number=agreement.number), "success")
    return redirect(url_for(".detail", agreement_id=agreement.id))
