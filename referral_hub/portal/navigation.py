"""The portal's menu and start-page panels, which feature pages join by endpoint name.

An entry shows only when its endpoint is registered, the user passes the endpoint's
`login_required` rule, and the entry's own audience test. So a feature adds its pages
and they appear in the menu, in the place this table gives them, with no edit here.

Endpoint names the menu expects (a feature that names its page differently calls
`register_nav_entry` with its own name and the same label):

    portal.home                 Beranda          everyone
    clients_portal.index        Klien            UPTD staff who keep clients
    referrals_portal.sent       Rujukan keluar   UPTD staff who send referrals
    referrals_portal.approvals  Menunggu persetujuan  UPTD supervisors (with the count)
    referrals_portal.received   Rujukan masuk    staff who answer referrals, of any
                                                 organisation that receives them
    agreements_portal.index     Perjanjian       who may read the registry (the page's rule)
    agreements_portal.coverage  Cakupan          who may read the registry (the page's rule)
    portal.audit_log            Log audit        everyone who reads the audit log
    portal.organizations        Mitra            org admins (directory:write)
    portal.users                Pengguna         org admins
    portal.oauth_clients        Klien OAuth      org admins
    delivery_portal.webhooks    Webhook          everyone who manages webhooks

Who holds which right is decided by role in referral_hub/permissions.py, the rule that also
bounds the API's tokens acting for users; the audiences below ask it, never a role list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from referral_hub.accounts.models import User
from referral_hub.accounts.session import current_user
from referral_hub.permissions import holders, role_permits
from referral_hub.portal.access import endpoint_access

UPTD = "uptd_ppa"
HUB_OPERATOR = "hub_operator"

Audience = Callable[[User], bool]


def everyone(user: User) -> bool:
    """Any signed-in user."""
    return True


def uptd_staff(user: User) -> bool:
    """Staff of a UPTD PPA who send referrals (caseworkers and supervisors): they hold clients."""
    return role_permits(user.role, "referrals:write") and user.organization.type == UPTD


def client_keepers(user: User) -> bool:
    """Staff of a UPTD PPA who keep its clients (caseworkers and supervisors)."""
    return role_permits(user.role, "clients:read") and user.organization.type == UPTD


def uptd_supervisors(user: User) -> bool:
    """Supervisors of a UPTD PPA: they approve the unit's overrides of consent."""
    return user.role == "supervisor" and user.organization.type == UPTD


def receiving_staff(user: User) -> bool:
    """Staff who answer referrals, of any organisation that can receive them."""
    return role_permits(user.role, "referrals:respond") and user.organization.type != HUB_OPERATOR


#: Who reads the audit log: auditors and administrators.
audit_readers = holders("audit:read")
#: Who manages the organisation's webhooks: its administrators.
webhook_managers = holders("webhooks:write")


def org_admins(user: User) -> bool:
    """Administrators of their organisation."""
    return user.role == "org_admin"


@dataclass
class NavEntry:
    endpoint: str
    label: Any
    audience: Audience = everyone
    #: Position in the menu; lower comes first.
    order: int = 100
    #: What waits there for the user (shown beside the label when not zero).
    count: Callable[[User], int] | None = None


_NAV: dict[str, NavEntry] = {}


def register_nav_entry(
    endpoint: str,
    label: Any,
    audience: Audience = everyone,
    order: int = 100,
    count: Callable[[User], int] | None = None,
) -> None:
    """Add (or replace, by endpoint) a menu entry; call at import of the feature's views."""
    _NAV[endpoint] = NavEntry(endpoint, label, audience, order, count)


for _order, (_endpoint, _label, _audience) in enumerate(
    (
        ("portal.home", _l("Beranda"), everyone),
        ("clients_portal.index", _l("Klien"), client_keepers),
        ("referrals_portal.sent", _l("Rujukan keluar"), uptd_staff),
        ("referrals_portal.received", _l("Rujukan masuk"), receiving_staff),
        # Who may read the registry is the feature's rule (agreements.operations
        # .may_read_registry), which its pages carry: may_open asks it.
        ("agreements_portal.index", _l("Perjanjian"), everyone),
        ("agreements_portal.coverage", _l("Cakupan"), everyone),
        ("portal.audit_log", _l("Log audit"), audit_readers),
        ("portal.organizations", _l("Mitra"), holders("directory:write")),
        ("portal.users", _l("Pengguna"), org_admins),
        ("portal.oauth_clients", _l("Klien OAuth"), org_admins),
        ("delivery_portal.webhooks", _l("Webhook"), webhook_managers),
    )
):
    register_nav_entry(_endpoint, _label, _audience, order=(_order + 1) * 10)


def endpoint_exists(endpoint: str) -> bool:
    """Whether a page with this endpoint name is registered in the app."""
    return endpoint in current_app.view_functions


def may_open(endpoint: str, user: User | None = None) -> bool:
    """Whether the endpoint exists and the user passes its login_required rule."""
    view = current_app.view_functions.get(endpoint)
    if view is None:
        return False
    access = endpoint_access(view)
    if access is None:
        return True
    return access.allows(user if user is not None else current_user())


def is_current(endpoint: str, url: str) -> bool:
    """The entry for this page, or for a page below it (/users/new under /users)."""
    if request.endpoint == endpoint:
        return True
    return url != "/" and request.path.startswith(url.rstrip("/") + "/")


def nav_items(user: User | None = None) -> list[dict[str, Any]]:
    """The menu of the signed-in user: [{endpoint, label, url, current, count}] in order."""
    user = user if user is not None else current_user()
    if user is None:
        return []
    items = []
    for entry in sorted(_NAV.values(), key=lambda e: (e.order, e.endpoint)):
        if not entry.audience(user) or not may_open(entry.endpoint, user):
            continue
        url = url_for(entry.endpoint)
        items.append(
            {
                "endpoint": entry.endpoint,
                "label": entry.label,
                "url": url,
                "current": is_current(entry.endpoint, url),
                "count": entry.count(user) if entry.count else 0,
            }
        )
    return items


def nav_link(endpoint: str, label: Any, css_class: str | None = None, **values: Any) -> Markup:
    """A link to a page, or nothing when that page does not exist or is closed to the user."""
    if not may_open(endpoint):
        return Markup("")
    url = url_for(endpoint, **values)
    attrs = f' class="{escape(css_class)}"' if css_class else ""
    if request.endpoint == endpoint and not values:
        attrs += ' aria-current="page"'
    # Every variable part is escaped above or here.
    return Markup(f'<a href="{escape(url)}"{attrs}>{escape(label)}</a>')  # noqa: S704


# --- start-page panels ---------------------------------------------------------------


@dataclass
class Panel:
    name: str
    #: Template included in the start page; it receives `panel` (this) and `data`.
    template: str
    audience: Audience = everyone
    #: Called with the user's Actor; returns the template's `data`.
    data: Callable[[Any], Any] | None = None
    order: int = 100


_PANELS: dict[str, Panel] = {}


def register_panel(
    name: str,
    template: str,
    *,
    audience: Audience = everyone,
    data: Callable[[Any], Any] | None = None,
    order: int = 100,
) -> None:
    """Add (or replace, by name) a panel of the start page, e.g. sent referrals by status."""
    _PANELS[name] = Panel(name, template, audience, data, order)


def panels_for(user: User, actor: Any) -> list[dict[str, Any]]:
    """The start-page panels this user sees, each with its data."""
    out = []
    for panel in sorted(_PANELS.values(), key=lambda p: (p.order, p.name)):
        if not panel.audience(user):
            continue
        out.append({"panel": panel, "data": panel.data(actor) if panel.data else None})
    return out
