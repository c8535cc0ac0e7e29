"""Sign-in and sign-out pages."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import format_time, format_timedelta
from flask_babel import gettext as _

from referral_hub.accounts.models import LOCALES
from referral_hub.accounts.operations import SignInRefused, set_locale, sign_in
from referral_hub.accounts.session import current_user, login_user, logout_user, user_actor
from referral_hub.audit import operations as audit
from referral_hub.db import utcnow
from referral_hub.extensions import db

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: never an open redirect."""
    if not target:
        return url_for("portal.home")
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(ord(ch) < 32 for ch in target)
    ):
        return url_for("portal.home")
    return target


def render_login(
    *,
    form_error: str | None = None,
    field_errors: dict[str, list[str]] | None = None,
    status: int = 200,
):
    """The sign-in page, with a message for the whole form and errors beside the fields."""
    return (
        render_template(
            "accounts/login.html",
            error=form_error,
            errors=field_errors or {},
            next=request.values.get("next", ""),
            email=request.form.get("email", ""),
        ),
        status,
    )


def _refusal_message(refused: SignInRefused) -> str:
    if refused.locked_until is None:
        return _("E-mail atau kata sandi salah.")
    remaining = max(refused.locked_until - utcnow(), dt.timedelta(minutes=1))
    return _(
        "Akun dikunci sementara karena terlalu banyak percobaan yang gagal. "
        "Coba lagi setelah pukul %(time)s (sekitar %(wait)s lagi), "
        "atau minta admin organisasi Anda membuka kuncinya.",
        time=format_time(refused.locked_until, "HH:mm zzz"),
        wait=format_timedelta(remaining, granularity="minute", threshold=1),
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password."""
    if request.method == "GET":
        if current_user() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_login()
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    missing = {
        name: [_("Wajib diisi.")]
        for name, value in (("email", email.strip()), ("password", password))
        if not value
    }
    if missing:
        return render_login(field_errors=missing, status=422)
    try:
        user = sign_in(email, password)
    except SignInRefused as refused:
        return render_login(
            form_error=_refusal_message(refused),
            status=429 if refused.locked_until else 401,
        )
    chosen = session.get("locale")
    login_user(user)
    if chosen in LOCALES:
        # The language picked before signing in survives the new session and is remembered.
        session["locale"] = chosen
        set_locale(user_actor(user), chosen)
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    """Sign out."""
    user = current_user()
    if user is not None:
        audit.record(user_actor(user), "signout", "user", user.id, {})
        db.session.commit()
    locale = session.get("locale")
    logout_user()
    if locale in LOCALES:
        session["locale"] = locale  # the sign-in page stays in the language just used
    flash(_("Anda telah keluar."), "info")
    return redirect(url_for("accounts.login"))
