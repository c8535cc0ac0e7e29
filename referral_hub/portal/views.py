"""Portal entry pages: start page, language choice, API documentation, problem types."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from referral_hub.accounts.session import current_user
from referral_hub.accounts.views import _safe_next
from referral_hub.problems import PROBLEM_TITLES

bp = Blueprint("portal", __name__)
LOCALES = ("id", "en")


@bp.get("/")
def home():
    """The start page of a signed-in user, or the sign-in page."""
    user = current_user()
    if user is None:
        return redirect(url_for("accounts.login"))
    return render_template("portal/home.html", user=user)


@bp.post("/language")
def set_language():
    """Switch the portal's language (Indonesian by default)."""
    locale = request.form.get("locale")
    if locale in LOCALES:
        session["locale"] = locale
    return redirect(_safe_next(request.form.get("next")))


@bp.get("/docs")
def api_docs():
    """Human page for the OpenAPI description."""
    return render_template("portal/docs.html", spec_url=url_for("api-docs.openapi_json"))


@bp.get("/problems/<slug>")
def problem_doc(slug: str):
    """What a problem type means; the `type` URI of API errors points here."""
    from referral_hub.problems import registered_problem_titles

    titles = {**PROBLEM_TITLES, **registered_problem_titles()}
    if slug not in titles:
        abort(404)
    return render_template(
        "portal/problem.html",
        slug=slug,
        title=titles[slug],
        base=current_app.config["HUB_BASE_URL"],
    )
