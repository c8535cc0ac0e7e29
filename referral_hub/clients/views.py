"""Klien: a UPTD PPA's clients in the portal: register, find, read, consent, disclosures.

Every page calls the operations the API calls (referral_hub/clients/operations/) and
parses its form with the API's own schemas, so a rule is checked in one place. Reads of
personal data are logged by those operations; the views commit after them.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from referral_hub.clients import operations as ops
from referral_hub.clients.models import (
    ASSENT_AGE,
    CONSENT_GIVERS,
    CONSENT_METHODS,
    DISABILITIES,
    SEXES,
)
from referral_hub.clients.name_index import search_problem
from referral_hub.clients.schemas import ClientIn, ConsentIn, NikField, WithdrawIn
from referral_hub.db import utcnow
from referral_hub.directory.models import Organization, Service
from referral_hub.extensions import db
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.code_names import label, options, service_name
from referral_hub.portal.forms import FormState, flash_refusal, read_form, schema_errors
from referral_hub.portal.messages import name_search_message
from referral_hub.portal.paging import page_number, paginate_select
from referral_hub.portal.regions import read_region
from referral_hub.portal.templating import CODE_NAMES, MOMENTS, offer_to_templates
from referral_hub.problems import Problem

bp = Blueprint("clients_portal", __name__)


offer_to_templates(bp, globals=CODE_NAMES, filters=MOMENTS)

UPTD = ("uptd_ppa",)
#: Who keeps clients: the roles with the right to read and to change clients (permissions.py:
#: caseworkers and supervisors), of a UPTD PPA.
reader_page = login_required(permission="clients:read", org_types=UPTD)
writer_page = login_required(permission="clients:write", org_types=UPTD)
PAGE_SIZE = 25
#: The reasons an erasure names, as the confirmation page offers them.
ERASURE_REASON_NAMES = {
    "data_subject_request": _l("Permintaan klien sendiri (hak subjek data)"),
    "retention_period_ended": _l("Masa simpan data telah berakhir"),
    "consent_withdrawn": _l("Persetujuan klien dicabut"),
    "unlawful_processing": _l("Data diproses tanpa dasar hukum"),
    "duplicate_record": _l("Klien terdaftar ganda"),
}
#: Categories a consent may name; demographics always goes with a referral and is implied.
CONSENT_CATEGORIES = (
    "identity",
    "contact",
    "guardian",
    "case_summary",
    "health",
    "legal",
    "perpetrator",
)
CHUNK = 64 * 1024


# --- shared helpers -------------------------------------------------------------------------


def _context(what: str) -> str:
    """What a read was for, as the disclosure history shows it (no personal data)."""
    return f"portal {what}"


_REFERRAL_CONTEXT = re.compile(r"^referral:(?P<number>\S+) (?P<what>sent|read|letter)$")


def disclosure_purpose(context: str) -> str:
    """A disclosure's context in words: which page, referral or API call it was for."""
    match = _REFERRAL_CONTEXT.match(context)
    if match:
        what = {
            "sent": _("Rujukan %(number)s dikirim"),
            "read": _("Rujukan %(number)s dibuka"),
            "letter": _("Surat rujukan %(number)s dibuka"),
        }[match["what"]]
        return what % {"number": match["number"]}
    if context.startswith("portal client page"):
        if "consent:" in context:
            return _("Halaman klien: nama pemberi persetujuan")
        return _("Halaman klien")
    if context == "portal client search by name":
        return _("Pencarian klien menurut nama")
    if context == "portal possible matches":
        return _("Pemeriksaan klien yang mungkin sama saat pendaftaran")
    if context == "portal intake matches":
        return _("Pemeriksaan klien yang mungkin sama sebelum menerima aduan")
    if context == "portal referral review":
        return _("Pemeriksaan rujukan sebelum dikirim")
    if context.startswith(("GET ", "POST ")):
        return _("API: %(request)s", request=context.split(" consent:")[0])
    return context


def match_reasons(reasons: list[str]) -> str:
    """Why a client may be the same person, in words ("nama mirip, umur cocok")."""
    words = {
        "nik": _("NIK sama"),
        "name_same": _("nama sama"),
        "name_close": _("nama mirip"),
        "age": _("umur cocok"),
        "region": _("wilayah sama"),
    }
    return ", ".join(words.get(r, r) for r in reasons)


