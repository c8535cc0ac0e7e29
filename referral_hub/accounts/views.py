"""Sign-in and sign-out pages."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import format_time, format_timedelta
from flask_babel import gettext as _

from referral_hub.accounts.models import LOCALES
from referral_hub.accounts.operations import SignInHeld, SignInRefused, set_locale, sign_in
from referral_hub.accounts.session import (
    current_user,
    login_user,
    logout_user,
    pending_user,
    start_second_factor,
)
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.clients.crypto import DecryptionError, decrypt, encrypt
from referral_hub.db import utcnow

bp = Blueprint("accounts", __name__)


def safe_next(target: str | None) -> str:
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
    if isinstance(refused, SignInHeld):
        # The same words for every address, with or without an account: nothing here says
        # that an account exists, or that it is locked (it is not: only this source waits).
        remaining = max(refused.held_until - utcnow(), dt.timedelta(minutes=1))
        return _(
            "Terlalu banyak percobaan masuk yang gagal. "
            "Coba lagi setelah pukul %(time)s (sekitar %(wait)s lagi).",
            time=format_time(refused.held_until, "HH:mm zzz"),
            wait=format_timedelta(remaining, granularity="minute", threshold=1),
        )
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
            return redirect(safe_next(request.args.get("next")))
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
        user = sign_in(email, password, address=request.remote_addr)
    except SignInRefused as refused:
        return render_login(form_error=_refusal_message(refused), status=_refused_status(refused))
    chosen = session.get("locale")
    if user.needs_second_factor:
        # Not signed in yet: the session only remembers who passed the password.
        start_second_factor(user)
        if chosen in LOCALES:
            session["locale"] = chosen
        step = "accounts.second_factor" if user.totp_enrolled_at else "accounts.enrol_totp"
        return redirect(url_for(step, next=safe_next(request.form.get("next"))))
    login_user(user)
    if chosen in LOCALES:
        # The language picked before signing in survives the new session and is remembered.
        session["locale"] = chosen
        set_locale(Actor.for_user(user), chosen)
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    """Sign out."""
    user = current_user()
    locale = session.get("locale")
    if user is not None:
        audit.record(Actor.for_user(user), "signout", "user", user.id, {})
        logout_user(user)
    else:
        logout_user()
    if locale in LOCALES:
        session["locale"] = locale  # the sign-in page stays in the language just used
    flash(_("Anda telah keluar."), "info")
    return redirect(url_for("accounts.login"))


def _render_code_page(template: str, *, error: str | None = None, status: int = 200, **context):
    return (
        render_template(template, error=error, next=request.values.get("next", ""), **context),
        status,
    )


def _code_message(refused: SignInRefused) -> str:
    if refused.locked_until is not None:
        return _refusal_message(refused)
    reason = getattr(refused, "reason", "wrong")
    if reason == "reused":
        return _("Kode ini sudah dipakai. Tunggu kode berikutnya dari aplikasi.")
    if reason == "mismatch":
        return _("Kode tidak cocok. Periksa jam ponsel Anda, lalu masukkan kode terbaru.")
    return _("Kode salah. Masukkan kode terbaru dari aplikasi autentikator.")


def _refused_status(refused: SignInRefused) -> int:
    return 429 if isinstance(refused, SignInHeld) or refused.locked_until else 401


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    """The second step of signing in: a code from the authenticator app (or a recovery code)."""
    from referral_hub.accounts.totp import verify_second_factor

    user = pending_user()
    if user is None:
        return redirect(url_for("accounts.login", next=request.values.get("next") or None))
    if user.totp_enrolled_at is None:
        return redirect(url_for("accounts.enrol_totp", next=request.values.get("next") or None))
    if request.method == "GET":
        return _render_code_page("accounts/second_factor.html")
    try:
        verify_second_factor(user, request.form.get("code", ""))
    except SignInRefused as refused:
        return _render_code_page(
            "accounts/second_factor.html",
            error=_code_message(refused),
            status=_refused_status(refused),
        )
    _finish_sign_in(user)
    return redirect(safe_next(request.form.get("next")))


def _open_candidate(sealed: object, user_id: str) -> str | None:
    """The enrolment's candidate secret, kept in the session sealed with the data key (the
    session cookie is signed, not encrypted) and bound to the user; None if absent or not
    this user's."""
    if not isinstance(sealed, str):
        return None
    try:
        return decrypt(sealed, table="session", column="totp_candidate", row_id=user_id)
    except DecryptionError:
        return None


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol_totp():
    """First sign-in of an account that needs a second factor: set up the authenticator app."""
    from referral_hub.accounts.totp import enrol, new_secret, provisioning_uri

    user = pending_user()
    if user is None:
        return redirect(url_for("accounts.login", next=request.values.get("next") or None))
    if user.totp_enrolled_at is not None:
        return redirect(url_for("accounts.second_factor", next=request.values.get("next") or None))
    secret = _open_candidate(session.get("totp_candidate"), user.id)
    if secret is None:
        secret = new_secret()
        session["totp_candidate"] = encrypt(
            secret, table="session", column="totp_candidate", row_id=user.id
        )
    context = {
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "uri": provisioning_uri(user, secret),
    }
    if request.method == "GET":
        return _render_code_page("accounts/totp_enrol.html", **context)
    try:
        codes = enrol(user, secret, request.form.get("code", ""))
    except SignInRefused as refused:
        return _render_code_page(
            "accounts/totp_enrol.html", error=_code_message(refused), status=422, **context
        )
    _finish_sign_in(user)
    return render_template(
        "accounts/recovery_codes.html",
        codes=codes,
        next=safe_next(request.form.get("next")),
    )


def _finish_sign_in(user) -> None:
    chosen = session.get("locale")
    login_user(user)
    if chosen in LOCALES:
        session["locale"] = chosen
        set_locale(Actor.for_user(user), chosen)


def _register_invitation_page() -> None:
    from referral_hub.accounts.invitation_views import invitation

    bp.add_url_rule("/invitations/<token>", "invitation", invitation, methods=["GET", "POST"])


_register_invitation_page()
