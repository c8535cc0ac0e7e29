"""Pengguna: an organisation administrator's accounts page.

Pages of the portal's blueprint (`portal.users`, ...): their URLs are in
`portal/blueprint.py`, which imports this module; this module never imports it.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from referral_hub.accounts import operations as accounts
from referral_hub.accounts.models import ROLES
from referral_hub.accounts.session import current_user
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.code_names import ROLE_LABELS
from referral_hub.portal.forms import flash_refusal, read_form, take_refusal
from referral_hub.portal.messages import translate_errors
from referral_hub.problems import Problem

ADMINS = ("org_admin",)


@login_required(roles=ADMINS)
def users():
    """The accounts of the administrator's organisation."""
    actor = portal_actor()
    listed = accounts.list_users(actor)
    return render_template(
        "portal/users.html",
        users=listed,
        holds=accounts.sign_in_holds(actor, listed),
        me=current_user(),
    )


@login_required(roles=ADMINS)
def user_new():
    """Create an account in the administrator's organisation, with a first password."""
    form = read_form(text=("name", "email", "role", "work_phone"))
    if request.method == "GET":
        form.values["role"] = "caseworker"
    else:
        password = request.form.get("password") or ""
        form.require("name", "email", "role")
        if not password:
            form.errors.setdefault("password", []).append(_("Wajib diisi."))
        if not form.errors:
            actor = portal_actor()
            try:
                user = accounts.create_user(
                    actor,
                    organization=actor.organization_id or "",
                    email=str(form.values["email"]),
                    role=str(form.values["role"]),
                    password=password,
                    name=str(form.values["name"]),
                    work_phone=str(form.values["work_phone"]),
                )
            except Problem as problem:
                form.refused(problem)
            else:
                flash(_("Akun %(email)s dibuat.", email=user.email), "success")
                return redirect(url_for("portal.users"))
    return (
        render_template(
            "portal/user_new.html",
            form=form,
            roles=[(role, ROLE_LABELS[role]) for role in ROLES],
            min_password=accounts.MIN_PASSWORD_LENGTH,
        ),
        422 if form.invalid else 200,
    )


def _act(operation, done_message: str, user_id: str):
    try:
        user = operation(portal_actor(), user_id)
    except Problem as problem:
        flash_refusal(problem)
    else:
        flash(done_message % {"email": user.email}, "success")
    return redirect(url_for("portal.users"))


@login_required(roles=ADMINS)
def user_work_phone(user_id: str):
    """Set or clear a person's work phone (the referral contact partners call)."""
    try:
        user = accounts.set_work_phone(
            portal_actor(), user_id, (request.form.get("work_phone") or "").strip()
        )
    except Problem as problem:
        if problem.status == 422 and problem.errors:
            # Said above the list: the field's own words, there being no field beside them.
            take_refusal(problem)
            flash(" ".join(translate_errors(problem.errors).get("work_phone", [])), "error")
        else:
            flash_refusal(problem)
    else:
        if user.work_phone:
            flash(
                _("Telepon kantor %(email)s: %(phone)s.", email=user.email, phone=user.work_phone),
                "success",
            )
        else:
            flash(_("Telepon kantor %(email)s dihapus.", email=user.email), "success")
    return redirect(url_for("portal.users") + f"#user-{user_id}")


@login_required(roles=ADMINS)
def user_deactivate(user_id: str):
    """Stop an account from signing in."""
    return _act(accounts.deactivate_user, _("Akun %(email)s dinonaktifkan."), user_id)


@login_required(roles=ADMINS)
def user_reactivate(user_id: str):
    """Let a deactivated account sign in again."""
    return _act(accounts.reactivate_user, _("Akun %(email)s diaktifkan kembali."), user_id)


@login_required(roles=ADMINS)
def user_unlock(user_id: str):
    """Lift the holds on failed sign-ins (and a second-factor lock) of one person."""
    return _act(accounts.unlock_user, _("Penahanan masuk %(email)s dicabut."), user_id)


@login_required(roles=ADMINS)
def user_reset_second_factor(user_id: str):
    """Forget a user's authenticator and recovery codes, after a confirmation step."""
    if request.form.get("confirmed") != "1":
        try:
            user = accounts.second_factor_resettable(portal_actor(), user_id)
        except Problem as problem:
            flash_refusal(problem)
            return redirect(url_for("portal.users"))
        return render_template("portal/user_reset_second_factor.html", target=user)
    return _act(
        accounts.reset_second_factor,
        _(
            "Faktor kedua %(email)s diatur ulang. Saat masuk berikutnya, pemilik akun "
            "mendaftarkan aplikasi autentikator baru."
        ),
        user_id,
    )