offer_to_templates(
    bp, globals={"match_reasons": match_reasons}, filters={"purpose": disclosure_purpose}
)


def _service_options() -> list[tuple[str, str]]:
    services = db.session.scalars(select(Service).order_by(Service.position, Service.code))
    return [(s.code, service_name(s)) for s in services]


# --- list and search ------------------------------------------------------------------------


@bp.get("/clients")
@reader_page
def index():
    """The unit's clients, newest first: pseudonymous codes only, no personal data."""
    actor = portal_actor()
    page = paginate_select(ops.clients_query(actor), page_number(), PAGE_SIZE)
    return render_template(
        "clients/index.html",
        page=page,
        search=FormState(),
        results=None,
        named=False,
        today=utcnow(),
    )


@bp.post("/clients/search")
@reader_page
def search():
    """Find a client by exact NIK or code, or by a part of the name; what is typed travels in
    the body, never in a URL. Rows that show a name are logged as reads of her identity."""
    actor = portal_actor()
    form = read_form(text=("nik", "code", "name"))
    criteria: dict[str, str] = {}
    if form.values["nik"]:
        try:
            criteria["nik"] = NikField().deserialize(form.values["nik"])
        except ValidationError as error:
            form.errors["nik"] = schema_errors(error.messages, "nik").get("nik", [])
    if form.values["code"]:
        criteria["code"] = str(form.values["code"]).upper()
    if form.values["name"]:
        refused = search_problem(str(form.values["name"]))
        if refused is None:
            criteria["name"] = form.values["name"]
        else:
            form.errors["name"] = [name_search_message(refused)]
    if not criteria and not form.errors:
        form.message = _("Isi nama, NIK atau kode klien.")
    results = None
    if not form.invalid:
        results = list(db.session.scalars(ops.clients_query(actor, **criteria).limit(20)))
        if len(results) == 1:
            return redirect(url_for("clients_portal.view", client_id=results[0].id))
        if "name" in criteria:
            ops.record_name_reads(actor, results, _context("client search by name"))
    page = paginate_select(ops.clients_query(actor), 1, PAGE_SIZE)
    # The NIK typed is not echoed back: the answer page holds no NIK at all.
    form.values["nik"] = ""
    status = 422 if form.invalid else 200
    return render_template(
        "clients/index.html",
        page=page,
        search=form,
        results=results,
        named="name" in criteria,
        today=utcnow(),
    ), status


# --- registration ---------------------------------------------------------------------------

#: The client's own fields, sent to the API as they are named.
CLIENT_FIELDS = (
    "full_name",
    "nik",
    "birth_date",
    "sex",
    "phone",
    "address",
    "domicile_region",
    "simfoni_id",
)
CLIENT_TEXT = (*CLIENT_FIELDS, "guardian_name", "guardian_relationship", "guardian_phone")


def _client_payload(form: FormState) -> dict[str, Any]:
    """The API's body from the form: empty optional fields are left out, as a client would."""
    values = form.values
    body: dict[str, Any] = {key: values[key] for key in CLIENT_FIELDS if values.get(key)}
    body["disability"] = list(values.get("disability") or [])
    guardian = {
        "name": values.get("guardian_name"),
        "relationship": values.get("guardian_relationship"),
        "phone": values.get("guardian_phone"),
    }
    if any(guardian.values()) or values.get("guardian_is_alleged_perpetrator"):
        body["guardian"] = {k: v for k, v in guardian.items() if v}
        body["guardian"]["is_alleged_perpetrator"] = bool(
            values.get("guardian_is_alleged_perpetrator")
        )
    return body


