"""Portal entry pages: start page, language choice, API documentation, problem types.

Their URLs, and what every page shares, are in `portal/blueprint.py`; this module never
imports it.
"""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, session

from referral_hub.accounts.models import LOCALES
from referral_hub.accounts.operations import set_locale
from referral_hub.accounts.session import current_user
from referral_hub.accounts.views import safe_next
from referral_hub.actors import Actor
from referral_hub.oauth.errors import OAUTH_ERRORS, oauth_problem_slug
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.guide import render_guide
from referral_hub.portal.messages import slug_message
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


@login_required(roles=("org_admin",))
def technical_settings():
    """Pengaturan teknis: the settings only a system integrator needs (API clients, webhooks,
    the API reference), kept off the pages of caseworkers, supervisors and partner staff."""
    return render_template("portal/technical_settings.html")


def api_docs():
    """The developer guide's start page (portal/guide.py), with the OpenAPI description."""
    return render_guide()


def guide_page(page: str):
    """One page of the developer guide, in the portal's language or `?lang=`."""
    return render_guide(page)


def problem_index():
    """Every problem type the hub can answer with, each linking to its page."""
    return render_template("portal/problems.html", titles=problem_titles())


def problem_titles() -> dict[str, str]:
    """Slug -> title of every problem type: the core ones and those features registered."""
    from referral_hub.problems import registered_problem_titles

    return dict(sorted({**PROBLEM_TITLES, **registered_problem_titles()}.items()))


def problem_doc(slug: str):
    """What a problem type means; the `type` URI of API errors points here."""
    titles = problem_titles()
    if slug not in titles:
        abort(404)
    return render_template(
        "portal/problem.html",
        slug=slug,
        title=titles[slug],
        meaning=slug_message(slug, UNNAMED_FIELDS),
        **_oauth_origin(slug),
        base=current_app.config["HUB_BASE_URL"],
    )


class _UnnamedFields(dict):
    """The fields of a problem in general: a message names each as `…`."""

    def __missing__(self, key: str) -> str:
        return "…"


UNNAMED_FIELDS = _UnnamedFields()


def _oauth_origin(slug: str) -> dict[str, str]:
    """An OAuth error's code and the RFC that defines it, for its page."""
    for code, source in OAUTH_ERRORS.items():
        if oauth_problem_slug(code) == slug:
            return {"oauth_code": code, "oauth_source": source}
    return {}
