"""Error pages of the portal: the same refusals as the API, said in the reader's language."""

from __future__ import annotations

import contextlib
import logging

from flask import Response, redirect, render_template, render_template_string, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from referral_hub.problems import Problem, from_http_exception, problem_response, wants_problem_json

log = logging.getLogger(__name__)

_FALLBACK = """<!doctype html><html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Terjadi kesalahan · Hub Rujukan PPA</title></head><body><main>
<h1>Terjadi kesalahan</h1><p>Permintaan tidak dapat diselesaikan. Coba lagi nanti.</p>
<p>Kode: {{ status }}</p>
<p><a href="/">Ke beranda</a></p></main></body></html>"""


def _titles() -> dict[int, str]:
    return {
        400: _("Permintaan tidak dapat diproses"),
        401: _("Perlu masuk"),
        403: _("Akses ditolak"),
        404: _("Halaman tidak ditemukan"),
        405: _("Cara permintaan tidak diizinkan"),
        409: _("Tidak dapat dilakukan sekarang"),
        413: _("Berkas terlalu besar"),
        422: _("Isian tidak dapat diterima"),
        429: _("Terlalu banyak permintaan"),
        500: _("Terjadi kesalahan pada sistem"),
        503: _("Layanan sedang tidak tersedia"),
    }


def _explanations() -> dict[int, str]:
    return {
        403: _("Akun Anda tidak memiliki akses ke halaman ini."),
        404: _("Halaman atau data yang Anda cari tidak ada, atau bukan milik organisasi Anda."),
        405: _("Halaman ini tidak menerima permintaan seperti itu."),
        413: _("Ukuran berkas melebihi batas yang diizinkan."),
        429: _("Tunggu sebentar, lalu coba lagi."),
        500: _("Permintaan tidak selesai dan tidak ada yang diubah. Coba lagi nanti."),
        503: _("Coba lagi beberapa saat lagi."),
    }


def render_error_page(problem: Problem) -> Response:
    """An HTML page for a refusal or failure; never a trace, never another organisation's data."""
    from referral_hub.portal.messages import precise_problem_message

    status = problem.status
    try:
        if status >= 500:
            _rollback()
        title = _titles().get(status) or _titles()[400 if status < 500 else 500]
        explanation = _explanations().get(status)
        detail = precise_problem_message(problem) if status < 500 else None
        html = render_template(
            "portal/error.html",
            status=status,
            title=title,
            explanation=explanation,
            detail=detail if detail != explanation else None,
            back_url=_back_url(),
        )
    except Exception:  # the page must answer even when the database does not
        log.exception("error page failed to render for status %s", status)
        html = render_template_string(_FALLBACK, status=status)
    response = Response(html, status=status, mimetype="text/html")
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def handle_csrf_error(error: CSRFError) -> Response:
    """A form without a valid token is refused with a page that says what to do next."""
    if wants_problem_json():
        return problem_response(from_http_exception(error))
    from referral_hub.accounts.session import current_user

    log.info("CSRF refusal on %s %s: %s", request.method, request.path, error.description)
    message = _(
        "Formulir ini sudah kedaluwarsa atau tidak sah, jadi tidak dikirim. "
        "Muat ulang halaman, lalu kirim lagi."
    )
    if request.endpoint == "accounts.login":
        from referral_hub.accounts.views import render_login

        return render_login(form_error=message, status=400)
    if current_user() is None and request.endpoint != "portal.set_language":
        # The session ended (idle expiry, sign-out in another tab): sign in again.
        from flask import flash

        flash(_("Sesi Anda telah berakhir. Silakan masuk lagi."), "warning")
        return redirect(url_for("accounts.login", next=_back_path()))
    html = render_template(
        "portal/error.html",
        status=400,
        title=_("Formulir tidak dikirim"),
        explanation=message,
        detail=None,
        back_url=_back_url(),
    )
    return Response(html, status=400, mimetype="text/html")


def _back_path() -> str | None:
    """The same-site page the request came from, if any (never an open redirect)."""
    from urllib.parse import urlsplit

    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def _back_url() -> str:
    if request.method == "GET":
        return _back_path() or url_for("portal.home")
    return _back_path() or request.path


def _rollback() -> None:
    from referral_hub.extensions import db

    with contextlib.suppress(Exception):  # the connection itself may be gone
        db.session.rollback()
