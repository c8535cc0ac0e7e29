"""Perjanjian and Cakupan in the portal: the blueprint, its URL rules and who may open them.

The pages are in `registry_views` (the registry, its CSV export, the coverage matrix) and
`agreement_views` (one agreement: its page, lifecycle actions, documents, drafting). This
module imports them and they never import it, as indico's `rb/blueprint.py` does, so every
URL and the rule that guards it are read here in one place.

Every page asks `operations.may_read_registry` (the menu too: the rule is kept on the view
as its `portal_access`); what the user may change, the operations decide again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.agreements import agreement_views, registry_views
from referral_hub.agreements import operations as ops
from referral_hub.portal.access import Access, login_required, portal_actor
from referral_hub.portal.templating import CODE_NAMES, MOMENTS, offer_to_templates
from referral_hub.problems import Problem

bp = Blueprint("agreements_portal", __name__)
offer_to_templates(bp, globals=CODE_NAMES, filters=MOMENTS)


@dataclass(frozen=True)
class RegistryAccess(Access):
    """Who may open a registry page (and see it in the menu): operations.may_read_registry."""

    def allows(self, user: User | None) -> bool:
        return user is not None and ops.may_read_registry(Actor.for_user(user))


def registry_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed in, and allowed to read the registry."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not ops.may_read_registry(portal_actor()):
            raise Problem(
                403, "forbidden", "This page is not open to your role.", reason="page-not-for-role"
            )
        return view(*args, **kwargs)

    page = login_required(checked)
    page.portal_access = RegistryAccess()  # type: ignore[attr-defined]
    return page


GET, POST, BOTH = ("GET",), ("POST",), ("GET", "POST")
RULES: tuple[tuple[str, str, Callable[..., Any], tuple[str, ...]], ...] = (
    ("/agreements", "index", registry_views.index, GET),
    ("/agreements/export.csv", "export", registry_views.export, GET),
    ("/coverage", "coverage", registry_views.coverage, GET),
    ("/agreements/new", "new", agreement_views.new, BOTH),
    ("/agreements/<agreement_id>", "detail", agreement_views.detail, GET),
    ("/agreements/<agreement_id>/edit", "edit", agreement_views.edit, BOTH),
    (
        "/agreements/<agreement_id>/<any(sign, suspend, resume, terminate, renew):action>",
        "act",
        agreement_views.act,
        POST,
    ),
    ("/agreements/<agreement_id>/documents", "upload", agreement_views.upload, POST),
    ("/agreements/<agreement_id>/signatures", "paper", agreement_views.paper, POST),
    (
        "/agreements/<agreement_id>/signatures/<party>/<any(confirm, dispute):answer>",
        "answer",
        agreement_views.answer,
        POST,
    ),
    (
        "/agreements/<agreement_id>/documents/<document_id>",
        "download",
        agreement_views.download,
        GET,
    ),
)

for _rule, _endpoint, _view, _methods in RULES:
    bp.add_url_rule(_rule, _endpoint, registry_page(_view), methods=list(_methods))
