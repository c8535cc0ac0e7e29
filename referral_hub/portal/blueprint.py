"""The portal's own blueprint (`portal.*`): its URL rules, and what every page shares.

The pages are in `portal.views` (start page, language, API documentation, problem types),
`accounts.users_views` (Pengguna), `oauth.portal_views` (Klien OAuth) and `audit.views`
(Log audit): each feature's pages live with the feature. This module imports them and they
never import it, as indico's `rb/blueprint.py` does, so every URL of the blueprint is read
here in one place; who may open a page is kept on the view itself (`login_required`).

Also here, for every page of every blueprint: the template helpers (menu, links that appear
only when their page exists, dates in the hub's time zone), the CSRF refusal page, and
`Cache-Control: no-store` on every page of a signed-in user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, session
from flask_babel import format_timedelta
from flask_wtf.csrf import CSRFError

from referral_hub.accounts import users_views
from referral_hub.accounts.session import current_user
from referral_hub.audit import views as audit_views
from referral_hub.db import utcnow
from referral_hub.directory import views as directory_views
from referral_hub.oauth import portal_views as oauth_views
from referral_hub.portal import views
from referral_hub.portal.code_names import role_label
from referral_hub.portal.errors import handle_csrf_error
from referral_hub.portal.navigation import endpoint_exists, nav_items, nav_link
from referral_hub.portal.paging import page_url
from referral_hub.portal.regions import region_hint, region_label, region_options
from referral_hub.portal.templating import MOMENTS, email_breaks, offer_to_templates

bp = Blueprint("portal", __name__)


def _ago(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return format_timedelta(utcnow() - value, granularity="minute", add_direction=True)


offer_to_templates(
    bp,
    globals={
        "nav_items": nav_items,
        "nav_link": nav_link,
        "endpoint_exists": endpoint_exists,
        "role_label": role_label,
        "portal_user": current_user,
        "page_url": page_url,
        "region_options": region_options,
        "region_hint": region_hint,
    },
    # A region code as a person reads it: "Kota Balikpapan (64.71)".
    filters={**MOMENTS, "ago": _ago, "region": region_label, "email": email_breaks},
)
bp.app_errorhandler(CSRFError)(handle_csrf_error)


@bp.after_app_request
def _no_store_for_signed_in(response: Response) -> Response:
    """Pages of a signed-in user hold personal data: no copy in caches or the back button."""
    if session.get("user_id") and response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


GET, POST, BOTH = ("GET",), ("POST",), ("GET", "POST")
USER = "/users/<user_id>"
CLIENT = "/oauth-clients/<client_id>"
ORG = "/organizations/<id_or_code>"
RULES: tuple[tuple[str, str, Callable[..., Any], tuple[str, ...]], ...] = (
    # Entry pages.
    ("/", "home", views.home, GET),
    ("/language", "set_language", views.set_language, POST),
    ("/docs", "api_docs", views.api_docs, GET),
    ("/docs/<page>", "guide_page", views.guide_page, GET),
    ("/problems", "problem_index", views.problem_index, GET),
    ("/settings/technical", "technical_settings", views.technical_settings, GET),
    ("/problems/<slug>", "problem_doc", views.problem_doc, GET),
    # Pengguna: an organisation administrator's accounts.
    ("/users", "users", users_views.users, GET),
    ("/users/new", "user_new", users_views.user_new, BOTH),
    (f"{USER}/work-phone", "user_work_phone", users_views.user_work_phone, POST),
    (f"{USER}/deactivate", "user_deactivate", users_views.user_deactivate, POST),
    (f"{USER}/reactivate", "user_reactivate", users_views.user_reactivate, POST),
    (f"{USER}/unlock", "user_unlock", users_views.user_unlock, POST),
    (
        f"{USER}/reset-second-factor",
        "user_reset_second_factor",
        users_views.user_reset_second_factor,
        POST,
    ),
    # Klien OAuth: the organisation's partner-system clients.
    ("/oauth-clients", "oauth_clients", oauth_views.oauth_clients, GET),
    ("/oauth-clients/new", "oauth_client_new", oauth_views.oauth_client_new, BOTH),
    (f"{CLIENT}/disable", "oauth_client_disable", oauth_views.oauth_client_disable, POST),
    (
        f"{CLIENT}/rotate-secret",
        "oauth_client_rotate_secret",
        oauth_views.oauth_client_rotate_secret,
        POST,
    ),
    # Mitra: partners added and kept in the hub, and invitations.
    ("/organizations", "organizations", directory_views.organizations, GET),
    ("/organizations/new", "organization_new", directory_views.organization_new, BOTH),
    (ORG, "organization", directory_views.organization, GET),
    (f"{ORG}/edit", "organization_edit", directory_views.organization_edit, POST),
    (f"{ORG}/invitations", "organization_invite", directory_views.organization_invite, POST),
    (
        f"{ORG}/invitations/<invitation_id>/revoke",
        "organization_invitation_revoke",
        directory_views.organization_invitation_revoke,
        POST,
    ),
    # Log audit.
    ("/audit", "audit_log", audit_views.audit_log, GET),
    ("/audit/verify", "audit_verify", audit_views.audit_verify, GET),
)

for _rule, _endpoint, _view, _methods in RULES:
    bp.add_url_rule(_rule, _endpoint, _view, methods=list(_methods))
