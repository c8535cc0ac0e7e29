"""The client's UU PDP rights in the portal: the printable export (Bahasa Indonesia, A4),
rectification against the record as read (its ETag), and erasure by a supervisor or
administrator after a confirmation that asks for the reason's code. The rules are the API's
(clients/operations/rights.py); these pages only read forms and render."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from referral_hub.clients import operations as ops
from referral_hub.clients.models import ERASURE_REASONS
from referral_hub.clients.schemas import ClientPatchIn
from referral_hub.clients.views import (
    ERASURE_REASON_NAMES,
    UPTD,
    _context,
    bp,
    reader_page,
    schema_errors,
    writer_page,
)
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.forms import read_form
from referral_hub.problems import Problem

eraser_page = login_required(permission="clients:erase", org_types=UPTD)

EDIT_TEXT = (
    "full_name",
    "nik",
    "birth_date",
    "phone",
    "address",
    "guardian_name",
    "guardian_relationship",
    "guardian_phone",
    "etag",
)


@bp.get("/clients/<client_id>/export")
@reader_page
def export(client_id: str):
    """Everything held of the client with its processing history, to print or save as PDF
    and hand to the client (UU PDP Pasal 7 and 32); logged like the API's export."""
    actor = portal_actor()
    data = ops.export_client(actor, client_id, _context("client export"))
    return render_template("clients/export.html", export=data, reasons=ERASURE_REASON_NAMES)


def _values_of(client) -> dict[str, Any]:
    guardian = client.guardian or {}
    return {
        "full_name": client.full_name or "",
        "nik": client.nik or "",
        "birth_date": client.birth_date.isoformat() if client.birth_date else "",
        "phone": client.phone or "",
        "address": client.address or "",
        "guardian_name": guardian.get("name") or "",
        "guardian_relationship": guardian.get("relationship") or "",
        "guardian_phone": guardian.get("phone") or "",
        "guardian_is_alleged_perpetrator": bool(guardian.get("is_alleged_perpetrator")),
        "etag": ops.etag_of(client),
    }


def _changes(form, client) -> dict[str, Any]:
    """What differs from the record as read: only those fields are sent, as the API takes."""
    current = _values_of(client)
    body: dict[str, Any] = {}
    for name in ("full_name", "nik", "birth_date", "phone", "address"):
        if form.values[name] != current[name]:
            body[name] = form.values[name] or None
    guardian_names = (
        "guardian_name",
        "guardian_relationship",
        "guardian_phone",
        "guardian_is_alleged_perpetrator",
    )
    if any(form.values[n] != current[n] for n in guardian_names):
        if form.values["guardian_name"] or form.values["guardian_relationship"]:
            body["guardian"] = {
                "name": form.values["guardian_name"],
                "relationship": form.values["guardian_relationship"],
                "phone": form.values["guardian_phone"] or None,
                "is_alleged_perpetrator": bool(form.values["guardian_is_alleged_perpetrator"]),
            }
        else:
            body["guardian"] = None
    return body


@bp.route("/clients/<client_id>/edit", methods=["GET", "POST"])
@writer_page
def edit(client_id: str):
    """Correct the client's record (UU PDP Pasal 6) against the version shown (its ETag):
    a change made meanwhile by someone else is not overwritten."""
    actor = portal_actor()
    client = ops.read_client(actor, client_id, _context("client correction"))
    if client.is_erased:
        flash(_("Data pribadi telah dihapus"), "error")
        return redirect(url_for("clients_portal.view", client_id=client.id))
    if request.method == "GET":
        form = read_form()
        form.values = _values_of(client)
        return render_template("clients/edit.html", form=form, client=client)
    form = read_form(text=EDIT_TEXT, flags=("guardian_is_alleged_perpetrator",))
    changes = _changes(form, client)
    if not changes:
        flash(_("Tidak ada yang diubah."), "info")
        return redirect(url_for("clients_portal.view", client_id=client.id))
    try:
        data = ClientPatchIn().load(changes)
    except ValidationError as error:
        form.errors.update(schema_errors(error.messages))
        data = None
    if data is not None and not form.errors:
        etag = form.values["etag"]
        try:
            ops.rectify_client(actor, client.id, data, if_match=f'"{etag}"' if etag else None)
        except Problem as problem:
            form.refused(problem)
            if problem.status in (412, 428):
                # Keep what the user typed; take the stored record's ETag so that a second
                # submit, after a look at the current record, goes through.
                form.values["etag"] = ops.etag_of(client)
        else:
            flash(_("Data klien diperbaiki."), "success")
            return redirect(url_for("clients_portal.view", client_id=client.id))
    return render_template("clients/edit.html", form=form, client=client), 422


@bp.route("/clients/<client_id>/erase", methods=["GET", "POST"])
@eraser_page
def erase(client_id: str):
    """Confirm the erasure of the client's personal data, with the reason's code; the page
    shows the client's number only (an administrator erases without reading)."""
    actor = portal_actor()
    client = ops.get_client_of(actor, client_id)
    form = read_form(text=("reason",))
    if request.method == "POST":
        form.require("reason")
        if form.values["reason"] and form.values["reason"] not in ERASURE_REASONS:
            form.errors.setdefault("reason", []).append(_("Pilih salah satu alasan."))
        if not form.errors:
            try:
                ops.erase_client(actor, client.id, form.values["reason"])
            except Problem as problem:
                form.refused(problem)
            else:
                flash(_("Data pribadi klien %(code)s telah dihapus.", code=client.code), "success")
                if ops.may_read_clients(actor):
                    return redirect(url_for("clients_portal.view", client_id=client.id))
                return redirect(url_for("portal.home"))
    return render_template(
        "clients/erase.html",
        form=form,
        client=client,
        reasons=[(code, ERASURE_REASON_NAMES[code]) for code in ERASURE_REASONS],
    ), (422 if form.invalid else 200)