@bp.route("/clients/new", methods=["GET", "POST"])
@writer_page
def new():
    """Register a client of the unit; personal fields are encrypted at rest."""
    actor = portal_actor()
    form = read_form(
        text=CLIENT_TEXT,
        lists=("disability",),
        flags=("guardian_is_alleged_perpetrator", "register_new"),
    )
    existing = None
    matches: list[ops.Match] = []
    if request.method == "GET":
        own = db.session.get(Organization, actor.organization_id)
        form.values["domicile_region"] = own.region_code if own else ""
    else:
        form.require("full_name", "birth_date", "sex", "domicile_region")
        read_region(form.values, form.errors, "domicile_region", levels=(2, 3))
        try:
            data = ClientIn().load(_client_payload(form))
        except ValidationError as error:
            for name, texts in schema_errors(error.messages).items():
                form.errors.setdefault(name, texts)
            data = None
        if data is not None and not form.errors and not form.values["register_new"]:
            # Before creating: the unit's clients who may be this person, for a person to
            # choose "the same person" (go to her) or "register new" (send again).
            matches = ops.possible_matches(
                actor,
                nik=data.get("nik"),
                full_name=data["full_name"],
                birth_date=data["birth_date"],
                region_code=data["domicile_region"],
            )
            matches = [m for m in matches if "nik" not in m.reasons]  # the 409 says those
            ops.record_name_reads(actor, [m.client for m in matches], _context("possible matches"))
        if data is not None and not form.errors and not matches:
            try:
                client = ops.register_client(actor, **data)
            except Problem as problem:
                form.refused(problem)
                if problem.slug == ops.CLIENT_ALREADY_REGISTERED:
                    existing = problem.extra.get("client")
                    form.errors.setdefault("nik", []).append(
                        _("NIK ini sudah terdaftar sebagai klien lain di unit Anda.")
                    )
            else:
                flash(_("Klien %(code)s terdaftar.", code=client.code), "success")
                return redirect(url_for("clients_portal.view", client_id=client.id))
    return render_template(
        "clients/new.html",
        form=form,
        existing=existing,
        matches=matches,
        sexes=options("sex", SEXES),
        disabilities=options("disability", DISABILITIES),
    ), (422 if form.invalid else 200)


# --- one client -----------------------------------------------------------------------------


def _client_referrals(actor, client_id: str) -> list[Any]:
    from referral_hub.referrals import operations as referrals
    from referral_hub.referrals.models import Referral

    query = referrals.referrals_query(actor, "sent").where(Referral.client_id == client_id)
    return [referrals.referral_summary(actor, r) for r in db.session.scalars(query.limit(50))]


@bp.get("/clients/<client_id>")
@reader_page
def view(client_id: str):
    """One client in full, for its own unit; this read is logged as a disclosure."""
    actor = portal_actor()
    client = ops.read_client(actor, client_id, _context("client page"))
    consents = list(db.session.scalars(ops.consents_query(actor, client.id)))
    ops.record_consent_reads(actor, consents, _context("client page"))
    return render_template(
        "clients/view.html",
        client=client,
        consents=consents,
        assent_blocks={
            c.id for c in consents if c.status() == "active" and ops.assent_blocks_sharing(c)
        },
        assent_age=ASSENT_AGE,
        referrals=_client_referrals(actor, client.id),
        now=utcnow(),
        erasure_reasons=ERASURE_REASON_NAMES,
    )


# --- consent --------------------------------------------------------------------------------

CONSENT_TEXT = (
    "given_by",
    "giver_name",
    "giver_relationship",
    "child_assent",
    "child_assent_refusal_reason",
    "method",
    "valid_until",
)

#: What an uploaded consent form may be, by its first bytes (the name and the browser's
#: type are the sender's word only): a scan or photo of the signed form, or, for consent
#: given on a recording, the recording.
EVIDENCE_KINDS: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "pdf"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"ID3", 0, "mp3"),
    (b"\xff\xfb", 0, "mp3"),
    (b"ftyp", 4, "m4a"),
    (b"OggS", 0, "ogg"),
    (b"WAVE", 8, "wav"),
)


