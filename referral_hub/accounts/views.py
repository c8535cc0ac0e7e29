"""Sign-in and sign-out pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from referral_hub.accounts.operations import SignInRefused, sign_in
from referral_hub.accounts.session import current_user, login_user, logout_user, user_actor
from referral_hub.audit import operations as audit
from referral_hub.extensions import db

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: never an open redirect."""
    if not target:
        return url_for("portal.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("portal.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password."""
    error = None
    status = 200
    if request.method == "POST":
        try:
            user = sign_in(request.form.get("email", ""), request.form.get("password", ""))
        except SignInRefused as refused:
            error = str(refused)
            status = 429 if refused.locked_until else 401
        else:
            login_user(user)
            return redirect(_safe_next(request.form.get("next")))
    return (
        render_template(
            "accounts/login.html",
            error=error,
            next=request.values.get("next", ""),
            email=request.form.get("email", ""),
        ),
        status,
    )


@bp.post("/logout")
def logout():
    """Sign out."""
    user = current_user()
    if user is not None:
        audit.record(user_actor(user), "signout", "user", user.id, {})
        db.session.commit()
    logout_user()
    flash(_("Anda telah keluar."), "info")
    return redirect(url_for("accounts.login"))
