"""Portal entry pages: start page, language choice, API documentation, problem types.

Also what every page shares: template helpers (menu, links that appear only when
their page exists, dates in the hub's time zone), the CSRF refusal page, and
`Cache-Control: no-store` on every page of a signed-in user.
"""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime, format_timedelta
from flask_wtf.csrf import CSRFError

from referral_hub.accounts.models import LOCALES
from referral_hub.accounts.operations import set_locale
from referral_hub.accounts.session import current_user, user_actor
from referral_hub.accounts.views import safe_next
from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.code_names import role_label
from referral_hub.portal.errors import handle_csrf_error
from referral_hub.portal.navigation import endpoint_exists, nav_items, nav_link, panels_for
from referral_hub.portal.paging import page_url
from referral_hub.problems import PROBLEM_TITLES

bp = Blueprint("portal", __name__)


def _datetime(value: dt.datetime | None, format: str = "medium") -> str:
    """A moment in the hub's time zone and the reader's language ('' for none)."""
    if value is None:
        return ""
    return format_datetime(value, format)


def _ago(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return format_timedelta(utcnow() - value, granularity="minute", add_direction=True)


# Globals, not a context processor, so that imported macro files see them too.
for _name, _helper in (
    ("nav_items", nav_items),
    ("nav_link", nav_link),
    ("endpoint_exists", endpoint_exists),
    ("role_label", role_label),
    ("portal_user", current_user),
    ("page_url", page_url),
):
    bp.add_app_template_global(_helper, _name)
bp.add_app_template_filter(_datetime, "datetime")
bp.add_app_template_filter(_ago, "ago")
bp.app_errorhandler(CSRFError)(handle_csrf_error)


@bp.after_app_request
def _no_store_for_signed_in(response: Response) -> Response:
    """Pages of a signed-in user hold personal data: no copy in caches or the back button."""
    if session.get("user_id") and response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
@login_required
def home():
    """The start page: the user's organisation and role, their pages, and feature panels."""
    user = current_user()
    actor = portal_actor()
    return render_template(
        "portal/home.html",
        user=user,
        panels=panels_for(user, actor),
        shortcuts=[item for item in nav_items(user) if item["endpoint"] != "portal.home"],
    )


@bp.post("/language")
def set_language():
    """Switch the portal's language (Indonesian by default); remembered for the account."""
    locale = request.form.get("locale")
    if locale in LOCALES:
        session["locale"] = locale
        user = current_user()
        if user is not None:
            set_locale(user_actor(user), locale)
            db.session.commit()
    return redirect(safe_next(request.form.get("next")))


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


# The administration pages add their routes to this blueprint.
from referral_hub.portal import audit_log, oauth_clients, users  # noqa: E402, F401
