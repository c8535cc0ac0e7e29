"""Portal entry pages: start page, language choice, API documentation, problem types.

Their URLs, and what every page shares, are in `portal/blueprint.py`; this module never
imports it.
"""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, session, url_for

from referral_hub.accounts.models import LOCALES
from referral_hub.accounts.operations import set_locale
from referral_hub.accounts.session import current_user
from referral_hub.accounts.views import safe_next
from referral_hub.actors import Actor
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.navigation import nav_items, panels_for
from referral_hub.problems import PROBLEM_TITLES


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


def set_language():
    """Switch the portal's language (Indonesian by default); remembered for the account."""
    locale = request.form.get("locale")
    if locale in LOCALES:
        session["locale"] = locale
        user = current_user()
        if user is not None:
            set_locale(Actor.for_user(user), locale)
    return redirect(safe_next(request.form.get("next")))


def api_docs():
    """Human page for the OpenAPI description."""
    return render_template("portal/docs.html", spec_url=url_for("api-docs.openapi_json"))


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
