"""The page an invitation's link opens: choose a password, then (org_admin, auditor) set up
the authenticator through the first-sign-in enrolment (accounts.views.enrol_totp).

Registered on the accounts blueprint by accounts/views.py. The rules are in
accounts/invitations.py; this module parses, calls and renders.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from referral_hub.accounts import invitations
from referral_hub.accounts.models import SECOND_FACTOR_ROLES
from referral_hub.accounts.operations import MIN_PASSWORD_LENGTH
from referral_hub.accounts.session import login_user, start_second_factor
from referral_hub.portal.code_names import ROLE_LABELS
from referral_hub.portal.forms import read_form
from referral_hub.problems import Problem
from referral_hub.transaction import commit_now, rollback

_REFUSED = {
    "invitation-unknown": lambda: _(
        "Tautan undangan ini tidak dikenal. Periksa apakah tautan tersalin utuh dari surel, "
        "atau minta undangan baru kepada admin yang mengundang Anda."
    ),
    "invitation-expired": lambda: _(
        "Tautan undangan ini sudah kedaluwarsa (berlaku 7 hari). Minta undangan baru kepada "
        "admin yang mengundang Anda."
    ),
    "invitation-used": lambda: _(
        "Tautan undangan ini sudah dipakai. Jika akun itu milik Anda, silakan masuk."
    ),
    "invitation-revoked": lambda: _(
        "Undangan ini sudah dicabut oleh admin. Minta undangan baru bila masih diperlukan."
    ),
}


def _refused(problem: Problem):
    # A refusal of a known link is audited: keep that entry (nothing else was changed).
    commit_now()
    message = _REFUSED.get(problem.slug, _REFUSED["invitation-unknown"])()
    return (
        render_template("accounts/invitation_refused.html", message=message, slug=problem.slug),
        problem.status,
        {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def invitation(token: str):
    """Accept an invitation: the invitee's name and a password of their choice."""
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    try:
        invite = invitations.open_invitation(token)
    except Problem as problem:
        return _refused(problem)
    form = read_form(text=("name", "work_phone"))
    if request.method == "POST":
        password = request.form.get("password") or ""
        form.require("name")
        if not password:
            form.errors.setdefault("password", []).append(_("Wajib diisi."))
        elif password != (request.form.get("password_again") or ""):
            form.errors.setdefault("password_again", []).append(_("Kedua kata sandi tidak sama."))
        if not form.errors:
            try:
                user = invitations.accept_invitation(
                    token,
                    name=str(form.values["name"]),
                    password=password,
                    work_phone=str(form.values["work_phone"]),
                )
            except Problem as problem:
                if problem.status in (404, 410):
                    rollback()
                    return _refused(problem)
                form.refused(problem)
            else:
                if user.needs_second_factor:
                    # Not signed in yet: the authenticator is set up first, as at a first
                    # sign-in (the enrolment page, then the recovery codes).
                    start_second_factor(user)
                    return redirect(url_for("accounts.enrol_totp"))
                login_user(user)
                flash(_("Selamat datang. Akun Anda sudah aktif."), "success")
                return redirect(url_for("portal.home"))
    return (
        render_template(
            "accounts/invitation.html",
            invite=invite,
            form=form,
            role_label=ROLE_LABELS.get(invite.role, invite.role),
            min_password=MIN_PASSWORD_LENGTH,
            second_factor=invite.role in SECOND_FACTOR_ROLES,
        ),
        422 if form.invalid else 200,
        headers,
    )
