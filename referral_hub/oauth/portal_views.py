"""Klien OAuth: an organisation administrator registers partner-system clients, gives them a
new secret, and disables them.

Pages of the portal's blueprint (`portal.oauth_clients`, ...): their URLs are in
`portal/blueprint.py`, which imports this module; this module never imports it. The OAuth
endpoints themselves (authorize, token) are in `oauth/views.py`.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from referral_hub.oauth import operations as oauth
from referral_hub.oauth.scopes import SCOPES
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.forms import flash_refusal, read_form
from referral_hub.problems import Problem

ADMINS = ("org_admin",)

#: What each scope allows, in the portal's languages (oauth.scopes has the API's English).
SCOPE_LABELS = {
    "directory:read": _l("Membaca direktori organisasi dan layanan"),
    "agreements:read": _l("Membaca perjanjian yang diikuti organisasi Anda"),
    "agreements:write": _l("Menyusun, menandatangani, menangguhkan, memperpanjang, mengakhiri"),
    "clients:read": _l("Membaca klien dan persetujuan organisasi Anda"),
    "clients:write": _l("Mendaftarkan klien, mencatat atau mencabut persetujuan"),
    "clients:erase": _l("Menghapus data pribadi klien (UU PDP)"),
    "referrals:read": _l("Membaca rujukan keluar dan masuk"),
    "referrals:write": _l("Mengirim dan membatalkan rujukan"),
    "referrals:respond": _l("Menerima, menolak, menjalankan, dan menyelesaikan rujukan masuk"),
    "events:read": _l("Membaca umpan peristiwa"),
    "webhooks:write": _l("Mengelola langganan webhook"),
    "audit:read": _l("Membaca log audit"),
}

#: The grants an administrator chooses; refresh_token comes with authorization_code.
GRANT_LABELS = {
    "client_credentials": _l("client_credentials: sistem mitra bertindak atas nama organisasi"),
    "authorization_code": _l(
        "authorization_code (PKCE): aplikasi bertindak atas nama pengguna yang masuk"
    ),
}


def _scopes():
    return [(code, SCOPE_LABELS.get(code, SCOPES[code])) for code in SCOPES]


@login_required(roles=ADMINS)
def oauth_clients():
    """The organisation's OAuth clients."""
    return render_template("portal/oauth_clients.html", clients=oauth.list_clients(portal_actor()))


@login_required(roles=ADMINS)
def oauth_client_new():
    """Register a client; its secret is shown once, on the page that answers this form."""
    form = read_form(
        text=("name", "redirect_uris"), lists=("scope", "grant_types"), flags=("public",)
    )
    if request.method == "GET":
        form.values["grant_types"] = ["client_credentials"]
    else:
        form.require("name")
        if not form.values["grant_types"]:
            form.errors.setdefault("grant_types", []).append(_("Pilih minimal satu grant."))
        if not form.errors:
            actor = portal_actor()
            uris = [line.strip() for line in str(form.values["redirect_uris"]).splitlines()]
            try:
                client, secret = oauth.create_client(
                    actor,
                    organization=actor.organization_id or "",
                    name=str(form.values["name"]),
                    scope=" ".join(form.values["scope"]),  # type: ignore[arg-type]
                    grant_types=list(form.values["grant_types"]),  # type: ignore[call-overload]
                    redirect_uris=[uri for uri in uris if uri],
                    public=bool(form.values["public"]),
                )
            except Problem as problem:
                form.refused(problem)
            else:
                return (
                    render_template(
                        "portal/oauth_client_created.html", client=client, secret=secret
                    ),
                    201,
                )
    return (
        render_template(
            "portal/oauth_client_new.html",
            form=form,
            scopes=_scopes(),
            grants=list(GRANT_LABELS.items()),
        ),
        422 if form.invalid else 200,
    )


@login_required(roles=ADMINS)
def oauth_client_disable(client_id: str):
    """Disable a client, after a confirmation step: its secret and tokens stop at once."""
    if request.form.get("confirmed") != "1":
        return _confirm("disable", oauth.managed_client(portal_actor(), client_id))
    try:
        client = oauth.disable_client(portal_actor(), client_id)
    except Problem as problem:
        flash_refusal(problem)
    else:
        flash(_("Klien %(name)s dinonaktifkan.", name=client.name), "success")
    return redirect(url_for("portal.oauth_clients"))


@login_required(roles=ADMINS)
def oauth_client_rotate_secret(client_id: str):
    """A new secret, shown once, after a confirmation step: the old one and the tokens
    obtained with it stop at once."""
    if request.form.get("confirmed") != "1":
        try:
            client = oauth.secret_rotatable(portal_actor(), client_id)
        except Problem as problem:
            flash_refusal(problem)
            return redirect(url_for("portal.oauth_clients"))
        return _confirm("rotate", client)
    try:
        client, secret = oauth.rotate_client_secret(portal_actor(), client_id)
    except Problem as problem:
        flash_refusal(problem)
        return redirect(url_for("portal.oauth_clients"))
    return render_template(
        "portal/oauth_client_created.html", client=client, secret=secret, rotated=True
    )


def _confirm(action: str, client):
    """Ask once more before a change that stops a partner's system at once."""
    return render_template("portal/oauth_client_confirm.html", action=action, client=client)