def _recipient_choices(actor) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Partners the unit has an agreement with first; every other organisation after."""
    from referral_hub.agreements.operations import covering_agreements_for

    partners: dict[str, Organization] = {}
    for item in covering_agreements_for(actor.organization_id):
        partners.setdefault(item.provider.id, item.provider)
    others = db.session.scalars(
        select(Organization)
        .where(
            Organization.id != actor.organization_id,
            Organization.type != "hub_operator",
            Organization.id.not_in(list(partners)),
        )
        .order_by(Organization.name)
    )
    ordered = sorted(partners.values(), key=lambda o: o.name)
    return [(o.id, o.name) for o in ordered], [(o.id, o.name) for o in others]


def _evidence_digest(upload: FileStorage | None) -> tuple[str | None, str | None]:
    """SHA-256 of the uploaded signed form, read in chunks and never kept: (digest, error).

    The hub keeps the digest only, not the file: a signed consent form names the child, the
    guardian and their signatures, and the unit keeps the original in its own archive; the
    digest proves later that the archived copy is the one this consent rests on.
    """
    if upload is None or not upload.filename:
        return None, _("Unggah formulir persetujuan yang sudah ditandatangani.")
    digest = hashlib.sha256()
    size = 0
    head = b""
    for chunk in iter(lambda: upload.stream.read(CHUNK), b""):
        if len(head) < 16:
            head += chunk[:16]
        digest.update(chunk)
        size += len(chunk)
    upload.close()
    if size == 0:
        return None, _("Berkas kosong; pilih pindaian formulir yang benar.")
    if not any(head[at : at + len(magic)] == magic for magic, at, _kind in EVIDENCE_KINDS):
        return None, _(
            "Berkas ini bukan PDF, JPG atau PNG. Pindai atau foto formulir bertanda tangan, "
            "lalu unggah hasilnya."
        )
    return digest.hexdigest(), None


def _consent_payload(form: FormState, client) -> dict[str, Any]:
    values = form.values
    body: dict[str, Any] = {
        "given_by": values["given_by"] or None,
        "giver_is_alleged_perpetrator": bool(values["giver_is_alleged_perpetrator"]),
        "giver_cleared_by_supervisor": bool(values["giver_cleared_by_supervisor"]),
        "recipients": list(values["recipients"]),
        "services": list(values["services"]),
        "data_categories": list(values["data_categories"]),
        "method": values["method"] or None,
        "evidence_sha256": values.get("evidence_sha256") or None,
        "valid_until": values["valid_until"] or None,
    }
    if values["given_by"] != "client":
        body["giver_name"] = values["giver_name"] or None
        body["giver_relationship"] = values["giver_relationship"] or None
    if values["child_assent"] in ("yes", "no"):
        body["child_assent"] = values["child_assent"] == "yes"
    body["child_assent_refusal_reason"] = values["child_assent_refusal_reason"] or None
    return {k: v for k, v in body.items() if v is not None}


@bp.route("/clients/<client_id>/consents/new", methods=["GET", "POST"])
@writer_page
def consent_new(client_id: str):
    """Record consent: who gave it, to whom, for what, how, until when, with its evidence."""
    actor = portal_actor()
    client = ops.get_client_of(actor, client_id)
    try:
        ops.require_not_erased(client)
    except Problem as problem:  # an erased client takes no consent any more
        flash_refusal(problem)
        return redirect(url_for("clients_portal.view", client_id=client_id))
    is_child = client.is_child()
    form = read_form(
        text=CONSENT_TEXT,
        lists=("recipients", "services", "data_categories"),
        flags=("giver_is_alleged_perpetrator", "giver_cleared_by_supervisor"),
    )
    # Opened from the referral wizard (?service=..&to=..): the referral's recipient and service
    # are chosen already, and the wizard resumes with the new consent when it is recorded.
    resume = _wizard_resume(actor)
    if request.method == "GET":
        form.values["given_by"] = "parent" if is_child else "client"
        form.values["method"] = "written"
        form.values["data_categories"] = ["identity", "case_summary"]
        if resume:
            form.values["recipients"] = [resume["to"]]
            form.values["services"] = [resume["service"]]
    else:
        digest, error = _evidence_digest(request.files.get("evidence_file"))
        if error:
            form.errors["evidence_file"] = [error]
        else:
            form.values["evidence_sha256"] = digest
        form.require("given_by", "method", "valid_until")
        for name in ("recipients", "services", "data_categories"):
            if not form.values[name]:
                form.errors.setdefault(name, []).append(_("Pilih minimal satu."))
        if is_child and form.values["child_assent"] not in ("yes", "no"):
            form.errors.setdefault("child_assent", []).append(
                _("Catat apakah anak menyetujui (ya atau tidak).")
            )
        data = None
        try:
            data = ConsentIn().load(_consent_payload(form, client))
        except ValidationError as error:
            for name, texts in schema_errors(error.messages).items():
                if name == "evidence_sha256":
                    name = "evidence_file"  # the digest is the hub's, made from the upload
                form.errors.setdefault(name, texts)
        if data is not None and not form.errors:
            try:
                consent = ops.record_consent(actor, client, **data)
            except Problem as problem:
                form.refused(problem)
            else:
                flash(_("Persetujuan dicatat."), "success")
                if resume:
                    return redirect(
                        url_for(
                            "referrals_portal.new",
                            client=client.id,
                            service=resume["service"],
                            to=resume["to"],
                            basis="consent",
                            consent=consent.id,
                            step="categories",
                        )
                    )
                return redirect(
                    url_for("clients_portal.view", client_id=client.id, _anchor=consent.id)
                )
    partners, others = _recipient_choices(actor)
    return render_template(
        "clients/consent_new.html",
        client=client,
        is_child=is_child,
        guardian_is_perpetrator=ops.guardian_is_alleged_perpetrator(client),
        is_supervisor=actor.role == "supervisor",
        assent_age=ASSENT_AGE,
        form=form,
        givers=options("giver", [g for g in CONSENT_GIVERS if not (is_child and g == "client")]),
        methods=options("method", CONSENT_METHODS),
        categories=[
            (c, f"{label('category', c)} ({label('category_help', c)})") for c in CONSENT_CATEGORIES
        ],
        partners=partners,
        others=others,
        services=_service_options(),
        resume=resume,
    ), (422 if form.invalid else 200)


def _wizard_resume(actor) -> dict[str, str] | None:
    """The referral the consent is recorded for, when the wizard sent the user here: its
    service code and recipient organisation id, both known to the hub, or None."""
    service = request.values.get("service") or ""
    to = request.values.get("to") or ""
    if not service or not to:
        return None
    if db.session.get(Service, service) is None or db.session.get(Organization, to) is None:
        return None
    return {"service": service, "to": to}


def _consent_of_client(actor, client_id: str, consent_id: str):
    consent = ops.get_consent_of(actor, consent_id)
    if consent.client_id != client_id:
        raise Problem(404, "not-found", f"No consent '{consent_id}'.", reason="no-consent")
    return consent


def _open_referrals_on(actor, consent) -> list[Any]:
    from referral_hub.referrals import operations as referrals
    from referral_hub.referrals.lifecycle import OPEN_STATUSES
    from referral_hub.referrals.models import Referral

    query = referrals.referrals_query(actor, "sent").where(
        Referral.consent_id == consent.id, Referral.status.in_(OPEN_STATUSES)
    )
    return [referrals.referral_summary(actor, r) for r in db.session.scalars(query)]


@bp.route("/clients/<client_id>/consents/<consent_id>/withdraw", methods=["GET", "POST"])
@writer_page
def consent_withdraw(client_id: str, consent_id: str):
    """Withdraw a consent: a reason, then a confirmation that says what will happen."""
    actor = portal_actor()
    consent = _consent_of_client(actor, client_id, consent_id)
    try:
        ops.require_not_erased(consent.client)
    except Problem as problem:  # an erased client takes no consent any more
        flash_refusal(problem)
        return redirect(url_for("clients_portal.view", client_id=client_id))
    form = read_form(text=("reason",), flags=("confirmed",))
    confirming = False
    if request.method == "POST":
        form.require("reason")
        try:
            data = WithdrawIn().load({"reason": form.values["reason"]})
        except ValidationError as error:
            for name, texts in schema_errors(error.messages).items():
                form.errors.setdefault(name, texts)
            data = None
        if data is not None and not form.values["confirmed"]:
            confirming = True
        elif data is not None:
            try:
                ops.withdraw_consent(actor, consent.id, data["reason"])
            except Problem as problem:
                form.refused(problem)
            else:
                flash(
                    _("Persetujuan dicabut. Penerima tidak lagi melihat data pribadi klien."),
                    "success",
                )
                return redirect(url_for("clients_portal.view", client_id=client_id))
    return render_template(
        "clients/consent_withdraw.html",
        consent=consent,
        client=consent.client,
        form=form,
        confirming=confirming,
        open_referrals=_open_referrals_on(actor, consent),
    ), (422 if form.invalid else 200)


# --- disclosures ----------------------------------------------------------------------------


@bp.get("/clients/<client_id>/disclosures")
@reader_page
def disclosures(client_id: str):
    """Who saw or received what of the client's personal data, and when (UU PDP Pasal 32)."""
    actor = portal_actor()
    client = ops.get_client_of(actor, client_id)
    page = paginate_select(ops.disclosures_query(actor, client.id), page_number(), 50)
    return render_template("clients/disclosures.html", client=client, page=page)
