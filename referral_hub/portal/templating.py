"""What a blueprint offers every template of the app: its globals and its filters.

Globals, not a context processor, so that imported macro files see them too. Several
blueprints offer the same helper (the code names, `moment`) under the same name, so no
page depends on which blueprint was registered first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint
from flask_babel import gettext
from markupsafe import Markup

from referral_hub.clients.crypto import ERASED
from referral_hub.portal.code_names import label, service_label
from referral_hub.portal.moments import day, moment

#: The names of codes and services, as every page that lists coded values calls them.
CODE_NAMES: Mapping[str, Callable[..., Any]] = {
    "code_label": label,
    "service_label": service_label,
}
#: `{{ value | moment }}` ("3 Des 2026, 12.58 WITA") and `{{ value | day }}` ("3 Des 2026"):
#: the only ways a page writes a time or a date (portal/moments.py).
MOMENTS: Mapping[str, Callable[..., Any]] = {"moment": moment, "day": day}


def offer_to_templates(
    bp: Blueprint,
    *,
    globals: Mapping[str, Callable[..., Any]] | None = None,
    filters: Mapping[str, Callable[..., Any]] | None = None,
) -> None:
    """Register each helper by its template name, for every page of the app."""
    for name, helper in (globals or {}).items():
        bp.add_app_template_global(helper, name)
    for name, helper in (filters or {}).items():
        bp.add_app_template_filter(helper, name)


def show_erased(value: Any) -> Any:
    """The app's Jinja `finalize`: an erased client's text (the `ERASED` marker a read gives
    once the client's key is destroyed) is printed as words, on every page."""
    if isinstance(value, str) and value == ERASED:
        return gettext("Data pribadi telah dihapus")
    return value


def email_breaks(value: Any) -> Markup:
    """An e-mail address that wraps before its "@" ("penyidik" / "@polres-ppu.demo"), never
    inside a word nor at a hyphen of its domain: `{{ user.email | email }}`. Each part is an
    inline block (hub.css `.email`), broken only when it alone is wider than the line."""
    text = "" if value is None else str(value)
    local, at, domain = text.rpartition("@")
    if not at:
        return Markup('<span class="email"><span>%s</span></span>') % text
    return Markup('<span class="email"><span>%s</span><span>@%s</span></span>') % (local, domain)
